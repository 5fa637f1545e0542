package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CrossEntropy: the loss against a hand computation and its gradient against central differences. */
class CrossEntropyGradTest {
    /** Relative L2 tolerance: truncation error ~eps^2/6 ~ 2e-5 relative plus float32 rounding of the loss (~1e-4). */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;
    /** Loss against a double hand computation: one float32 rounding of a value near 1. */
    static final double LOSS_TOL = 1e-6;
    /** An upstream gradient other than 1, so the dLoss scaling is checked too. */
    static final float D_LOSS = 0.7f;

    @Test
    void lossMatchesHandComputation() {
        Tensor z = Tensor.of(new float[] {1, 2, 3, 0, 0, 0}, 2, 3);
        CrossEntropy.Result r = CrossEntropy.forward(z, new int[] {2, 1});
        // row 0: -log(e^3 / (e + e^2 + e^3)); row 1: -log(1/3)
        double expected = ((Math.log(Math.E + Math.exp(2) + Math.exp(3)) - 3) + Math.log(3)) / 2;
        assertEquals(expected, r.loss(), LOSS_TOL);
        assertEquals(Math.exp(3) / (Math.E + Math.exp(2) + Math.exp(3)), r.probs().data[2], LOSS_TOL);
        assertEquals(1.0 / 3, r.probs().data[4], LOSS_TOL);
    }

    @Test
    void gradientMatchesCentralDifferences() {
        int n = 4, k = 5;
        Tensor z = Tensor.uniform(1, -2, 2, n, k);
        int[] labels = {3, 0, 4, 3};
        CrossEntropy.Result r = CrossEntropy.forward(z, labels);
        Tensor dz = CrossEntropy.backward(r.probs(), labels, D_LOSS);
        Tensor u = Tensor.of(new float[] {D_LOSS}, 1);
        assertGradient("CrossEntropy", () -> Tensor.of(new float[] {CrossEntropy.forward(z, labels).loss()}, 1),
                z, dz, u, EPS, TOL);
        // each row of (p - onehot) sums to 0
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int c = 0; c < k; c++) s += dz.data[i * k + c];
            assertEquals(0.0, s, LOSS_TOL);
        }
    }

    @Test
    void labelOutOfRangeNamesIndexAndValue() {
        Tensor z = Tensor.uniform(2, -1, 1, 3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.forward(z, new int[] {0, 4, 1}));
        assertTrue(e.getMessage().contains("CrossEntropy") && e.getMessage().contains("labels[1] = 4")
                && e.getMessage().contains("(3,4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.backward(z, new int[] {0, 1, -1}, 1f));
        assertTrue(e.getMessage().contains("labels[2] = -1"), e.getMessage());
    }
}
