package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import java.lang.ref.WeakReference;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Run#backwardReleasing} (the training step's backward): the same gradients, bit for bit, as
 * {@link Run#backward}, while the forward values it has passed become garbage during the walk.
 */
class RunReleaseTest {
    private static final Kernels K = Backend.select("simd", 2);

    /** A residual net with batch norm in training mode: a training step's gradients. */
    @Test
    void releasingGivesTheSameGradientsAndFreesTheActivations() {
        Graph g = SmallNets.resnet(3, 5, 7);
        Tensor x = Tensor.uniform(11, -1, 1, 4, 3, 16, 16);
        int[] labels = {0, 3, 1, 4};
        List<String> learnable = Trainer.learnable(g);

        Map<String, Tensor> kept = gradients(g.forward(K, Map.of("input", x), true), g, labels, false);
        Run run = g.forward(K, Map.of("input", x), true);
        // the first convolution's output: read by its batch norm's backward, the last node the walk reaches but one
        WeakReference<Tensor> early = new WeakReference<>(run.value(g.nodes.get(0).outputs().get(0)));
        Map<String, Tensor> released = gradients(run, g, labels, true);

        assertEquals(learnable, List.copyOf(released.keySet()));
        for (String p : learnable) assertArrayEquals(kept.get(p).data, released.get(p).data, p + ": gradients differ");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> run.value("logits"));
        assertTrue(e.getMessage().contains("backwardReleasing"), e.getMessage());
        for (int i = 0; i < 20 && early.get() != null; i++) System.gc();
        assertNull(early.get(), "conv1's output is still reachable from the spent run");
        assertTrue(run.graph == g);           // the run itself is still alive: it no longer holds its values
    }

    /** A value asked for in wrt (here an intermediate one) is kept, and its gradient returned. */
    @Test
    void valuesInWrtAreKept() {
        Graph g = SmallNets.resnet(3, 5, 7);
        Tensor x = Tensor.uniform(12, -1, 1, 2, 3, 16, 16);
        Node relu = g.nodes.stream().filter(n -> n.op().type().equals("Relu")).findFirst().orElseThrow();
        String mid = relu.outputs().get(0);
        Run a = g.forward(K, Map.of("input", x), false), b = g.forward(K, Map.of("input", x), false);
        Tensor seed = Tensor.uniform(13, -1, 1, a.output().shape());
        Tensor ga = a.backward("logits", seed, Relu.Rule.GRADIENT, List.of(mid, "input")).get(mid);
        Tensor gb = b.backwardReleasing("logits", seed, Relu.Rule.GRADIENT, List.of(mid, "input")).get(mid);
        assertArrayEquals(ga.data, gb.data);
    }

    private static Map<String, Tensor> gradients(Run run, Graph g, int[] labels, boolean release) {
        CrossEntropy.Result ce = CrossEntropy.forward(run.output(), labels);
        Tensor dz = CrossEntropy.backward(ce.probs(), labels, 1f);
        List<String> wrt = Trainer.learnable(g);
        return release ? run.backwardReleasing("logits", dz, Relu.Rule.GRADIENT, wrt)
                : run.backward("logits", dz, Relu.Rule.GRADIENT, wrt);
    }
}
