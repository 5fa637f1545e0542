package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Training steps on arrays a {@link Recycler} hands back: the same bits as on new arrays. The
 * recycler poisons every array it hands out again with NaN, so an op that did not write its whole
 * output (or an array given back while still in use) would show in the parameters.
 */
class RecyclerTest {
    static final int STEPS = 3;

    @ParameterizedTest(name = "{0} on {1} x {2}")
    @CsvSource({"resnet, reference, 1", "resnet, simd, 1", "resnet, simd, 2", "alexnet, simd, 2"})
    void stepsOnRecycledArraysGiveTheSameBits(String arch, String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Tensor x = Tensor.uniform(11, -1, 1, 4, 3, 32, 32);
        int[] labels = {0, 3, 1, 4};
        Graph plain = net(arch), recycled = net(arch);
        Sgd sgdPlain = new Sgd(0.9, 1e-4, false), sgdRecycled = new Sgd(0.9, 1e-4, false);
        Recycler recycler = new Recycler(true);
        List<float[]> held = new ArrayList<>(), heldCopies = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            float lossPlain = step(plain, k, x, labels, sgdPlain, null);
            float lossRecycled;
            try (Recycler.Use u = recycler.use()) {
                lossRecycled = step(recycled, k, x, labels, sgdRecycled, held);
            }
            heldCopies.add(held.get(s).clone());
            assertEquals(Float.floatToIntBits(lossPlain), Float.floatToIntBits(lossRecycled), "loss at step " + s);
            for (String p : plain.params.keySet()) {
                assertArrayEquals(plain.params.get(p).data, recycled.params.get(p).data, p + " after step " + s);
            }
            assertTrue(recycler.pooledFloats() > 0, "the backward gave arrays back");
        }
        assertTrue(recycler.reusedFloats() > 0, "later steps ran on recycled arrays");
        // the activation each step's caller read stays as it was: arrays a caller was handed are never recycled
        for (int s = 0; s < STEPS; s++) assertArrayEquals(heldCopies.get(s), held.get(s), "first ReLU's output at step " + s);
        assertFalse(Recycler.current() == recycler, "use() ended with its block");
    }

    /**
     * An Identity node passes its input's array on: when the walk frees the Identity's output, the
     * array is still the convolution's output, which the ReLU's backward reads later (and its gradient
     * is its output gradient's array). Neither may go back to the recycler then.
     */
    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"reference, 1", "simd, 2"})
    void sharedArraysAreNotRecycledWhileAlive(String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Tensor x = Tensor.uniform(21, -1, 1, 2, 3, 8, 8);
        Recycler recycler = new Recycler(true);
        Tensor[] grads = new Tensor[2];
        for (int r = 0; r < 2; r++) {
            Graph g = new Graph(List.of(
                    new Node("conv", new Layers.Conv(Conv2d.of(1, 1)), List.of("x", "w"), List.of("c")),
                    new Node("relu", new Layers.ReluOp(), List.of("c"), List.of("a")),
                    new Node("same", new Layers.Identity(), List.of("c"), List.of("f")),
                    new Node("add", new Layers.AddOp(), List.of("a", "f"), List.of("s")),
                    new Node("pool", new Layers.GlobalAvg(), List.of("s"), List.of("p")),
                    new Node("flat", new Layers.ReshapeOp(new int[] {0, -1}), List.of("p"), List.of("logits"))),
                    Map.of("w", Tensor.uniform(22, -1, 1, 4, 3, 3, 3)), List.of("x"), List.of("logits"));
            try (Recycler.Use u = r == 1 ? recycler.use() : null) {
                for (int s = 0; s < 2; s++) { // the second step runs on the first one's arrays
                    Run run = g.forward(k, Map.of("x", x), true);
                    grads[r] = run.backwardReleasing("logits", Tensor.uniform(23, -1, 1, 2, 4), Relu.Rule.GRADIENT,
                            List.of("w")).get("w");
                }
            }
        }
        assertTrue(recycler.reusedFloats() > 0, "the second step ran on recycled arrays");
        assertArrayEquals(grads[0].data, grads[1].data, "conv weight gradient");
    }

    private static Graph net(String arch) {
        return arch.equals("resnet") ? SmallNets.resnet(3, 5, 7) : SmallNets.alexnet(3, 32, 5, 7);
    }

    /** One training step as Trainer runs it; the first ReLU's output array goes into {@code held} when given. */
    private static float step(Graph g, Kernels k, Tensor x, int[] labels, Sgd sgd, List<float[]> held) {
        Run run = g.forward(k, Map.of("input", x), true);
        Tensor logits = run.output();
        if (held != null) { // an activation the recycler made, read by the caller: never to be recycled
            String relu = g.nodes.stream().filter(n -> n.op().type().equals("Relu")).findFirst().orElseThrow().outputs().get(0);
            held.add(run.value(relu).data);
        }
        CrossEntropy.Result ce = CrossEntropy.forward(logits, labels);
        Tensor dz = CrossEntropy.backward(ce.probs(), labels, 1f);
        Map<String, Tensor> grads = run.backwardReleasing("logits", dz, Relu.Rule.GRADIENT, Trainer.learnable(g));
        sgd.step(k, g.params, grads, 0.05);
        if (held != null) for (Tensor t : grads.values()) Recycler.current().give(t.data); // as Trainer does
        return ce.loss();
    }
}
