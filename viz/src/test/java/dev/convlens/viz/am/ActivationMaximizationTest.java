package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.testing.GradCheck;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole step on a tiny network: its gradient by finite differences, ascent, determinism, output files. */
class ActivationMaximizationTest {
    /**
     * The whole chain in float32 (net, transforms, colour, sigmoid, penalties) by central
     * differences along directions v: {@code (J'(p + eps v) - J'(p - eps v)) / 2 eps} against
     * {@code <dJ'/dp, v>}. Per-element differences drown in float32 rounding of J' (each element's
     * share is ~1e-5 of J'), a direction sums them: v = the analytic gradient itself (scaled to max
     * |v| = 1, the strongest signal), then two random directions, whose error is measured against
     * the typical size of a projection {@code ||g|| ||v|| / sqrt(n)} so that a nearly orthogonal v
     * does not divide by ~0. No kinks are met (see {@link #tinyNet}); total variation is left out
     * (its |.| kinks are crossed by such a step; ParamGradTest checks its gradient alone; L2 takes the
     * same penalty path). The errors seen are float noise, shrinking as eps grows: ~1e-4 at eps 1e-2.
     */
    static final double EPS = 1e-2, TOL = 2e-3;

    /**
     * conv 3->4 (3x3, pad 1) -> relu -> conv 4->6 (3x3, stride 2) -> relu -> global avg -> flatten ->
     * linear 6->5. The biases keep every ReLU input positive (conv1 sums 27 weights of at most 0.1 times |x| under 2.7, plus a bias above 1; conv2 has positive weights), so no kink can
     * spoil the finite differences; the network's own backward is proven in nn and models.
     */
    static Graph tinyNet() {
        List<Node> nodes = List.of(
                new Node("conv1", new Layers.Conv(Conv2d.of(1, 1)), List.of("input", "w1", "b1"), List.of("c1")),
                new Node("relu1", new Layers.ReluOp(), List.of("c1"), List.of("r1")),
                new Node("conv2", new Layers.Conv(Conv2d.of(2, 0)), List.of("r1", "w2", "b2"), List.of("c2")),
                new Node("relu2", new Layers.ReluOp(), List.of("c2"), List.of("r2")),
                new Node("gap", new Layers.GlobalAvg(), List.of("r2"), List.of("g")),
                new Node("flat", new Layers.Flatten(1), List.of("g"), List.of("f")),
                new Node("fc", new Layers.Gemm(1, 1, false, true), List.of("f", "wf", "bf"), List.of("logits")));
        Map<String, Tensor> params = Map.of("w1", Tensor.uniform(1, -0.1f, 0.1f, 4, 3, 3, 3),
                "b1", Tensor.uniform(2, 1, 1.2f, 4), "w2", Tensor.uniform(3, 0, 0.1f, 6, 4, 3, 3),
                "b2", Tensor.uniform(4, 0, 0.2f, 6), "wf", Tensor.uniform(5, -1, 1, 5, 6), "bf", Tensor.uniform(6, -1, 1, 5));
        return new Graph(nodes, params, List.of("input"), List.of("logits"));
    }

    static final Kernels K = Backend.select("reference", 1);

    static List<Objective> mixed() {
        return List.of(new Objective.ClassLogit(3, 1), new Objective.Channel("relu1", 2, 0.5),
                new Objective.Neuron("c2", 1, 1, 2, 0.3), new Objective.Diversity("relu2", 2));
    }

