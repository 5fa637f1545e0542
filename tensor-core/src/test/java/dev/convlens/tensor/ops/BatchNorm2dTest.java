package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** BatchNorm2d: gradients (training and inference) against central differences, running statistics against PyTorch's rule. */
class BatchNorm2dTest {
    /**
     * Training dx is nonlinear in x (through mean and 1/std): with a step of 1e-3 the truncation error is
     * O(eps^2) ~ 1e-6, but each of the channel's M float outputs is rounded (~1e-7 of |y| ~ 2) in both
     * evaluations, which over a 2e-3 step leaves ~1e-4 relative noise in the numerical gradient.
     */
    static final double TOL_TRAIN_DX = 1e-3;
    static final double EPS_TRAIN_DX = 1e-3;
    /** y is linear in gamma and beta (and in x at inference): only float rounding of y over a 2e-2 step remains. */
    static final double TOL_LINEAR = 1e-4;
    static final double EPS_LINEAR = 1e-2;
    /** Running statistics and outputs vs. the hand computation (double) stored in float: a few ulps of values ~2. */
    static final float VALUE_TOL = 1e-6f;

    final BatchNorm2d bn = new BatchNorm2d(1e-5f, 0.1f);

    @ParameterizedTest(name = "rank {0}")
    @ValueSource(ints = {4, 2})
    void trainingGradientsMatchCentralDifferences(int rank) {
        int[] xs = rank == 4 ? new int[] {2, 3, 3, 4} : new int[] {6, 3};
        Tensor x = Tensor.uniform(1, -1, 2, xs); // non-zero mean, so the mean term matters
        Tensor gamma = Tensor.uniform(2, 0.5f, 2, 3);
        Tensor beta = Tensor.uniform(3, -1, 1, 3);
        BatchNorm2d.TrainResult r = bn.forwardTrain(x, gamma, beta, null, null);
        Tensor u = Tensor.uniform(4, -1, 1, xs);
        BatchNorm2d.Grads g = bn.backwardTrain(x, gamma, u, r.mean(), r.invStd(), true, true, true);
        assertGradient("train dx", () -> bn.forwardTrain(x, gamma, beta, null, null).y(), x, g.dx(), u,
                EPS_TRAIN_DX, TOL_TRAIN_DX);
        assertGradient("train dgamma", () -> bn.forwardTrain(x, gamma, beta, null, null).y(), gamma, g.dgamma(), u,
                EPS_LINEAR, TOL_LINEAR);
        assertGradient("train dbeta", () -> bn.forwardTrain(x, gamma, beta, null, null).y(), beta, g.dbeta(), u,
                EPS_LINEAR, TOL_LINEAR);
    }

    @Test
    void onlyRequestedGradientsAreComputed() {
        Tensor x = Tensor.uniform(1, -1, 1, 2, 2, 2, 2);
        Tensor gamma = Tensor.uniform(2, 0.5f, 2, 2);
        BatchNorm2d.TrainResult r = bn.forwardTrain(x, gamma, null, null, null);
        BatchNorm2d.Grads g = bn.backwardTrain(x, gamma, x, r.mean(), r.invStd(), true, false, false);
        assertNull(g.dgamma());
        assertNull(g.dbeta());
        g = bn.backwardInference(x, gamma, Tensor.zeros(2), Tensor.uniform(3, 1, 2, 2), x, false, false, true);
        assertNull(g.dx());
        assertNull(g.dgamma());
    }

    @Test
    void inferenceGradientsMatchCentralDifferences() {
        int[] xs = {2, 3, 3, 4};
        Tensor x = Tensor.uniform(1, -1, 2, xs);
        Tensor gamma = Tensor.uniform(2, 0.5f, 2, 3);
        Tensor beta = Tensor.uniform(3, -1, 1, 3);
        Tensor mean = Tensor.uniform(5, -0.5f, 0.5f, 3);
        Tensor var = Tensor.uniform(6, 0.5f, 2, 3);
        Tensor u = Tensor.uniform(4, -1, 1, xs);
        BatchNorm2d.Grads g = bn.backwardInference(x, gamma, mean, var, u, true, true, true);
        assertGradient("inference dx", () -> bn.forwardInference(x, gamma, beta, mean, var), x, g.dx(), u,
                EPS_LINEAR, TOL_LINEAR);
        assertGradient("inference dgamma", () -> bn.forwardInference(x, gamma, beta, mean, var), gamma, g.dgamma(), u,
                EPS_LINEAR, TOL_LINEAR);
        assertGradient("inference dbeta", () -> bn.forwardInference(x, gamma, beta, mean, var), beta, g.dbeta(), u,
                EPS_LINEAR, TOL_LINEAR);
    }

