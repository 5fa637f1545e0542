package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Training steps whose parameter gradients are made in the arrays of the step before (given back to
 * a {@link Recycler}): the same bits as in new arrays. The recycler poisons every array it hands
 * out again with NaN, so a weight-gradient kernel that did not write its whole output would show.
 */
class RecyclerTest {
    static final int STEPS = 3;

    @ParameterizedTest(name = "{0} on {1} x {2}")
    @CsvSource({"resnet, reference, 1", "resnet, simd, 1", "resnet, simd, 2", "alexnet, reference, 1", "alexnet, simd, 2"})
    void stepsOnRecycledGradientsGiveTheSameBits(String arch, String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Tensor x = Tensor.uniform(11, -1, 1, 4, 3, 32, 32);
        int[] labels = {0, 3, 1, 4};
        Graph plain = net(arch), recycled = net(arch);
        Sgd sgdPlain = new Sgd(0.9, 1e-4, false), sgdRecycled = new Sgd(0.9, 1e-4, false);
        Recycler recycler = new Recycler(true);
        for (int s = 0; s < STEPS; s++) {
            float lossPlain = step(plain, k, x, labels, sgdPlain, null);
            float lossRecycled;
            try (Recycler.Use u = recycler.use()) {
                lossRecycled = step(recycled, k, x, labels, sgdRecycled, recycler);
            }
            assertEquals(Float.floatToIntBits(lossPlain), Float.floatToIntBits(lossRecycled), "loss at step " + s);
            for (String p : plain.params.keySet()) {
                assertArrayEquals(plain.params.get(p).data, recycled.params.get(p).data, p + " after step " + s);
            }
            assertTrue(recycler.pooledFloats() > 0, "the gradients were given back");
            for (Tensor p : recycled.params.values()) assertFalse(recycler.give(p.data), "a parameter is not the recycler's");
        }
        assertTrue(recycler.reusedFloats() > 0, "later steps made their gradients in recycled arrays");
        assertNull(Recycler.current(), "use() ended with its block");
    }

    private static Graph net(String arch) {
        return arch.equals("resnet") ? SmallNets.resnet(3, 5, 7) : SmallNets.alexnet(3, 32, 5, 7);
    }

    /** One training step as Trainer runs it; the gradients go back to {@code recycler} when given. */
    private static float step(Graph g, Kernels k, Tensor x, int[] labels, Sgd sgd, Recycler recycler) {
        Run run = g.forward(k, Map.of("input", x), true);
        CrossEntropy.Result ce = CrossEntropy.forward(run.output(), labels);
        Tensor dz = CrossEntropy.backward(ce.probs(), labels, 1f);
        Map<String, Tensor> grads = run.backwardReleasing("logits", dz, Relu.Rule.GRADIENT, Trainer.learnable(g));
        sgd.step(k, g.params, grads, 0.05);
        if (recycler != null) for (Tensor t : grads.values()) recycler.give(t.data);
        return ce.loss();
    }
}
