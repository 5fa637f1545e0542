package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Dropout: the mask's statistics, reproducibility from (seed, step), and backward = dy * mask. */
class DropoutGradTest {
    /** Relative L2 tolerance: with the mask fixed dropout is linear, so only float32 rounding of L over a step of 1e-2. */
    static final double TOL = 2e-3;
    static final double EPS = 1e-2;
    static final float P = 0.3f;
    static final int N = 20_000;
    /** |mean(mask) - 1|: the mean of N masks has std sqrt(p/(1-p)/N) = 0.0046, so this is about 6.5 sigma. */
    static final double MEAN_TOL = 0.03;
    /** |fraction dropped - p|: std sqrt(p(1-p)/N) = 0.0032, so this is about 6 sigma. */
    static final double DROP_TOL = 0.02;

    @Test
    void maskHasMeanOneAndDropsAboutP() {
        Dropout d = new Dropout(P, 42);
        float[] mask = d.forward(Tensor.uniform(1, -1, 1, N), true, 0).mask();
        double sum = 0;
        int dropped = 0;
        for (float m : mask) {
            sum += m;
            if (m == 0f) dropped++;
            else assertEquals((float) (1.0 / (1.0 - P)), m); // exactly the scale 1/(1-p)
        }
        assertEquals(1.0, sum / N, MEAN_TOL);
        assertEquals(P, (double) dropped / N, DROP_TOL);
    }

    @Test
    void forwardIsXTimesMaskAndBackwardIsDyTimesMask() {
        Dropout d = new Dropout(P, 7);
        Tensor x = Tensor.uniform(2, -1, 1, 3, 4, 5);
        Dropout.Result r = d.forward(x, true, 3);
        assertArrayEquals(x.shape(), r.y().shape());
        Tensor dy = Tensor.uniform(3, -1, 1, 3, 4, 5);
        Tensor dx = d.backward(dy, r.mask());
        for (int i = 0; i < x.size(); i++) {
            assertEquals(x.data[i] * r.mask()[i], r.y().data[i]);
            assertEquals(dy.data[i] * r.mask()[i], dx.data[i]);
        }
        assertGradient("Dropout", () -> d.forward(x, true, 3).y(), x, dx, dy, EPS, TOL);
    }

    @Test
    void sameSeedAndStepGiveTheSameMask() {
        Tensor x = Tensor.uniform(4, -1, 1, 1000);
        float[] a = new Dropout(P, 11).forward(x, true, 5).mask();
        float[] b = new Dropout(P, 11).forward(x, true, 5).mask();
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, new Dropout(P, 11).forward(x, true, 6).mask()), "another step, another mask");
        assertFalse(Arrays.equals(a, new Dropout(P, 12).forward(x, true, 5).mask()), "another seed, another mask");
    }

    @Test
    void inferenceIsTheIdentity() {
        Dropout d = new Dropout(P, 1);
        Tensor x = Tensor.uniform(5, -1, 1, 2, 3);
        Dropout.Result r = d.forward(x, false, 0);
        assertNull(r.mask());
        assertArrayEquals(x.data, r.y().data);
        assertNotSame(x.data, r.y().data);
        Tensor dy = Tensor.uniform(6, -1, 1, 2, 3);
        Tensor dx = d.backward(dy, null);
        assertArrayEquals(dy.data, dx.data);
        assertNotSame(dy.data, dx.data);
    }

    @Test
    void pZeroKeepsEverythingAndPOutsideRangeIsRefused() {
        Tensor x = Tensor.uniform(7, -1, 1, 50);
        assertArrayEquals(x.data, new Dropout(0f, 1).forward(x, true, 0).y().data);
        for (float p : new float[] {1f, -0.1f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Dropout(p, 1));
            assertTrue(e.getMessage().startsWith("Dropout:"), e.getMessage());
        }
    }
}