    /**
     * x (2,2,1,3): channel 0 holds {1,2,3,4,5,6} (mean 3.5, sum of squared deviations 17.5, so biased var 17.5/6,
     * unbiased 17.5/5 = 3.5); channel 1 holds {0,0,0,2,2,2} (mean 1, squared deviations 6: biased 1, unbiased 1.2).
     * PyTorch's rule with momentum 0.1 from running mean (1, 0) and var (2, 1):
     * mean = 0.9*(1, 0) + 0.1*(3.5, 1) = (1.25, 0.1); var = 0.9*(2, 1) + 0.1*(3.5, 1.2) = (2.15, 1.02)
     * (torch.nn.BatchNorm2d prints the same).
     */
    @Test
    void runningStatisticsFollowPyTorchsRule() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 0, 0, 0, 4, 5, 6, 2, 2, 2}, 2, 2, 1, 3);
        Tensor rm = Tensor.of(new float[] {1, 0}, 2), rv = Tensor.of(new float[] {2, 1}, 2);
        BatchNorm2d.TrainResult r = bn.forwardTrain(x, null, null, rm, rv);
        assertArrayEquals(new float[] {1.25f, 0.1f}, rm.data, VALUE_TOL);
        assertArrayEquals(new float[] {2.15f, 1.02f}, rv.data, VALUE_TOL);
        assertArrayEquals(new float[] {3.5f, 1f}, r.mean(), VALUE_TOL);
        assertEquals(1 / Math.sqrt(17.5 / 6 + 1e-5), r.invStd()[0], VALUE_TOL);
        assertEquals(1 / Math.sqrt(1 + 1e-5), r.invStd()[1], VALUE_TOL);
        // normalized with the biased variance (values printed by PyTorch's BatchNorm2d on this input)
        assertArrayEquals(new float[] {-1.4638476f, -0.87830865f, -0.2927696f, -0.999995f, -0.999995f, -0.999995f,
                0.2927694f, 0.8783085f, 1.4638475f, 0.999995f, 0.999995f, 0.999995f}, r.y().data, VALUE_TOL);
    }

    @Test
    void inferenceIsTheAffineMap() {
        Tensor x = Tensor.of(new float[] {1, 3, 5, 7}, 2, 2);
        Tensor y = bn.forwardInference(x, Tensor.of(new float[] {2, 1}, 2), Tensor.of(new float[] {1, -1}, 2),
                Tensor.of(new float[] {1, 3}, 2), Tensor.of(new float[] {4, 1}, 2));
        double s0 = 1 / Math.sqrt(4 + 1e-5), s1 = 1 / Math.sqrt(1 + 1e-5);
        assertArrayEquals(new float[] {(float) (1), (float) (-1), (float) (2 * 4 * s0 + 1), (float) (4 * s1 - 1)},
                y.data, VALUE_TOL);
    }

    @Test
    void refusesBadShapesNamingThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bn.forwardTrain(Tensor.zeros(2, 3, 4), null, null, null, null));
        assertTrue(e.getMessage().startsWith("BatchNorm2d: ") && e.getMessage().contains("(2,3,4)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> bn.forwardTrain(Tensor.zeros(2, 3, 2, 2), Tensor.zeros(4), null, null, null));
        assertTrue(e.getMessage().contains("(4)") && e.getMessage().contains("(2,3,2,2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> bn.forwardTrain(Tensor.zeros(1, 3, 1, 1), null, null, null, null));
        assertTrue(e.getMessage().contains("more than 1 value per channel"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> bn.forwardTrain(Tensor.zeros(2, 3), null, null, Tensor.zeros(3), null));
        assertThrows(IllegalArgumentException.class,
                () -> bn.backwardTrain(Tensor.zeros(2, 3), null, Tensor.zeros(3, 2), new float[3], new float[3],
                        true, true, true));
        assertThrows(IllegalArgumentException.class,
                () -> bn.backwardTrain(Tensor.zeros(2, 3), null, Tensor.zeros(2, 3), new float[2], new float[3],
                        true, true, true));
        assertThrows(IllegalArgumentException.class, () -> new BatchNorm2d(1e-5f, 1.5f));
    }
}
