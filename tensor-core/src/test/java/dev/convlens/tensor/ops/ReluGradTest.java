package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Relu: GRADIENT against central differences; DECONVNET and GUIDED against their formulas on
 * hand-made inputs, where every combination of signs of x and dy occurs.
 */
class ReluGradTest {
    /** Relative L2 tolerance: ReLU is piecewise linear and no step crosses the kink, so only float32 rounding of L. */
    static final double TOL = 2e-3;
    /** Step below the distance to the kink. */
    static final double EPS = 1e-2;
    /** Inputs are kept at least this far from the kink at 0 (more than EPS). */
    static final float KINK_GAP = 0.05f;

    /** Moves every value of t away from 0 by KINK_GAP, keeping its sign. */
    static Tensor awayFromKink(Tensor t) {
        for (int i = 0; i < t.size(); i++) t.data[i] += t.data[i] >= 0 ? KINK_GAP : -KINK_GAP;
        return t;
    }

    @Test
    void gradientRuleMatchesCentralDifferences() {
        Tensor x = awayFromKink(Tensor.uniform(1, -1, 1, 2, 3, 4, 5));
        Tensor u = Tensor.uniform(2, -1, 1, 2, 3, 4, 5);
        Tensor dx = Relu.backward(Relu.Rule.GRADIENT, x, u);
        assertGradient("Relu GRADIENT", () -> Relu.forward(x), x, dx, u, EPS, TOL);
    }

    @Test
    void forwardIsMaxWithZero() {
        Tensor x = Tensor.of(new float[] {-2f, -0f, 0f, 0.5f, Float.NaN, 3f}, 2, 3);
        Tensor y = Relu.forward(x);
        assertArrayEquals(new int[] {2, 3}, y.shape());
        assertArrayEquals(new float[] {0f, 0f, 0f, 0.5f, Float.NaN, 3f}, y.data);
    }

    // x: negative, positive, zero (the kink), each against dy negative, positive, zero.
    static final float[] X = {-1f, -1f, -1f, 2f, 2f, 2f, 0f, 0f, 0f};
    static final float[] DY = {-3f, 4f, 0f, -3f, 4f, 0f, -3f, 4f, 0f};

    @Test
    void gradientRuleOnHandMadeInput() {
        Tensor dx = Relu.backward(Relu.Rule.GRADIENT, Tensor.of(X.clone(), 3, 3), Tensor.of(DY.clone(), 3, 3));
        // dy * 1[x > 0]; the derivative at the kink x = 0 is 0
        assertArrayEquals(new float[] {0, 0, 0, -3, 4, 0, 0, 0, 0}, dx.data);
    }

    @Test
    void deconvnetRuleRectifiesTheSignalAndIgnoresTheForwardMask() {
        Tensor dx = Relu.backward(Relu.Rule.DECONVNET, Tensor.of(X.clone(), 3, 3), Tensor.of(DY.clone(), 3, 3));
        // max(dy, 0), whatever x was
        assertArrayEquals(new float[] {0, 4, 0, 0, 4, 0, 0, 4, 0}, dx.data);
    }

    @Test
    void guidedRuleAppliesBothMasks() {
        Tensor dx = Relu.backward(Relu.Rule.GUIDED, Tensor.of(X.clone(), 3, 3), Tensor.of(DY.clone(), 3, 3));
        // max(dy, 0) * 1[x > 0]
        assertArrayEquals(new float[] {0, 0, 0, 0, 4, 0, 0, 0, 0}, dx.data);
    }

    @Test
    void rulesAgreeWithTheirFormulasOnRandomInput() {
        Tensor x = Tensor.uniform(3, -1, 1, 4, 7);
        Tensor dy = Tensor.uniform(4, -1, 1, 4, 7);
        Tensor g = Relu.backward(Relu.Rule.GRADIENT, x, dy);
        Tensor d = Relu.backward(Relu.Rule.DECONVNET, x, dy);
        Tensor gd = Relu.backward(Relu.Rule.GUIDED, x, dy);
        for (int i = 0; i < x.size(); i++) {
            assertEquals(x.data[i] > 0 ? dy.data[i] : 0f, g.data[i]);
            assertEquals(Math.max(dy.data[i], 0f), d.data[i]);
            assertEquals(x.data[i] > 0 ? Math.max(dy.data[i], 0f) : 0f, gd.data[i]);
            assertTrue(gd.data[i] >= 0);
        }
    }
}
