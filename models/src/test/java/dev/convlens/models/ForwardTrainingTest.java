package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Graph#forwardTraining} (batch norm and ReLU fused, the residual sum and ReLU fused) against {@link Graph#forward} in training
 * mode: the same loss, gradients and running statistics, bit for bit, over two SGD-free steps.
 */
class ForwardTrainingTest {
    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"reference, 1", "simd, 2"})
    void fusedBatchNormReluGivesTheBitsOfTheTwoNodes(String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Graph plain = SmallNets.resnet(3, 5, 7), fused = SmallNets.resnet(3, 5, 7);
        Tensor x = Tensor.uniform(31, -1, 1, 4, 3, 16, 16);
        int[] labels = {1, 0, 4, 2};
        List<String> wrt = Trainer.learnable(plain);
        for (int step = 0; step < 2; step++) {
            Run a = plain.forward(k, Map.of("input", x), true), b = fused.forwardTraining(k, Map.of("input", x), List.of());
            long pairs = b.graph.nodes.stream().filter(n -> n.op() instanceof Layers.BatchNormRelu).count();
            long bns = plain.nodes.stream().filter(n -> n.op() instanceof Layers.BatchNorm).count();
            assertTrue(pairs >= 1 && pairs < bns, pairs + " of " + bns + " batch norms fused (those followed by an Add are not)");
            long sums = b.graph.nodes.stream().filter(n -> n.op() instanceof Layers.AddRelu).count();
            long adds = plain.nodes.stream().filter(n -> n.op() instanceof Layers.AddOp).count();
            assertTrue(sums >= 1 && sums == adds, sums + " of " + adds + " residual sums fused with their ReLU");
            assertEquals(plain.nodes.size() - pairs - sums, b.graph.nodes.size());
            CrossEntropy.Result ca = CrossEntropy.forward(a.output(), labels), cb = CrossEntropy.forward(b.output(), labels);
            assertEquals(Float.floatToIntBits(ca.loss()), Float.floatToIntBits(cb.loss()), "loss at step " + step);
            Map<String, Tensor> ga = a.backwardReleasing("logits", CrossEntropy.backward(ca.probs(), labels, 1f), Relu.Rule.GRADIENT, wrt);
            Map<String, Tensor> gb = b.backwardReleasing("logits", CrossEntropy.backward(cb.probs(), labels, 1f), Relu.Rule.GRADIENT, wrt);
            for (String p : wrt) assertArrayEquals(ga.get(p).data, gb.get(p).data, p + " gradient at step " + step);
            for (String p : plain.params.keySet()) {
                assertArrayEquals(plain.params.get(p).data, fused.params.get(p).data, p + " (running statistics) after step " + step);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"simd"})
    void theBatchNormOutputIsGoneUnlessKept(String backend) {
        Kernels k = Backend.select(backend, 2);
        Graph g = SmallNets.resnet(3, 5, 7);
        Node bn = g.nodes.stream().filter(n -> n.op() instanceof Layers.BatchNorm).findFirst().orElseThrow();
        String v = bn.outputs().get(0);
        Tensor x = Tensor.uniform(32, -1, 1, 2, 3, 16, 16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.forwardTraining(k, Map.of("input", x), List.of()).value(v));
        assertTrue(e.getMessage().contains(v), e.getMessage());
        Tensor kept = g.forwardTraining(k, Map.of("input", x), List.of(v)).value(v);
        assertArrayEquals(g.forward(k, Map.of("input", x), true).value(v).data, kept.data);
    }
}
