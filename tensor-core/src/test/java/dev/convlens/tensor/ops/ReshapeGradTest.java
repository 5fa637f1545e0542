package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Reshape and Flatten: shapes, order kept, copies, and the backward against central differences. */
class ReshapeGradTest {
    /** Relative L2 tolerance: reshaping is linear, so only float32 rounding of L over a step of 1e-2. */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;

    @Test
    void reshapeInfersOneDimensionAndKeepsOrder() {
        Tensor x = Tensor.uniform(1, -1, 1, 2, 3, 4);
        Tensor y = Reshape.forward(x, 4, -1);
        assertArrayEquals(new int[] {4, 6}, y.shape());
        assertArrayEquals(x.data, y.data);
        assertNotSame(x.data, y.data);
        assertArrayEquals(new int[] {2, 12}, Reshape.forward(x, -1, 12).shape());
        assertArrayEquals(new int[] {24}, Reshape.forward(x, -1).shape());
        assertArrayEquals(new int[] {1, 24, 1}, Reshape.forward(x, 1, 24, 1).shape());
    }

    @Test
    void flattenIsOnnxFlatten() {
        Tensor x = Tensor.uniform(2, -1, 1, 2, 3, 4, 5);
        assertArrayEquals(new int[] {2, 60}, Reshape.flatten(x, 1).shape());
        assertArrayEquals(new int[] {1, 120}, Reshape.flatten(x, 0).shape());
        assertArrayEquals(new int[] {6, 20}, Reshape.flatten(x, 2).shape());
        assertArrayEquals(new int[] {120, 1}, Reshape.flatten(x, 4).shape());
        assertArrayEquals(new int[] {24, 5}, Reshape.flatten(x, -1).shape());
        assertArrayEquals(new int[] {1, 120}, Reshape.flatten(x, -4).shape());
        assertArrayEquals(x.data, Reshape.flatten(x, 1).data);
    }

    @Test
    void gradientsMatchCentralDifferences() {
        Tensor x = Tensor.uniform(3, -1, 1, 2, 3, 2, 2);
        int[] xs = x.shape();
        Tensor u = Tensor.uniform(4, -1, 1, 3, 8);
        Tensor dx = Reshape.backward(u, xs);
        assertArrayEquals(xs, dx.shape());
        assertNotSame(u.data, dx.data);
        assertGradient("Reshape", () -> Reshape.forward(x, 3, -1), x, dx, u, EPS, TOL);
        Tensor uf = Tensor.uniform(5, -1, 1, 6, 4);
        assertGradient("Flatten", () -> Reshape.flatten(x, 2), x, Reshape.backward(uf, xs), uf, EPS, TOL);
    }
}
