package dev.convlens.tensor.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.function.Supplier;

/**
 * Central finite differences against a hand-written backward pass.
 *
 * <p>The scalar checked is {@code L = sum(y * u)} for a fixed, non-uniform upstream gradient
 * {@code u} (never all ones: that hides transposition bugs), accumulated in double. For each
 * element of the input, {@code dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)}. The
 * error reported is the relative L2 error {@code ||num - ana|| / max(||num||, ||ana||, 1e-12)}.
 */
public final class GradCheck {
    private GradCheck() {}

    /** L = sum(y * u) in double. */
    public static double dot(Tensor y, Tensor u) {
        double s = 0;
        for (int i = 0; i < y.data.length; i++) s += (double) y.data[i] * u.data[i];
        return s;
    }

    /**
     * The numerical gradient of {@code sum(forward() * u)} with respect to {@code input}, which
     * {@code forward} must read; each element is perturbed in place and restored.
     */
    public static Tensor numerical(Supplier<Tensor> forward, Tensor input, Tensor u, double eps) {
        Tensor num = Tensor.zeros(input.shape());
        for (int i = 0; i < input.data.length; i++) {
            float orig = input.data[i];
            input.data[i] = (float) (orig + eps);
            float xp = input.data[i];
            double lp = dot(forward.get(), u);
            input.data[i] = (float) (orig - eps);
            float xm = input.data[i];
            double lm = dot(forward.get(), u);
            input.data[i] = orig;
            num.data[i] = (float) ((lp - lm) / ((double) xp - xm)); // the step actually taken in float
        }
        return num;
    }

    /** Relative L2 error between two tensors of the same size. */
    public static double relError(Tensor num, Tensor ana) {
        double d = 0, a = 0, b = 0;
        for (int i = 0; i < num.data.length; i++) {
            double x = num.data[i], y = ana.data[i];
            d += (x - y) * (x - y);
            a += x * x;
            b += y * y;
        }
        return Math.sqrt(d) / Math.max(Math.max(Math.sqrt(a), Math.sqrt(b)), 1e-12);
    }

    /** Asserts that {@code analytic} matches the central-difference gradient within {@code tol} (relative L2). */
    public static void assertGradient(String what, Supplier<Tensor> forward, Tensor input, Tensor analytic,
                                      Tensor u, double eps, double tol) {
        Tensor num = numerical(forward, input, u, eps);
        double err = relError(num, analytic);
        assertTrue(err <= tol, what + ": relative L2 error " + err + " > " + tol);
    }

    /** Relative L2 error of {@code actual} against {@code expected} (for kernel parity checks). */
    public static double relL2(float[] expected, float[] actual) {
        double d = 0, e = 0;
        for (int i = 0; i < expected.length; i++) {
            double x = expected[i], y = actual[i];
            d += (x - y) * (x - y);
            e += x * x;
        }
        return Math.sqrt(d) / Math.max(Math.sqrt(e), 1e-30);
    }

    /** Max |expected - actual| divided by max |expected|. */
    public static double maxAbsRel(float[] expected, float[] actual) {
        double d = 0, m = 0;
        for (int i = 0; i < expected.length; i++) {
            d = Math.max(d, Math.abs((double) expected[i] - actual[i]));
            m = Math.max(m, Math.abs(expected[i]));
        }
        return d / Math.max(m, 1e-30);
    }
}
