package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Lrn: backward against central differences (odd and even windows), forward against the ONNX definition. */
class LrnTest {
    /**
     * Relative L2 tolerance: y is smooth in x, so with a 1e-3 step the truncation error is O(eps^2) ~ 1e-6;
     * what remains is float rounding of the few outputs a step changes (~1e-7 of |y| <= 1) over a 2e-3 step.
     */
    static final double TOL = 1e-3;
    static final double EPS = 1e-3;
    /** Forward values: ratios of small integers, exact up to one float rounding. */
    static final float VALUE_TOL = 1e-6f;

    @ParameterizedTest(name = "size {0}, C={1}")
    @CsvSource({
            "5, 7", // AlexNet's size, symmetric window
            "4, 6", // even: the window is c-1..c+2 and the backward's mirrored window c-2..c+1
            "3, 2", // window wider than the channel count
            "1, 3", // each channel normalized by itself alone
    })
    void gradientMatchesCentralDifferences(int size, int c) {
        // alpha large enough that the cross-channel term is a sizeable part of the gradient
        Lrn lrn = new Lrn(size, 2f, 0.75f, 1.5f);
        int[] xs = {2, c, 3, 2};
        Tensor x = Tensor.uniform(1, -1, 1, xs);
        Tensor u = Tensor.uniform(4, -1, 1, xs);
        assertGradient("lrn size " + size + " dx", () -> lrn.forward(x), x, lrn.backward(x, u), u, EPS, TOL);
    }

    @Test
    void rank3AndRank5Inputs() {
        Lrn lrn = new Lrn(3, 2f, 0.75f, 1f);
        for (int[] xs : new int[][] {{2, 4, 5}, {1, 4, 2, 2, 2}}) {
            Tensor x = Tensor.uniform(1, -1, 1, xs);
            Tensor u = Tensor.uniform(4, -1, 1, xs);
            assertGradient("lrn rank " + xs.length, () -> lrn.forward(x), x, lrn.backward(x, u), u, EPS, TOL);
        }
    }

    /**
     * Size 4, alpha 4 (alpha/size = 1), beta 1, bias 1, x = (1,1,1,2,1,1) over channels: y_c = x_c / (1 + sq_c)
     * with ONNX's window c-1..c+2: sq = (3, 7, 7, 7, 6, 2), so y = (1/4, 1/8, 1/8, 2/8, 1/7, 1/3).
     * (PyTorch 1.13's local_response_norm uses c-2..c+1 and gives (1/3, 1/4, 1/8, 1/4, 1/8, 1/7).)
     */
    @Test
    void evenSizeUsesOnnxWindow() {
        float[] v = new float[6];
        Arrays.fill(v, 1f);
        v[3] = 2f;
        Tensor y = new Lrn(4, 4f, 1f, 1f).forward(Tensor.of(v, 1, 6, 1, 1));
        assertArrayEquals(new float[] {1 / 4f, 1 / 8f, 1 / 8f, 2 / 8f, 1 / 7f, 1 / 3f}, y.data, VALUE_TOL);
    }

    /** Size 3 (lo = hi = 1): x = (1,2,3) gives sq = (5, 14, 13); alpha 3, beta 1, bias 1: y = x / (1 + sq). */
    @Test
    void oddSizeWindow() {
        Tensor y = new Lrn(3, 3f, 1f, 1f).forward(Tensor.of(new float[] {1, 2, 3}, 1, 3, 1));
        assertArrayEquals(new float[] {1 / 6f, 2 / 15f, 3 / 14f}, y.data, VALUE_TOL);
    }

    @Test
    void refusesBadShapesNamingThem() {
        Lrn lrn = new Lrn(5, 1e-4f, 0.75f, 2f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lrn.forward(Tensor.zeros(2, 3)));
        assertTrue(e.getMessage().startsWith("Lrn: ") && e.getMessage().contains("(2,3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> lrn.backward(Tensor.zeros(1, 3, 2, 2), Tensor.zeros(1, 3, 2, 1)));
        assertTrue(e.getMessage().contains("(1,3,2,1)") && e.getMessage().contains("(1,3,2,2)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Lrn(0, 1f, 1f, 1f));
    }
}
