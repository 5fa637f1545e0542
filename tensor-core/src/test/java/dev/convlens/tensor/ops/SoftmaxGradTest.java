package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Softmax and LogSoftmax: normalization, log(softmax) = log-softmax, and both backwards against central differences. */
class SoftmaxGradTest {
    /** Relative L2 tolerance: truncation error ~eps^2/6 ~ 2e-5 relative plus float32 rounding of L (~1e-4). */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;
    /** Each fibre of a softmax sums to 1 up to float32 rounding of a few tens of terms. */
    static final double SUM_TOL = 1e-6;
    /** log(softmax) against log-softmax: float32 rounding of the probabilities, relative, then the log (absolute). */
    static final double LOG_TOL = 1e-6;
    /** Log-softmax values near -2000: float32 spacing there is 1.2e-4. */
    static final double LARGE_LOG_TOL = 2.5e-4;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(new int[] {3, 5}, 1),
                Arguments.of(new int[] {3, 5}, -1),
                Arguments.of(new int[] {4, 3}, 0),
                Arguments.of(new int[] {2, 3, 2, 2}, 1), // channels of NCHW: inner > 1
                Arguments.of(new int[] {2, 3, 4}, -2),
                Arguments.of(new int[] {7}, 0));
    }

    /** Visits every fibre along axis a of shape s as (first flat index, stride, length). */
    interface Fibre {
        void at(int base, int stride, int len);
    }

    static void fibres(int[] s, int axis, Fibre f) {
        int a = axis < 0 ? axis + s.length : axis;
        int outer = 1, inner = 1;
        for (int d = 0; d < a; d++) outer *= s[d];
        for (int d = a + 1; d < s.length; d++) inner *= s[d];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) f.at(o * s[a] * inner + i, inner, s[a]);
    }

    @ParameterizedTest(name = "{0} axis {1}")
    @MethodSource("cases")
    void softmaxFibresSumToOneAndGradientMatches(int[] shape, int axis) {
        Softmax sm = new Softmax(axis);
        Tensor x = Tensor.uniform(1, -2, 2, shape);
        Tensor y = sm.forward(x);
        fibres(shape, axis, (base, stride, len) -> {
            double s = 0;
            for (int l = 0; l < len; l++) {
                assertTrue(y.data[base + l * stride] > 0);
                s += y.data[base + l * stride];
            }
            assertEquals(1.0, s, SUM_TOL);
        });
        Tensor u = Tensor.uniform(2, -1, 1, shape);
        assertGradient("Softmax " + axis, () -> sm.forward(x), x, sm.backward(y, u), u, EPS, TOL);
    }

    @ParameterizedTest(name = "{0} axis {1}")
    @MethodSource("cases")
    void logSoftmaxIsLogOfSoftmaxAndGradientMatches(int[] shape, int axis) {
        LogSoftmax lsm = new LogSoftmax(axis);
        Tensor x = Tensor.uniform(3, -2, 2, shape);
        Tensor y = lsm.forward(x);
        Tensor p = new Softmax(axis).forward(x);
        for (int i = 0; i < x.size(); i++) assertEquals(Math.log(p.data[i]), y.data[i], LOG_TOL);
        Tensor u = Tensor.uniform(4, -1, 1, shape);
        assertGradient("LogSoftmax " + axis, () -> lsm.forward(x), x, lsm.backward(y, u), u, EPS, TOL);
    }

    @Test
    void largeLogitsDoNotOverflow() {
        Tensor x = Tensor.of(new float[] {1000f, 1001f, 999f, -1000f}, 1, 4);
        Tensor y = new Softmax(1).forward(x);
        Tensor ly = new LogSoftmax(1).forward(x);
        double lse = 1001 + Math.log(Math.exp(-1) + 1 + Math.exp(-2) + Math.exp(-2001));
        float[] xs = x.data;
        for (int i = 0; i < 4; i++) {
            assertEquals(Math.exp(xs[i] - lse), y.data[i], SUM_TOL);
            assertEquals(xs[i] - lse, ly.data[i], LARGE_LOG_TOL);
        }
        assertEquals(0f, y.data[3]); // exp(-2001) underflows in softmax ...
        assertTrue(Float.isFinite(ly.data[3])); // ... but its log stays finite
    }
}
