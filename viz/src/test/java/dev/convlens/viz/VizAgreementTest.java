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

    static Golden gold(String net) {
        return new Golden(Oracle.get().run("oracle_viz.py").resolve(net));
    }

    @ParameterizedTest(name = "{0}: saliency, guided, Grad-CAM at {1}, IG")
    @CsvSource({"resnet18, layer4", "alexnet, features.11"})
    void saliencyFamilyMatchesPyTorch(String net, String late) {
        Golden gold = gold(net);
        Graph g = OnnxImporter.load(gold.dir().resolve("model.onnx"));
        Tensor x = gold.tensor("x");
        int target = gold.ints("target")[0];
        Saliency s = new Saliency(g, K);

        Saliency.Result vanilla = s.vanilla(x, -1);
        assertEquals(target, vanilla.target(), "top-1 class");
        gold.assertGradient("saliency", vanilla.gradient(), REL_L2);
        gold.assertGradient("guided", s.guided(x, target).gradient(), REL_L2);

        Saliency.Result cam = s.gradCam(x, target, late);
        gold.assertGradient("gradcam_low." + late, cam.cam(), REL_L2);
        gold.assertGradient("gradcam." + late, cam.map(), REL_L2);
        gold.assertGradient("saliency", cam.gradient(), REL_L2);
        gold.assertGradient("guided_gradcam." + late, s.guidedGradCam(x, target, late).gradient(), REL_L2);

        gold.assertGradient("ig", s.integratedGradients(x, target, 8, null).gradient(), REL_L2);
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
        gold.assertGradient("proj." + layer + "." + pick + "." + rule.name().toLowerCase(Locale.ROOT), p.projection(), REL_L2);
    }

    /**
     * Batch norm on the way down: the folded export (BN inside the convolutions' weights) and the
     * BN-preserving one have different value names but the same module paths, and must project alike.
     */
    @Test
    void foldedAndPreservedBatchNormProjectAlike() {
        Golden gold = gold("resnet18");
        Tensor x = gold.tensor("x");
        for (Relu.Rule rule : new Relu.Rule[] {Relu.Rule.DECONVNET, Relu.Rule.GUIDED}) {
            Deconvnet.Projection folded = new Deconvnet(OnnxImporter.load(gold.dir().resolve("model.onnx")), K)
                    .project(x, "layer3", Deconvnet.Unit.strongest(), rule);
            Deconvnet.Projection kept = new Deconvnet(OnnxImporter.load(gold.dir().resolve("model_bn.onnx")), K)
                    .project(x, "layer3", Deconvnet.Unit.strongest(), rule);
            assertEquals(folded.unit(), kept.unit());
            VizAsserts.assertRelL2("layer3 " + rule, folded.projection(), kept.projection(), REL_L2);
        }
    }
}
