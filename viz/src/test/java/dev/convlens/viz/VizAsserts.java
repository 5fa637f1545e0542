package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.Locale;

/** Comparisons the viz tests share. */
final class VizAsserts {
    private VizAsserts() {}

    /** {@code ||actual - expected|| / ||expected|| <= tol}. */
    static double assertRelL2(String what, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shapes differ");
        double d = 0, e = 0;
        for (int i = 0; i < expected.data.length; i++) {
            double a = expected.data[i], b = actual.data[i];
            d += (a - b) * (a - b);
            e += a * a;
        }
        double err = Math.sqrt(d) / Math.max(Math.sqrt(e), 1e-30);
        assertTrue(e > 0 && err <= tol, String.format(Locale.ROOT, "%s: relative L2 error %.3e > %.1e (||expected|| = %.4g)",
                what, err, tol, Math.sqrt(e)));
        return err;
    }
}
