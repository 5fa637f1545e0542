package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** GlobalAvgPool: backward against central differences, forward against hand-computed means. */
class GlobalAvgPoolTest {
    /** Relative L2 tolerance: the op is linear, so only float rounding of y (~1e-7 relative) over a 2e-2 step remains. */
    static final double TOL = 1e-4;
    static final double EPS = 1e-2;
    /** Means of small integers: exact up to one float rounding. */
    static final float VALUE_TOL = 1e-6f;

    @Test
    void gradientMatchesCentralDifferences() {
        int[] xs = {2, 3, 4, 5};
        Tensor x = Tensor.uniform(1, -1, 1, xs);
        Tensor y = GlobalAvgPool.forward(x);
        assertArrayEquals(new int[] {2, 3, 1, 1}, y.shape());
        Tensor u = Tensor.uniform(4, -1, 1, y.shape());
        assertGradient("global avg pool dx", () -> GlobalAvgPool.forward(x), x, GlobalAvgPool.backward(u, xs), u, EPS, TOL);
    }

    @Test
    void meansOfEachPlane() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 10, 20, 30, 40}, 1, 2, 2, 2);
        assertArrayEquals(new float[] {2.5f, 25f}, GlobalAvgPool.forward(x).data, VALUE_TOL);
    }

    @Test
    void refusesBadShapesNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GlobalAvgPool.forward(Tensor.zeros(2, 3)));
        assertTrue(e.getMessage().startsWith("GlobalAvgPool: ") && e.getMessage().contains("(2,3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> GlobalAvgPool.backward(Tensor.zeros(2, 3, 1, 1), new int[] {2, 4, 5, 5}));
        assertTrue(e.getMessage().contains("(2,3,1,1)") && e.getMessage().contains("(2,4,5,5)"), e.getMessage());
    }
}
