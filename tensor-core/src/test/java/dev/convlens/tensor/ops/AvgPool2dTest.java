package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** AvgPool2d: backward against central differences, and PyTorch's divisors in ceil mode with padding. */
class AvgPool2dTest {
    /** Relative L2 tolerance: the op is linear, so only float rounding of y (~1e-7 relative) over a 2e-2 step remains. */
    static final double TOL = 1e-4;
    static final double EPS = 1e-2;
    /** Forward values against PyTorch's printed float32 results: a few ulps of values up to ~35. */
    static final float VALUE_TOL = 1e-5f;

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("k3 s2 pad 1 ceil, pad counted", new int[] {2, 2, 6, 6},
                        new AvgPool2d(3, 3, 2, 2, 1, 1, 1, 1, true, true)),
                Arguments.of("k3 s2 pad 1 ceil, pad not counted", new int[] {2, 2, 6, 6},
                        new AvgPool2d(3, 3, 2, 2, 1, 1, 1, 1, true, false)),
                Arguments.of("k2 s2 pad 1 ceil (window dropped), pad counted", new int[] {1, 3, 5, 5},
                        new AvgPool2d(2, 2, 2, 2, 1, 1, 1, 1, true, true)),
                Arguments.of("k3 s2 no pad ceil (window spills), pad counted", new int[] {1, 2, 6, 6},
                        new AvgPool2d(3, 3, 2, 2, 0, 0, 0, 0, true, true)),
                Arguments.of("rectangular asymmetric pads, pad not counted", new int[] {1, 2, 6, 5},
                        new AvgPool2d(3, 2, 2, 1, 1, 0, 0, 1, false, false)),
                Arguments.of("k3 s1 pad 1 floor", new int[] {2, 1, 4, 5}, AvgPool2d.of(3, 1, 1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void gradientMatchesCentralDifferences(String name, int[] xs, AvgPool2d pool) {
        Tensor x = Tensor.uniform(1, -1, 1, xs);
        Tensor y = pool.forward(x);
        Tensor u = Tensor.uniform(4, -1, 1, y.shape());
        Tensor dx = pool.backward(u, xs);
        assertGradient(name + " dx", () -> pool.forward(x), x, dx, u, EPS, TOL);
    }

    static Tensor arange(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) t.data[i] = i;
        return t;
    }

    /** Values printed by PyTorch 1.13: {@code F.avg_pool2d(torch.arange(36.).reshape(1,1,6,6), 3, 2, 1, ceil_mode=True, count_include_pad=...)}. */
    @Test
    void divisorsMatchPyTorchInCeilModeWithPadding() {
        Tensor x = arange(1, 1, 6, 6);
        assertArrayEquals(new float[] {1.5555556f, 3.3333333f, 4.6666665f, 2.6666667f, 8.333333f, 14f, 16f, 8.5f,
                        16.333334f, 26f, 28f, 14.5f, 10.166667f, 16f, 17f, 8.75f},
                new AvgPool2d(3, 3, 2, 2, 1, 1, 1, 1, true, true).forward(x).data, VALUE_TOL);
        assertArrayEquals(new float[] {3.5f, 5f, 7f, 8f, 12.5f, 14f, 16f, 17f, 24.5f, 26f, 28f, 29f, 30.5f, 32f, 34f, 35f},
                new AvgPool2d(3, 3, 2, 2, 1, 1, 1, 1, true, false).forward(x).data, VALUE_TOL);
        // no padding, ceil mode: the last window spills past the input and is clipped to it even with count_include_pad
        assertArrayEquals(new float[] {7f, 9f, 10.5f, 19f, 21f, 22.5f, 28f, 30f, 31.5f},
                new AvgPool2d(3, 3, 2, 2, 0, 0, 0, 0, true, true).forward(x).data, VALUE_TOL);
        // 5x5, k2 s2 pad 1 ceil: 3x3 output (the fourth window would start in the bottom padding)
        Tensor x5 = arange(1, 1, 5, 5);
        assertArrayEquals(new float[] {0f, 0.75f, 1.75f, 3.75f, 9f, 11f, 8.75f, 19f, 21f},
                new AvgPool2d(2, 2, 2, 2, 1, 1, 1, 1, true, true).forward(x5).data, VALUE_TOL);
        assertArrayEquals(new float[] {0f, 1.5f, 3.5f, 7.5f, 9f, 11f, 17.5f, 19f, 21f},
                new AvgPool2d(2, 2, 2, 2, 1, 1, 1, 1, true, false).forward(x5).data, VALUE_TOL);
    }

    @Test
    void refusesBadShapesNamingThem() {
        AvgPool2d pool = AvgPool2d.of(2, 2, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pool.forward(Tensor.zeros(1, 4, 4)));
        assertTrue(e.getMessage().startsWith("AvgPool2d: ") && e.getMessage().contains("(1,4,4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> pool.backward(Tensor.zeros(1, 1, 3, 3), new int[] {1, 1, 4, 4}));
        assertTrue(e.getMessage().contains("(1,1,3,3)") && e.getMessage().contains("(1,1,2,2)"), e.getMessage());
    }
}
