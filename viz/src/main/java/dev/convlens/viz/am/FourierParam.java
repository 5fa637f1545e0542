package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;

/**
 * The Fourier parameterization of Olah et al. 2017 (Lucid's {@code fft_image} and
 * {@code to_valid_rgb(decorrelate=True)}): the parameter is a half spectrum per colour channel,
 * scaled so that white noise in the parameter is 1/f ("natural") noise in the image.
 *
 * <h2>Forward</h2>
 * Parameter {@code s (B, 3, 2, H, W/2+1)} (real plane, imaginary plane). With
 * {@code f(ky, kx)} the frequency in cycles per pixel (numpy's fftfreq) and decay power 1:
 * <pre>
 *   scale(ky, kx) = 1 / max(f(ky, kx), 1 / max(H, W))
 *   t[b, c]       = irfft2_ortho(scale * s[b, c]) / 4          (4: Lucid's constant)
 *   image         = sigmoid(M t)                                (see {@link ToRgb})
 * </pre>
 * <h2>Backward</h2>
 * {@code dt = ToRgb.backward(dImage)}, then {@code ds = scale * irfft2_ortho^T(dt) / 4} (the
 * adjoint of the real-linear inverse DFT, {@link RealDft2#adjoint}, times the same diagonal scale).
 *
 * <p>The planes {@code (b, c)} are transformed by parallel tasks, at most two per thread, each with
 * its own {@link RealDft2} (its workspaces are not shared; about 0.5 MB each at 224 x 224) taking the
 * planes {@code t, t + tasks, ...}: the same bits on any thread count.
 *
 * <p>{@link #blur} multiplies the spectrum by the Gaussian's transfer function
 * {@code exp(-2 pi^2 sigma^2 f^2)}: a circular Gaussian blur of {@code t}, exact and cheap here.
 */
public final class FourierParam implements ImageParam {
    /** Lucid divides the image by this constant. */
    static final double MAGIC = 4.0;

    private final Tensor s;
    private final int b, h, w, fw;
    private final RealDft2 dft;
    /** One transform per task, made when a call first needs it (see {@link #planes}). */
    private RealDft2[] dfts;
    /** Per task, the scaled spectrum of the plane it transforms (2 * h * fw), beside its transform. */
    private float[][] spectra;
    private final float[] scale; // (h, fw)
    private final ToRgb rgb = new ToRgb(true, true);

    public FourierParam(Tensor s, int h, int w) {
        Shapes.requireRank("FourierParam", "s", s, 5);
        Shapes.check(s.dim(1) == 3 && s.dim(2) == 2 && s.dim(3) == h && s.dim(4) == w / 2 + 1, "FourierParam",
                "expected a spectrum (B,3,2," + h + "," + (w / 2 + 1) + ") for a " + h + "x" + w + " image but got "
                        + Shapes.str(s.shape()));
        this.s = s;
        this.b = s.dim(0);
        this.h = h;
        this.w = w;
        this.dft = new RealDft2(h, w);
        this.dfts = new RealDft2[] {dft};
        this.spectra = new float[][] {new float[2 * h * dft.fw]};
        this.fw = dft.fw;
        this.scale = new float[h * fw];
        double floor = 1.0 / Math.max(h, w);
        for (int ky = 0; ky < h; ky++)
            for (int kx = 0; kx < fw; kx++) scale[ky * fw + kx] = (float) (1 / Math.max(dft.frequency(ky, kx), floor));
    }

    /** Lucid's start: {@code s ~ N(0, sd^2)}, sd 0.01. */
    public static FourierParam random(long seed, int b, int h, int w, double sd) {
        return new FourierParam(Tensor.normal(seed, (float) sd, b, 3, 2, h, w / 2 + 1), h, w);
    }

    public Tensor param() { return s; }

    public Tensor image(Kernels k) {
        Tensor t = Tensor.zeros(b, 3, h, w);
        planes(k, (d, scaled, bc) -> {
            int o = bc * 2 * h * fw;
            for (int i = 0; i < h * fw; i++) {
                scaled[i] = s.data[o + i] * scale[i];
                scaled[h * fw + i] = s.data[o + h * fw + i] * scale[i];
            }
            d.inverse(scaled, 0, h * fw, t.data, bc * h * w, 1 / MAGIC);
        });
        return rgb.forward(k, t);
    }

    public Tensor backward(Kernels k, Tensor dImage) {
        Tensor dt = rgb.backward(k, dImage);
        Tensor ds = Tensor.zeros(s.shape());
        planes(k, (d, spectrum, bc) -> {                    // the adjoint writes into ds directly
            int o = bc * 2 * h * fw;
            d.adjoint(dt.data, bc * h * w, ds.data, o, o + h * fw, 1 / MAGIC);
            for (int i = 0; i < h * fw; i++) {
                ds.data[o + i] *= scale[i];
                ds.data[o + h * fw + i] *= scale[i];
            }
        });
        return ds;
    }

    /** Plane bc with the task's transform d and spectrum buffer. */
    private interface Plane {
        void run(RealDft2 d, float[] spectrum, int bc);
    }

    /** Every plane (b, c), by min(planes, 2 * threads) tasks (one on one thread): task t with its own transform takes planes t, t + tasks, ... */
    private void planes(Kernels k, Plane body) {
        int tasks = k.threads() == 1 ? 1 : Math.min(b * 3, 2 * k.threads());
        if (dfts.length < tasks) {
            RealDft2[] more = java.util.Arrays.copyOf(dfts, tasks);
            float[][] moreSpectra = java.util.Arrays.copyOf(spectra, tasks);
            for (int i = dfts.length; i < tasks; i++) {
                more[i] = new RealDft2(h, w);
                moreSpectra[i] = new float[2 * h * fw];
            }
            dfts = more;
            spectra = moreSpectra;
        }
        k.parallelFor(tasks, t -> {
            for (int bc = t; bc < b * 3; bc += tasks) body.run(dfts[t], spectra[t], bc);
        });
    }

    public void blur(double sigma) {
        for (int bc = 0; bc < b * 3; bc++) {
            int o = bc * 2 * h * fw;
            for (int ky = 0; ky < h; ky++)
                for (int kx = 0; kx < fw; kx++) {
                    double f = dft.frequency(ky, kx);
                    float g = (float) Math.exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f);
                    s.data[o + ky * fw + kx] *= g;
                    s.data[o + h * fw + ky * fw + kx] *= g;
                }
        }
    }

    public int batch() { return b; }

    public int height() { return h; }

    public int width() { return w; }
}
