package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Lrn;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saliency methods and projections on small hand-built networks, where properties can be checked exactly. */
class SaliencyTest {
    static final Kernels K = Backend.select("reference", 1);

    /** x (1,2,6,6) -> conv 3x3 pad 1 (3 ch) -> ReLU "a" -> max pool 2 -> flatten -> linear (4 classes). */
    static Graph convNet(long seed) {
        return new Graph(List.of(
                new Node("/conv/Conv", new Layers.Conv(Conv2d.of(1, 1)), List.of("x", "w", "b"), List.of("c")),
                new Node("/relu/Relu", new Layers.ReluOp(), List.of("c"), List.of("a")),
                new Node("/pool/MaxPool", new Layers.MaxPool(MaxPool2d.of(2, 2, 0)), List.of("a"), List.of("p")),
                new Node("/Flatten", new Layers.Flatten(1), List.of("p"), List.of("f")),
                new Node("/fc/Gemm", new Layers.Gemm(1, 1, false, true), List.of("f", "w2", "b2"), List.of("y"))),
                Map.of("w", Tensor.uniform(seed, -0.5f, 0.5f, 3, 2, 3, 3), "b", Tensor.uniform(seed + 1, -0.2f, 0.2f, 3),
                        "w2", Tensor.uniform(seed + 2, -0.5f, 0.5f, 4, 27), "b2", Tensor.uniform(seed + 3, -0.2f, 0.2f, 4)),
                List.of("x"), List.of("y"));
    }

    /** x -> conv -> ReLU "a" (1,3,6,6) -> global average pool -> flatten -> linear: Zhou et al.'s CAM architecture. */
    static Graph gapNet(Tensor w2) {
        return new Graph(List.of(
                new Node("/conv/Conv", new Layers.Conv(Conv2d.of(1, 1)), List.of("x", "w"), List.of("c")),
                new Node("/relu/Relu", new Layers.ReluOp(), List.of("c"), List.of("a")),
                new Node("/gap", new Layers.GlobalAvg(), List.of("a"), List.of("p")),
                new Node("/Flatten", new Layers.Flatten(1), List.of("p"), List.of("f")),
                new Node("/fc/Gemm", new Layers.Gemm(1, 0, false, true), List.of("f", "w2"), List.of("y"))),
                Map.of("w", Tensor.uniform(5, -0.5f, 0.5f, 3, 2, 3, 3), "w2", w2), List.of("x"), List.of("y"));
    }

    static final Tensor X = Tensor.uniform(42, -1, 1, 1, 2, 6, 6);

    /**
     * Completeness (Sundararajan et al., axiom of sec. 3): the attributions add up to S(x) - S(baseline).
     * Along the straight path the ReLU/max-pool network's gradient is piecewise constant; the midpoint
     * sum errs only in the steps where a kink is crossed, each by at most (jump in S's slope) / m, so
     * the error falls like 1/m. With m = 256 and a handful of kinks, 1% of the difference is ample.
     */
    static final double COMPLETENESS = 1e-2;

    @Test
    void integratedGradientsAreComplete() {
        Graph g = convNet(1);
        Saliency s = new Saliency(g, K);
        int target = 2;
        Tensor baseline = Tensor.uniform(7, -0.1f, 0.1f, 1, 2, 6, 6);
        double delta = s.score(X, target) - s.score(baseline, target);
        Saliency.Result ig = s.integratedGradients(X, target, 256, baseline);
        double sum = 0;
        for (float v : ig.gradient().data) sum += v;
        assertTrue(Math.abs(delta) > 0.05, "a test needs a real difference, got " + delta);
        assertTrue(Math.abs(sum - delta) <= COMPLETENESS * Math.abs(delta), "sum of attributions " + sum + " vs S(x) - S(x') = " + delta);
        assertEquals(target, ig.target());
    }

    /**
     * With a global-average-pooled head, Grad-CAM is Zhou et al.'s CAM up to the 1/(h w) of the pooling:
     * dS_c/dA[k,i,j] = W[c,k] / (h w) everywhere, so alpha_k = W[c,k] / (h w) and
     * L = ReLU(sum_k W[c,k] A[k]) / (h w). Here h = w = 6, the same as the input, so no upsampling.
     */
    @Test
    void gradCamOfAGlobalAveragePooledHeadIsCam() {
        Tensor w2 = Tensor.uniform(9, -1, 1, 4, 3);
        Graph g = gapNet(w2);
        int c = 1;
        Saliency.Result r = new Saliency(g, K).gradCam(X, c, "/relu/Relu");
        Tensor a = g.forward(K, Map.of("x", X), false).value("a");
        float[] expect = new float[36];
        for (int i = 0; i < 36; i++) {
            float sum = 0;
            for (int k = 0; k < 3; k++) sum += w2.data[c * 3 + k] * a.data[k * 36 + i];
            expect[i] = Math.max(sum, 0) / 36;
        }
        assertArrayEquals(expect, r.cam().data, 1e-6f);
        assertArrayEquals(expect, r.map().data, 1e-6f, "same size: the bilinear resize is the identity");
    }

