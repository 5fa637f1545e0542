package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The three backward rules worked out by hand on a network small enough to follow with a pencil.
 *
 * <pre>
 *   x (6 values)  --max pool, width 2-->  p (3)  --ReLU-->  r (3)  --dot with v-->  y (1)
 *
 *   x = [ 3, 1 | -5, -2 | 0.5, 1 ]
 *   p = [ 3,     -2,      1      ]     (switches: the 3 at x0, the -2 at x3, the 1 at x5)
 *   r = [ 3,      0,      1      ]
 *   v = [-1,      2,      0.5    ]     y = -3 + 0 + 0.5 = -2.5
 * </pre>
 * Going down from y with signal 1, the dot product sends {@code dr = v = [-1, 2, 0.5]} to the ReLU.
 * There the rules part ways (the forward input of the ReLU is p = [3, -2, 1]):
 * <pre>
 *                  rule                      dp             dx (unpooled to the switches)
 *   GRADIENT   dp = dr * 1[p > 0]        [-1, 0, 0.5]   [-1, 0, 0, 0, 0, 0.5]
 *   DECONVNET  dp = max(dr, 0)           [ 0, 2, 0.5]   [ 0, 0, 0, 2, 0, 0.5]
 *   GUIDED     dp = max(dr, 0) * 1[p>0]  [ 0, 0, 0.5]   [ 0, 0, 0, 0, 0, 0.5]
 * </pre>
 * Unit 0 is on (p = 3) but its signal is negative: the gradient keeps it, the deconvnet and guided
 * rules drop it. Unit 1 is off (p = -2) with a positive signal: only the deconvnet lets it through,
 * because it ignores the forward pass. Unit 2 is on with a positive signal: all three agree. The
 * max pool's backward is the same under every rule: unpooling, each signal back to the input that won.
 */
class BackwardRulesTeachingTest {
    static final Graph NET = new Graph(List.of(
            new Node("pool", new Layers.MaxPool(new MaxPool2d(1, 2, 1, 2, 0, 0, 0, 0, 1, 1, false)), List.of("x"), List.of("p")),
            new Node("relu", new Layers.ReluOp(), List.of("p"), List.of("r")),
            new Node("flat", new Layers.Flatten(1), List.of("r"), List.of("f")),
            new Node("dot", new Layers.Gemm(1, 0, false, true), List.of("f", "v"), List.of("y"))),
            Map.of("v", Tensor.of(new float[] {-1, 2, 0.5f}, 1, 3)), List.of("x"), List.of("y"));

    static final Tensor X = Tensor.of(new float[] {3, 1, -5, -2, 0.5f, 1}, 1, 1, 1, 6);

    static float[] down(Relu.Rule rule) {
        Run run = NET.forward(Backend.select("reference", 1), Map.of("x", X), false);
        assertEquals(-2.5f, run.output().data[0], "y = v . relu(maxpool(x))");
        Tensor one = Tensor.of(new float[] {1}, 1, 1);
        return run.backward("y", one, rule, List.of("x")).get("x").data;
    }

    @Test
    void gradientKeepsNegativeSignalsOfActiveUnits() {
        assertArrayEquals(new float[] {-1, 0, 0, 0, 0, 0.5f}, down(Relu.Rule.GRADIENT));
    }

    @Test
    void deconvnetRectifiesTheSignalAndIgnoresTheForwardMask() {
        assertArrayEquals(new float[] {0, 0, 0, 2, 0, 0.5f}, down(Relu.Rule.DECONVNET));
    }

    @Test
    void guidedAppliesBothMasks() {
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0.5f}, down(Relu.Rule.GUIDED));
    }
}
