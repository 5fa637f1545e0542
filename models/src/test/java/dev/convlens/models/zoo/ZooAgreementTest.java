package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The code-built ResNet-18 and AlexNet, with the weights of torchvision's BN-preserving ONNX export
 * (oracle_models.py: seeded random weights, randomized BN statistics) loaded by name, against what
 * PyTorch computed on the same photo: the logits, every Conv/BN/Linear module's output (the
 * code-built graph names its values by module), and the gradients of the top class score with
 * respect to the input and to every parameter.
 */
class ZooAgreementTest {
    /** The tolerances: forward max abs error <= FWD * max|ref|; gradients relative L2 <= GRAD. */
    static final double FWD = 1e-4, GRAD = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "alexnet"})
    void codeBuiltNetworkMatchesTorchvision(String net) {
        Golden gold = new Golden(Oracle.get().run("oracle_models.py").resolve(net));
        Graph g = net.equals("resnet18") ? ResNet18.build(1000, 0) : AlexNet.build(1000, 0);
        Zoo.loadWeights(g, OnnxImporter.load(gold.dir().resolve("model_bn.onnx")));

        Kernels k = Backend.select("simd", 2);
        Run run = g.forward(k, Map.of("input", gold.tensor("x")), false);
        int layers = 0;
        for (Node n : g.nodes) {
            if (gold.has("act." + n.name())) {
                gold.assertForward("act." + n.name(), run.value(n.outputs().get(0)), FWD);
                layers++;
            }
        }
        assertTrue(layers == (net.equals("resnet18") ? 41 : 8), "compared " + layers + " layers");
        gold.assertForward("logits", run.output(), FWD);

        List<String> wrt = new ArrayList<>();
        wrt.add("input");
        for (String p : g.params.keySet()) if (gold.has("grad." + p)) wrt.add(p);
        assertTrue(wrt.size() == (net.equals("resnet18") ? 63 : 17), "parameters with golden gradients: " + wrt.size());
        Map<String, Tensor> grads = run.backward("logits", gold.tensor("u"), Relu.Rule.GRADIENT, wrt);
        gold.assertGradient("dx", grads.get("input"), GRAD);
        for (String p : wrt.subList(1, wrt.size())) gold.assertGradient("grad." + p, grads.get(p), GRAD);
    }
}
