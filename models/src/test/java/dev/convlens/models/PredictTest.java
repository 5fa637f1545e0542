package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.ResNet18;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Conv2d;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Graph#predict}: the outputs of {@link Graph#infer}, bit for bit, while the arrays of dead
 * intermediates are made into later ones. The recycler of the multi-pass cases poisons every array it
 * hands out again with NaN, so an op that did not write its whole output, or an array given back while
 * a live value still used it, would show in the outputs.
 */
class PredictTest {
    static final int PASSES = 3;

    @ParameterizedTest(name = "{0} on {1} x {2}")
    @CsvSource({"resnet18, simd, 2", "resnet18, simd, 1", "resnet18, reference, 1", "alexnet, simd, 2", "alexnet, reference, 1"})
    void outputsAreInfersBitForBitOnFreshAndOnPoisonedRecycledArrays(String arch, String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Graph g = arch.equals("resnet18") ? ResNet18.build(10, 3) : SmallNets.alexnet(3, 32, 5, 7);
        Tensor x = Tensor.uniform(3, -2, 2, 2, 3, 32, 32);
        Map<String, Tensor> feeds = Map.of("input", x);
        float[] want = g.infer(k, feeds).output().data;
        assertArrayEquals(want, g.predict(k, feeds).get(g.outputs.get(0)).data, "no recycler in use");
        assertNull(Recycler.current(), "predict's own recycler is gone with the pass");

        Recycler recycler = new Recycler(true);
        for (int pass = 0; pass < PASSES; pass++) {
            try (Recycler.Use u = recycler.use()) {
                assertArrayEquals(want, g.predict(k, feeds).get(g.outputs.get(0)).data, "pass " + pass);
            }
            assertTrue(recycler.pooledFloats() > 0, "the intermediates were given back");
        }
        assertTrue(recycler.reusedFloats() > 0, "later passes made their intermediates in recycled arrays");
        assertFalse(recycler.give(x.data), "the feed is not the recycler's");
        for (Tensor p : g.params.values()) assertFalse(recycler.give(p.data), "a parameter is not the recycler's");
    }

    /**
     * {@code a = relu(x)}, {@code b = identity(a)} (the same tensor), {@code d = relu(conv(b))} (one fused
     * node). a's last reader is the identity, but its array lives on in b until the convolution has read
     * it: given back at a's death, the convolution's output (of the same length) would be made in it, NaN
     * first, while the convolution reads it.
     */
    @Test
    void anArrayThatAViewStillUsesIsNotGivenBack() {
        Tensor w = Tensor.uniform(5, -1, 1, 1, 1, 3, 3);
        Graph g = new Graph(List.of(
                new Node("relu1", new Layers.ReluOp(), List.of("x"), List.of("a")),
                new Node("view", new Layers.Identity(), List.of("a"), List.of("b")),
                new Node("conv", new Layers.Conv(Conv2d.of(1, 1)), List.of("b", "w"), List.of("c")),
                new Node("relu2", new Layers.ReluOp(), List.of("c"), List.of("d"))),
                Map.of("w", w), List.of("x"), List.of("d"));
        Kernels k = Backend.select("simd", 1);
        Tensor x = Tensor.uniform(9, -1, 1, 1, 1, 6, 6);
        float[] want = g.infer(k, Map.of("x", x)).output().data;
        Recycler recycler = new Recycler(true);
        for (int pass = 0; pass < PASSES; pass++) {
            try (Recycler.Use u = recycler.use()) {
                assertArrayEquals(want, g.predict(k, Map.of("x", x)).get("d").data, "pass " + pass);
            }
        }
        // each pass gives a's array (b's) back once the convolution has run; the next pass makes its a in it
        assertEquals(36, recycler.pooledFloats(), "a's array pooled after the last pass");
        assertEquals(36 * (PASSES - 1), recycler.reusedFloats(), "a made in the array of the pass before");
    }
}
