package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Add: both branches against central differences; the two gradients are independent copies. */
class AddGradTest {
    /** Relative L2 tolerance: Add is linear, so only float32 rounding of L over a step of 1e-2. */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;

    @Test
    void gradientsMatchCentralDifferences() {
        Tensor a = Tensor.uniform(1, -1, 1, 2, 3, 4);
        Tensor b = Tensor.uniform(2, -1, 1, 2, 3, 4);
        Tensor u = Tensor.uniform(3, -1, 1, 2, 3, 4);
        Tensor y = Add.forward(a, b);
        for (int i = 0; i < y.size(); i++) assertEquals(a.data[i] + b.data[i], y.data[i]);
        Tensor[] g = Add.backward(u);
        assertEquals(2, g.length);
        assertGradient("Add da", () -> Add.forward(a, b), a, g[0], u, EPS, TOL);
        assertGradient("Add db", () -> Add.forward(a, b), b, g[1], u, EPS, TOL);
    }

    @Test
    void theSignalIsCopiedToBothBranches() {
        Tensor dy = Tensor.uniform(4, -1, 1, 3, 5);
        float[] before = dy.data.clone();
        Tensor[] g = Add.backward(dy);
        assertNotSame(g[0].data, g[1].data);
        assertNotSame(dy.data, g[0].data);
        assertNotSame(dy.data, g[1].data);
        assertArrayEquals(dy.shape(), g[0].shape());
        g[0].data[0] += 1f; // a caller accumulating into one branch
        assertArrayEquals(before, dy.data);
        assertArrayEquals(before, g[1].data);
    }
}
