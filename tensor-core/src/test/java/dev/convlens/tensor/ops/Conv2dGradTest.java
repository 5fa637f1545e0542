package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Conv2d's backward against central differences. Conv is linear in x, w and b, so eps = 1e-2 has no truncation error. */
class Conv2dGradTest {
    /** Relative L2 tolerance: float32 rounding of L over a step of 1e-2. */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;
    final Kernels k = new ReferenceKernels();

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("3x3 pad 1", new int[] {2, 3, 5, 6}, new int[] {4, 3, 3, 3}, Conv2d.of(1, 1)),
                Arguments.of("stride 2 asym pads", new int[] {1, 2, 7, 5}, new int[] {3, 2, 3, 2},
                        new Conv2d(2, 2, 1, 0, 0, 1, 1, 1, 1)),
                Arguments.of("dilation 2", new int[] {1, 2, 7, 7}, new int[] {2, 2, 3, 3},
                        new Conv2d(1, 1, 2, 2, 2, 2, 2, 2, 1)),
                Arguments.of("groups 2", new int[] {2, 4, 5, 5}, new int[] {6, 2, 3, 3},
                        new Conv2d(1, 2, 1, 1, 1, 1, 1, 1, 2)),
                Arguments.of("depthwise", new int[] {1, 3, 4, 5}, new int[] {3, 1, 3, 3},
                        new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 3)),
                Arguments.of("1x1", new int[] {2, 5, 3, 3}, new int[] {7, 5, 1, 1}, Conv2d.of(1, 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void gradientsMatchCentralDifferences(String name, int[] xs, int[] ws, Conv2d conv) {
        Tensor x = Tensor.uniform(1, -1, 1, xs);
        Tensor w = Tensor.uniform(2, -1, 1, ws);
        Tensor b = Tensor.uniform(3, -1, 1, ws[0]);
        Tensor y = conv.forward(k, x, w, b);
        Tensor u = Tensor.uniform(4, -1, 1, y.shape());
        Conv2d.Grads g = conv.backward(k, x, w, u, true, true, true);
        assertGradient(name + " dx", () -> conv.forward(k, x, w, b), x, g.dx(), u, EPS, TOL);
        assertGradient(name + " dw", () -> conv.forward(k, x, w, b), w, g.dw(), u, EPS, TOL);
        assertGradient(name + " db", () -> conv.forward(k, x, w, b), b, g.db(), u, EPS, TOL);
    }
}
