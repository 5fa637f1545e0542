package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * VGG-16 built in code, with the weights of torchvision's vgg16 (seeded random, torchvision's init)
 * loaded by name from its default ONNX export (553 MB; no BatchNorm, so the state_dict names
 * survive, the merged zero biases as Identity aliases), against PyTorch on the same photo: the
 * logits, the output of each of the 13 convs and 3 Linears, and the gradient of the top class score
 * with respect to the input.
 *
 * <p>The input gradient has two PyTorch references, and they disagree: PyTorch's float32 gradient
 * on this photo differs from its float64 one ({@code dx64}) by 1.6e-3 relative L2, because one
 * window of max pool features.9 (channel 30, output (42,41)) has two candidates 2.8e-8 apart at
 * 0.148, below float32's accumulated rounding, and the two passes route the signal to different
 * candidates (see oracle_vgg16.py). A float32 implementation takes one side or the other depending
 * on its summation order: convlens's reference-kernel order picked the float64 side (1.0e-7 from
 * it), its SIMD kernels pick the float32 side (8.8e-7 from it). The test therefore requires the
 * issue's 1e-4 against the nearer of PyTorch's two gradients, and prints both distances.
 *
 * <p>Cost: 31 GFLOP (forward, and backward to the input; about 1.5 s on the SIMD backend) plus a
 * 553 MB model and 580 MB of golden files written by the oracle script (about a minute).
 *
 * <p>Memory: the code-built graph (553 MB of floats) plus the import (file bytes, parsed protobuf
 * and tensors, about 1.7 GB at the peak) fit the default Surefire heap (a quarter of RAM).
 */
class Vgg16AgreementTest {
    /** The tolerances: forward max abs error <= FWD * max|ref|; input gradient relative L2 <= GRAD. */
    static final double FWD = 1e-4, GRAD = 1e-4;

    @Test
    void codeBuiltVgg16MatchesTorchvision() {
        Golden gold = new Golden(Oracle.get().run("oracle_vgg16.py").resolve("vgg16"));
        long t0 = System.nanoTime();
        Graph g = Vgg16.build(1000, 0);
        long t1 = System.nanoTime();
        Zoo.loadWeights(g, OnnxImporter.load(gold.dir().resolve("model.onnx")));
        long t2 = System.nanoTime();

        Kernels k = Backend.select("simd", 2);
        Tensor x = gold.tensor("x");
        Run run = g.forward(k, Map.of("input", x), false);
        long t3 = System.nanoTime();
        Tensor dx = run.backward("logits", gold.tensor("u"), Relu.Rule.GRADIENT, List.of("input")).get("input");
        long t4 = System.nanoTime();
        System.err.printf(Locale.ROOT, "convlens: VGG-16 build %.1f s, ONNX import + load %.1f s; on %s, 1x3x224x224: "
                + "forward %.2f s, backward to the input %.2f s; dx relative L2 vs PyTorch float64 %.3e, vs float32 %.3e%n",
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, k.name(), (t3 - t2) / 1e9, (t4 - t3) / 1e9,
                relL2(dx, gold.tensor("dx64")), relL2(dx, gold.tensor("dx")));

        int layers = 0;
        for (Node n : g.nodes) {
            if (gold.has("act." + n.name())) {
                gold.assertForward("act." + n.name(), run.value(n.outputs().get(0)), FWD);
                layers++;
            }
        }
        assertEquals(16, layers, "13 convs and 3 Linears");
        gold.assertForward("logits", run.output(), FWD);
        double d32 = relL2(dx, gold.tensor("dx")), d64 = relL2(dx, gold.tensor("dx64"));
        gold.assertGradient(d32 <= d64 ? "dx" : "dx64", dx, GRAD);
    }

    static double relL2(Tensor a, Tensor ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.data.length; i++) {
            double d = (double) a.data[i] - ref.data[i];
            num += d * d;
            den += (double) ref.data[i] * ref.data[i];
        }
        return Math.sqrt(num / den);
    }
}
