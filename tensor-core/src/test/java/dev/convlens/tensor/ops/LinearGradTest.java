package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Linear's backward against central differences, on every backend. Linear is linear in x, w
 * and b, so a large step has no truncation error.
 */
class LinearGradTest {
    /** Relative L2 tolerance: float32 rounding of L over a step of 1e-2 (no truncation error, L is linear). */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;
    /** Forward against a double-precision hand sum: float32 GEMM rounding over at most 13 products. */
    static final double FORWARD_TOL = 1e-5;

    static Stream<Arguments> cases() {
        Kernels ref = new ReferenceKernels();
        Kernels simd = Backend.select("simd", 2);
        return Stream.of(
                Arguments.of(ref, 4, 7, 3),
                Arguments.of(ref, 1, 13, 5), // one row
                Arguments.of(simd, 4, 7, 3),
                Arguments.of(simd, 5, 11, 9), // sizes not a multiple of any vector length
                Arguments.of(simd, 3, 1, 2)); // one feature
    }

    @ParameterizedTest(name = "{0} N={1} in={2} out={3}")
    @MethodSource("cases")
    void gradientsMatchCentralDifferences(Kernels k, int n, int in, int out) {
        Tensor x = Tensor.uniform(1, -1, 1, n, in);
        Tensor w = Tensor.uniform(2, -1, 1, out, in);
        Tensor b = Tensor.uniform(3, -1, 1, out);
        Tensor y = Linear.forward(k, x, w, b);
        assertEquals(n, y.dim(0));
        assertEquals(out, y.dim(1));
        Tensor u = Tensor.uniform(4, -1, 1, n, out);
        Linear.Grads g = Linear.backward(k, x, w, u, true, true, true);
        String name = k.name() + " " + n + "x" + in + "->" + out;
        assertGradient(name + " dx", () -> Linear.forward(k, x, w, b), x, g.dx(), u, EPS, TOL);
        assertGradient(name + " dw", () -> Linear.forward(k, x, w, b), w, g.dw(), u, EPS, TOL);
        assertGradient(name + " db", () -> Linear.forward(k, x, w, b), b, g.db(), u, EPS, TOL);
        assertGradient(name + " dx, no bias", () -> Linear.forward(k, x, w, null), x, g.dx(), u, EPS, TOL);
    }

    @Test
    void forwardMatchesHandSum() {
        Kernels k = new ReferenceKernels();
        Tensor x = Tensor.uniform(5, -1, 1, 3, 13);
        Tensor w = Tensor.uniform(6, -1, 1, 4, 13);
        Tensor b = Tensor.uniform(7, -1, 1, 4);
        Tensor y = Linear.forward(k, x, w, b);
        for (int n = 0; n < 3; n++)
            for (int o = 0; o < 4; o++) {
                double s = b.data[o];
                for (int i = 0; i < 13; i++) s += (double) x.data[n * 13 + i] * w.data[o * 13 + i];
                assertEquals(s, y.data[n * 4 + o], FORWARD_TOL);
            }
        // b = null means no bias
        Tensor y0 = Linear.forward(k, x, w, null);
        for (int i = 0; i < y0.size(); i++) assertEquals(y.data[i] - b.data[i % 4], y0.data[i], FORWARD_TOL);
    }

    @Test
    void onlyRequestedGradientsAreComputed() {
        Kernels k = new ReferenceKernels();
        Tensor x = Tensor.uniform(1, -1, 1, 2, 3);
        Tensor w = Tensor.uniform(2, -1, 1, 4, 3);
        Tensor dy = Tensor.uniform(3, -1, 1, 2, 4);
        Linear.Grads g = Linear.backward(k, x, w, dy, true, false, false);
        assertNotNull(g.dx());
        assertNull(g.dw());
        assertNull(g.db());
        g = Linear.backward(k, x, w, dy, false, true, true);
        assertNull(g.dx());
        assertNotNull(g.dw());
        assertNotNull(g.db());
    }
}