    @Test
    void wholeStepGradientByFiniteDifferences() {
        for (boolean fourier : new boolean[] {false, true}) {
            ImageParam p = fourier ? FourierParam.random(7, 2, 10, 12, 0.1)
                    : new PixelParam(Tensor.uniform(7, -1.5f, 1.5f, 2, 3, 10, 12), false, true);
            List<Transform> ts = List.of(new Transform.Pad(2, 0.5f), new Transform.Crop(1, 3, 12, 13),
                    Transform.Resample.scale(1.1, 12, 13), Transform.Resample.rotate(8, 13, 14), new Transform.Crop(2, 1, 10, 11));
            ActivationMaximization am = new ActivationMaximization(tinyNet(), K, mixed());
            double l2 = 0.01, tv = 0;
            Tensor ana = am.evaluate(p, ts, l2, tv).dParam();
            Tensor p0 = p.param().copy();
            double gNorm = Math.sqrt(GradCheck.dot(ana, ana));
            for (int d = 0; d < 3; d++) {
                Tensor v = Tensor.uniform(100 + d, -1, 1, p0.shape());
                if (d == 0) for (int i = 0; i < v.data.length; i++) v.data[i] = ana.data[i] / ana.maxAbs();
                double[] j = new double[2];
                for (int side = 0; side < 2; side++) {
                    float e = (float) (side == 0 ? EPS : -EPS);
                    for (int i = 0; i < v.data.length; i++) p.param().data[i] = p0.data[i] + e * v.data[i];
                    ActivationMaximization.Eval ev = am.evaluate(p, ts, l2, tv);
                    j[side] = ev.objective() - ev.penalty();
                }
                System.arraycopy(p0.data, 0, p.param().data, 0, p0.data.length);
                double num = (j[0] - j[1]) / (2 * EPS), an = GradCheck.dot(ana, v);
                double typical = gNorm * Math.sqrt(GradCheck.dot(v, v)) / Math.sqrt(v.size());
                double err = Math.abs(num - an) / Math.max(Math.abs(an), typical);
                assertTrue(err <= TOL, (fourier ? "fourier" : "pixel") + " direction " + d + ": numerical " + num
                        + " analytic " + an + " relative error " + err);
            }
        }
    }

    @Test
    void climbsAndIsDeterministic(@TempDir Path dir) throws Exception {
        ActivationMaximization.Settings s = new ActivationMaximization.Settings(12,
                new Robustness(2, 0.5f, 2, new double[] {0.95, 1, 1.05}, 5, 1), 1e-4, 1e-4, 4, 0.5, 4, 42);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ActivationMaximization am = new ActivationMaximization(tinyNet(), K, List.of(new Objective.ClassLogit(3, 1)));
        FourierParam a = FourierParam.random(1, 2, 16, 16, 0.01);
        ActivationMaximization.Result ra = am.run(a, new Optimizer.Adam(0.05), s,
                new PrintStream(log, true, StandardCharsets.UTF_8));
        FourierParam b = FourierParam.random(1, 2, 16, 16, 0.01);
        ActivationMaximization.Result rb = am.run(b, new Optimizer.Adam(0.05), s, null);
        assertArrayEquals(ra.image().data, rb.image().data, "same seed, same image");
        double[] j = ra.objective();
        assertTrue(j[j.length - 1] > j[0] + 0.02, "objective should climb: " + java.util.Arrays.toString(j));
        String out = log.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("step 4/12") && out.contains("ms/step"), out);

        PixelParam px = PixelParam.random(2, 1, 16, 16, 0.01, false, true);
        double[] jp = am.run(px, new Optimizer.Sgd(0.5), s, null).objective();
        assertTrue(jp[jp.length - 1] > jp[0], "SGD should climb too: " + java.util.Arrays.toString(jp));

        Path png = dir.resolve("am.png");
        ActivationMaximization.writePng(ra.image(), png);
        assertTrue(ImageIO.read(png.toFile()).getWidth() > 2 * 16, "a grid of the batch");
        ActivationMaximization.save(ra.image(), a, dir.resolve("raw"));
        assertTrue(Files.size(dir.resolve("raw/param.npy")) > 4 * a.param().size());
    }

    @Test
    void unknownLayerIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ActivationMaximization(tinyNet(), K, List.of(new Objective.Channel("nope", 0, 1))));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("relu1"), e.getMessage());
    }
}
