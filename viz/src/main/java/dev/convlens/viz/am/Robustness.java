package dev.convlens.viz.am;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The random transforms applied before each step, in Lucid's order: constant pad, jitter (a random
 * crop {@code jitter1} pixels smaller), random scale, random rotation about the centre, jitter again.
 * A zero (or empty) setting leaves that transform out.
 *
 * @param pad        pixels of constant padding on each side
 * @param padValue   the padding value in [0, 1] image units (Lucid: 0.5)
 * @param jitter1    the first jitter: crop offset uniform in {@code [0, jitter1]}
 * @param scales     scale factors chosen uniformly
 * @param maxDegrees rotation: an integer angle uniform in {@code [-maxDegrees, maxDegrees]}
 * @param jitter2    the last jitter
 */
public record Robustness(int pad, float padValue, int jitter1, double[] scales, int maxDegrees, int jitter2) {
    /** Lucid's standard_transforms: pad 12 (0.5), jitter 8, scales 0.9..1.1, rotation +-10 degrees, jitter 4. */
    public static final Robustness LUCID = new Robustness(12, 0.5f, 8, new double[] {0.9, 0.95, 1, 1.05, 1.1}, 10, 4);
    /** No transforms. */
    public static final Robustness NONE = new Robustness(0, 0.5f, 0, new double[0], 0, 0);

    public Robustness {
        scales = scales.clone();
        if (pad < 0 || jitter1 < 0 || jitter2 < 0 || maxDegrees < 0)
            throw new IllegalArgumentException("Robustness: pad, jitters and angle must be >= 0");
        for (double s : scales) if (!(s > 0)) throw new IllegalArgumentException("Robustness: scales must be > 0, got " + s);
    }

    /** Draws this step's transforms for an {@code h x w} image from {@code rnd}. */
    public List<Transform> sample(Random rnd, int h, int w) {
        List<Transform> t = new ArrayList<>();
        if (pad > 0) {
            t.add(new Transform.Pad(pad, padValue));
            h += 2 * pad;
            w += 2 * pad;
        }
        if (jitter1 > 0) {
            t.add(new Transform.Crop(rnd.nextInt(jitter1 + 1), rnd.nextInt(jitter1 + 1), h - jitter1, w - jitter1));
            h -= jitter1;
            w -= jitter1;
        }
        if (scales.length > 0) {
            double s = scales[rnd.nextInt(scales.length)];
            if (s != 1) {
                Transform.Resample r = Transform.Resample.scale(s, h, w);
                t.add(r);
                h = r.outH();
                w = r.outW();
            }
        }
        if (maxDegrees > 0) {
            int deg = rnd.nextInt(2 * maxDegrees + 1) - maxDegrees;
            if (deg != 0) t.add(Transform.Resample.rotate(deg, h, w));
        }
        if (jitter2 > 0) t.add(new Transform.Crop(rnd.nextInt(jitter2 + 1), rnd.nextInt(jitter2 + 1), h - jitter2, w - jitter2));
        return t;
    }
}
