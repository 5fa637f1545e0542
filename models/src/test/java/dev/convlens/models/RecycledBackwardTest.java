package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.ResNet18;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Run#backward} and {@link Run#backwardReleasing} give the gradients they used up (and the
 * released run's activations) to the {@link Recycler} in use, and the ops make their gradients by
 * {@link Tensor#empty}: the input gradients are those of a pass with no recycler, bit for bit, on a
 * recycler that fills every array with NaN when it is given back and when it is handed out again, over
 * several passes (each making its activations and gradients in the arrays of the one before), under the
 * three ReLU rules, on the fused plan of {@link Graph#infer} and the unfused one of {@link Graph#forward}
 * (whose Add returns one gradient for both inputs). After a backward that does not release, every value
 * of the run is still the forward's: no array a value holds was given back.
 */
class RecycledBackwardTest {
    static final int PASSES = 3;

    @ParameterizedTest(name = "{0} on {1} x {2}")
    @CsvSource({"resnet18, simd, 2", "resnet18, simd, 1", "alexnet, simd, 2", "alexnet, reference, 1"})
    void inputGradientsOnPoisonedRecycledArraysAreTheFreshOnes(String arch, String backend, int threads) {
        Kernels k = Backend.select(backend, threads);
        Graph g = arch.equals("resnet18") ? ResNet18.build(10, 3) : SmallNets.alexnet(3, 32, 5, 7);
        Tensor x = Tensor.uniform(4, -2, 2, 2, 3, 32, 32);
        Map<String, Tensor> feeds = Map.of("input", x);
        String in = g.inputs.get(0), out = g.outputs.get(0);
        Tensor seed = Tensor.uniform(5, -1, 1, g.infer(k, feeds).output().shape());
        Recycler recycler = new Recycler(true);
        for (Relu.Rule rule : Relu.Rule.values()) {
            // the fused plan (folded batch norm, no separate sums) and the unfused one, whose Add passes
            // one gradient to both of its inputs: each released as the walk goes, and kept
            for (boolean fused : new boolean[] {true, false}) {
                Run fresh = fused ? g.infer(k, feeds) : g.forward(k, feeds, false);
                float[] want = (fused ? g.infer(k, feeds) : g.forward(k, feeds, false))
                        .backward(out, seed, rule, List.of(in)).get(in).data;
                for (int pass = 0; pass < PASSES; pass++) {
                    String what = rule + (fused ? " fused" : " unfused") + " pass " + pass;
                    try (Recycler.Use u = recycler.use()) {
                        Run run = fused ? g.infer(k, feeds) : g.forward(k, feeds, false);
                        if (pass % 2 == 0) {
                            assertArrayEquals(want, run.backwardReleasing(out, seed, rule, List.of(in)).get(in).data, what);
                        } else {
                            assertArrayEquals(want, run.backward(out, seed, rule, List.of(in)).get(in).data, what);
                            for (Node n : run.graph.nodes) {
                                for (String v : n.outputs()) {
                                    if (!v.isEmpty()) assertArrayEquals(fresh.value(v).data, run.value(v).data, what + ": value " + v);
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(recycler.reusedFloats() > 0, "later passes made their arrays in recycled ones");
    }
}
