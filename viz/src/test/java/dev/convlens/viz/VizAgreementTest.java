package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Saliency maps, Grad-CAM, integrated gradients and deconvnet / guided projections of torchvision
 * resnet18 and alexnet (seeded weights, a CC0 photo) against PyTorch, where the ReLU rules are a
 * custom autograd Function in every ReLU (script oracle_viz.py).
 */
class VizAgreementTest {
    /** The tolerance: relative L2 error {@code ||java - torch|| / ||torch||} of every map and projection. */
    static final double REL_L2 = 1e-4;

    static final Kernels K = Backend.select("simd", 2);

    /** Asserts {@code actual} is within {@link #REL_L2} of {@code name}.npy and prints the error reached. */
    static void check(Golden gold, String name, Tensor actual) {
        double err = VizAsserts.assertRelL2(gold.name() + " / " + name, gold.tensor(name), actual, REL_L2);
        System.out.printf(Locale.ROOT, "viz agreement: %s / %s: relative L2 %.2e%n", gold.name(), name, err);
    }

    static Golden gold(String net) {
        return new Golden(Oracle.get().run("oracle_viz.py").resolve(net));
    }

    /**
     * One Grad-CAM pass also yields the vanilla gradient (the same backward reaches the input), so it
     * checks the top-1 class, the saliency gradient, the low-resolution and the upsampled Grad-CAM map;
     * guided Grad-CAM checks guided backpropagation times the map. (Each backward through a whole
     * network costs seconds while the convolution backward runs on the reference kernels, so the
     * cases share passes.)
     */
    @ParameterizedTest(name = "{0}: saliency, Grad-CAM and guided Grad-CAM at {1}")
    @CsvSource({"resnet18, layer4", "alexnet, features.11"})
    void saliencyAndGradCamMatchPyTorch(String net, String late) {
        Golden gold = gold(net);
        Graph g = OnnxImporter.load(gold.dir().resolve("model.onnx"));
        Tensor x = gold.tensor("x");
        int target = gold.ints("target")[0];
        Saliency s = new Saliency(g, K);

        Saliency.Result cam = s.gradCam(x, -1, late);
        assertEquals(target, cam.target(), "top-1 class");
        check(gold, "saliency", cam.gradient());
        check(gold, "gradcam_low." + late, cam.cam());
        check(gold, "gradcam." + late, cam.map());
        check(gold, "guided_gradcam." + late, s.guidedGradCam(x, target, late).gradient());
    }

    /** Integrated gradients, 2 midpoint steps (alpha = 1/4, 3/4) from the zero baseline, on alexnet. */
    @Test
    void integratedGradientsMatchPyTorch() {
        Golden gold = gold("alexnet");
        Graph g = OnnxImporter.load(gold.dir().resolve("model.onnx"));
        Saliency.Result ig = new Saliency(g, K).integratedGradients(gold.tensor("x"), gold.ints("target")[0], 2, null);
        check(gold, "ig", ig.gradient());
    }

    @ParameterizedTest(name = "{0} {1}: {2} unit, {3}")
    @CsvSource({
        "resnet18, layer2, strongest, DECONVNET", "resnet18, layer2, channel, GUIDED",
        "resnet18, layer4, strongest, GUIDED", "resnet18, layer4, channel, DECONVNET",
        "alexnet, features.9, strongest, DECONVNET", "alexnet, features.9, channel, GUIDED",
        "alexnet, features.11, strongest, GUIDED", "alexnet, features.11, channel, DECONVNET"})
    void projectionsMatchPyTorch(String net, String layer, String pick, Relu.Rule rule) {
        Golden gold = gold(net);
        Graph g = OnnxImporter.load(gold.dir().resolve("model.onnx"));
        int[] sel = gold.ints("sel." + layer + "." + pick);
        Deconvnet.Unit ask = pick.equals("strongest") ? Deconvnet.Unit.strongest() : Deconvnet.Unit.strongestIn(sel[0]);
        Deconvnet.Projection p = new Deconvnet(g, K).project(gold.tensor("x"), layer, ask, rule);
        assertEquals(Deconvnet.Unit.at(sel[0], sel[1], sel[2]), p.unit(), "the unit chosen");
        check(gold, "proj." + layer + "." + pick + "." + rule.name().toLowerCase(Locale.ROOT), p.projection());
    }

    /**
     * Batch norm on the way down: the folded export (BN inside the convolutions' weights) and the
     * BN-preserving one have different value names but the same module paths, and must project alike.
     */
    @Test
    void foldedAndPreservedBatchNormProjectAlike() {
        Golden gold = gold("resnet18");
        Tensor x = gold.tensor("x");
        Relu.Rule rule = Relu.Rule.DECONVNET;
        Deconvnet.Projection folded = new Deconvnet(OnnxImporter.load(gold.dir().resolve("model.onnx")), K)
                .project(x, "layer3", Deconvnet.Unit.strongest(), rule);
        Deconvnet.Projection kept = new Deconvnet(OnnxImporter.load(gold.dir().resolve("model_bn.onnx")), K)
                .project(x, "layer3", Deconvnet.Unit.strongest(), rule);
        assertEquals(folded.unit(), kept.unit());
        double err = VizAsserts.assertRelL2("layer3 " + rule, folded.projection(), kept.projection(), REL_L2);
        System.out.printf(Locale.ROOT, "viz agreement: resnet18 folded vs BN-preserving, layer3 %s: relative L2 %.2e%n", rule, err);
    }
}
