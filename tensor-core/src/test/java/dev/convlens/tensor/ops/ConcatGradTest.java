package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Concat: the index formula and the slicing backward against central differences, on every axis. */
class ConcatGradTest {
    /** Relative L2 tolerance: concatenation is linear, so only float32 rounding of L over a step of 1e-2. */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;

    @ParameterizedTest(name = "axis {0}")
    @ValueSource(ints = {0, 1, 2, -1, -3})
    void forwardFollowsTheIndexFormulaAndBackwardSlices(int axis) {
        int a = axis < 0 ? axis + 3 : axis;
        int[][] shapes = {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}};
        int[] lens = {1, 3, 2};
        for (int j = 0; j < 3; j++) shapes[j][a] = lens[j];
        Tensor x0 = Tensor.uniform(1, -1, 1, shapes[0]);
        Tensor x1 = Tensor.uniform(2, -1, 1, shapes[1]);
        Tensor x2 = Tensor.uniform(3, -1, 1, shapes[2]);
        Concat cat = new Concat(axis);
        Tensor y = cat.forward(x0, x1, x2);
        int[] ys = y.shape();
        assertEquals(6, ys[a]);
        // y[o, s_j + l, i] = x_j[o, l, i]
        Tensor[] xs = {x0, x1, x2};
        int[] starts = {0, 1, 4};
        for (int j = 0; j < 3; j++) {
            int[] s = shapes[j];
            for (int p = 0; p < s[0]; p++)
                for (int q = 0; q < s[1]; q++)
                    for (int r = 0; r < s[2]; r++) {
                        int[] yi = {p, q, r};
                        yi[a] += starts[j];
                        assertEquals(xs[j].data[(p * s[1] + q) * s[2] + r], y.data[(yi[0] * ys[1] + yi[1]) * ys[2] + yi[2]]);
                    }
        }
        Tensor u = Tensor.uniform(4, -1, 1, ys);
        Tensor[] g = cat.backward(u, shapes);
        assertEquals(3, g.length);
        for (int j = 0; j < 3; j++) {
            assertArrayEquals(shapes[j], g[j].shape());
            assertGradient("Concat axis " + axis + " dx" + j, () -> cat.forward(x0, x1, x2), xs[j], g[j], u, EPS, TOL);
        }
    }
}