    /** 2x2 -> 4x4 with half-pixel centres: source rows (and columns) 0, 0.25, 0.75, 1 (clamped at the edges). */
    @Test
    void bilinearUsesHalfPixelCentres() {
        Tensor m = Tensor.of(new float[] {0, 1, 2, 3}, 2, 2);
        Tensor up = Saliency.bilinear(m, 4, 4);
        float[] t = {0, 0.25f, 0.75f, 1};
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) assertEquals(2 * t[i] + t[j], up.data[i * 4 + j], 1e-6f, "(" + i + "," + j + ")");
    }

    @Test
    void smoothGradIsSeededAndReducesToTheGradientWithoutNoise() {
        Saliency s = new Saliency(convNet(3), K);
        Saliency.Result vanilla = s.vanilla(X, -1);
        assertArrayEquals(vanilla.gradient().data, s.smoothGrad(X, -1, 3, 0f, 1).gradient().data, 1e-7f);
        Saliency.Result a = s.smoothGrad(X, -1, 4, 0.2f, 11), b = s.smoothGrad(X, -1, 4, 0.2f, 11);
        assertArrayEquals(a.gradient().data, b.gradient().data, "same seed, same result");
        assertFalse(java.util.Arrays.equals(a.gradient().data, s.smoothGrad(X, -1, 4, 0.2f, 12).gradient().data));
        assertEquals(vanilla.target(), a.target());
        assertArrayEquals(Saliency.maxAbsOverChannels(a.gradient()).data, a.map().data);
    }

    /** Under the gradient rule a projection is linear in its seed: the whole channel = the sum of its units. */
    @Test
    void wholeChannelIsTheSumOfItsUnitsUnderTheGradientRule() {
        Graph g = convNet(4);
        Deconvnet d = new Deconvnet(g, K);
        Deconvnet.Projection whole = d.project(X, "a", Deconvnet.Unit.wholeChannel(1), Relu.Rule.GRADIENT);
        Tensor sum = Tensor.zeros(X.shape());
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                Tensor p = d.project(X, "a", Deconvnet.Unit.at(1, y, x), Relu.Rule.GRADIENT).projection();
                for (int i = 0; i < sum.data.length; i++) sum.data[i] += p.data[i];
            }
        VizAsserts.assertRelL2("whole channel vs sum of units", sum, whole.projection(), 1e-6);
        assertEquals(new Deconvnet.Unit(1, -1, -1, true), whole.unit());
    }

    @Test
    void strongestUnitIsTheLayersLargestActivation() {
        Graph g = convNet(4);
        Tensor a = g.forward(K, Map.of("x", X), false).value("a");
        Deconvnet.Projection p = new Deconvnet(g, K).project(X, "/relu/Relu", Deconvnet.Unit.strongest(), Relu.Rule.DECONVNET);
        Deconvnet.Unit u = p.unit();
        assertEquals(a.maxAbs(), p.activation(), "ReLU outputs: the largest |value| is the largest value");
        assertEquals(a.maxAbs(), a.data[(u.channel() * 6 + u.y()) * 6 + u.x()]);
    }

    /** Zeiler and Fergus use no contrast normalization going down: LRN is the identity under DECONVNET and GUIDED. */
    @Test
    void lrnPassesTheSignalThroughExceptForTheGradient() {
        Lrn lrn = new Lrn(5, 1e-1f, 0.75f, 1f);
        Graph g = new Graph(List.of(new Node("lrn", new Layers.LrnOp(lrn), List.of("x"), List.of("y"))),
                Map.of(), List.of("x"), List.of("y"));
        Tensor x = Tensor.uniform(1, -2, 2, 1, 7, 3, 3), u = Tensor.uniform(2, -1, 1, 1, 7, 3, 3);
        Run run = g.forward(K, Map.of("x", x), false);
        for (Relu.Rule rule : new Relu.Rule[] {Relu.Rule.DECONVNET, Relu.Rule.GUIDED}) {
            assertArrayEquals(u.data, run.backward("y", u, rule, List.of("x")).get("x").data, rule.name());
        }
        Tensor grad = run.backward("y", u, Relu.Rule.GRADIENT, List.of("x")).get("x");
        assertArrayEquals(lrn.backward(x, u).data, grad.data);
        assertFalse(java.util.Arrays.equals(u.data, grad.data));
    }

    @Test
    void writesThePictures(@TempDir Path dir) {
        Graph g = convNet(2);
        Tensor x = Tensor.uniform(3, -1, 1, 1, 3, 6, 6);
        Graph g3 = new Graph(g.nodes, Map.of("w", Tensor.uniform(2, -0.5f, 0.5f, 3, 3, 3, 3), "b", Tensor.zeros(3),
                "w2", Tensor.uniform(4, -0.5f, 0.5f, 4, 27), "b2", Tensor.zeros(4)), g.inputs, g.outputs);
        Saliency.writePngs(dir, x, new Saliency(g3, K).vanilla(x, -1));
        Deconvnet.writePng(dir, new Deconvnet(g3, K).project(x, "a", Deconvnet.Unit.strongest(), Relu.Rule.DECONVNET));
        for (String f : List.of("heatmap.png", "overlay.png", "gradient.png", "projection.png")) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
    }
}
