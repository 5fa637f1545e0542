package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.testing.GradCheck;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of every hand-written backward of the parameterizations, the
 * robustness transforms and the regularizers, on tiny images.
 */
class ParamGradTest {
    /** Central differences in float32 with step EPS on smooth maps: truncation ~EPS^2, rounding ~1e-7/EPS. */
    static final double EPS = 1e-2, TOL = 2e-3;
    /** Linear maps (the transforms): central differences are exact up to float rounding. */
    static final double LINEAR_TOL = 1e-4;

    @Test
    void pixelSigmoid() {
        PixelParam p = new PixelParam(Tensor.uniform(1, -2, 2, 2, 3, 4, 5), true, true);
        Tensor u = Tensor.uniform(2, -1, 1, 2, 3, 4, 5);
        p.image(ONE);
        Tensor ana = p.backward(ONE, u);
        GradCheck.assertGradient("pixel (decorrelated, sigmoid)", () -> p.image(ONE), p.param(), ana, u, EPS, TOL);
    }

    @Test
    void pixelPlainIsIdentity() {
        PixelParam p = new PixelParam(Tensor.uniform(1, 0, 1, 1, 3, 2, 2), false, false);
        assertEquals(p.param().data[5], p.image(ONE).data[5]);
        Tensor u = Tensor.uniform(2, -1, 1, 1, 3, 2, 2);
        p.image(ONE);
        assertEquals(u.data[7], p.backward(ONE, u).data[7]);
    }

    @Test
    void fourier() {
        for (Kernels k : List.of(ONE, TWO))
            for (int[] hw : new int[][] {{6, 8}, {5, 7}}) {
                FourierParam p = FourierParam.random(3, 2, hw[0], hw[1], 0.1);
                Tensor u = Tensor.uniform(4, -1, 1, 2, 3, hw[0], hw[1]);
                p.image(k);
                Tensor ana = p.backward(k, u);
                GradCheck.assertGradient("fourier " + hw[0] + "x" + hw[1] + " on " + k.name(), () -> p.image(k), p.param(), ana, u,
                        EPS, TOL);
            }
    }

    /**
     * The planes' transforms as parallel tasks and the colour stage in chunks of pixels (96 x 96: two
     * chunks an image on two threads) give the bits of one thread, image and gradient.
     */
    @Test
    void fourierOnTwoThreadsIsBitwiseOne() {
        FourierParam one = FourierParam.random(14, 2, 96, 96, 0.1), two = FourierParam.random(14, 2, 96, 96, 0.1);
        Tensor u = Tensor.uniform(15, -1, 1, 2, 3, 96, 96);
        org.junit.jupiter.api.Assertions.assertArrayEquals(one.image(ONE).data, two.image(TWO).data);
        org.junit.jupiter.api.Assertions.assertArrayEquals(one.backward(ONE, u).data, two.backward(TWO, u).data);
    }

    /** The optimizers' steps in chunks over two threads (100,000 elements: eight chunks) give the bits of one thread. */
    @Test
    void optimizerStepsOnTwoThreadsAreBitwiseOne() {
        for (boolean adam : new boolean[] {true, false}) {
            Optimizer one = adam ? new Optimizer.Adam(0.05) : new Optimizer.Sgd(0.5);
            Optimizer two = adam ? new Optimizer.Adam(0.05) : new Optimizer.Sgd(0.5);
            float[] p1 = Tensor.uniform(16, -1, 1, 100_000).data, p2 = p1.clone();
            for (int step = 0; step < 3; step++) {
                float[] g = Tensor.uniform(17 + step, -1, 1, 100_000).data;
                one.step(ONE, p1, g);
                two.step(TWO, p2, g);
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(p1, p2, adam ? "Adam" : "SGD");
        }
    }

    @Test
    void colourMatrixIsLucids() {
        ToRgb rgb = new ToRgb(true, false);
        // Lucid: max column norm of color_correlation_svd_sqrt is the first column's, sqrt(.26^2+.27^2+.27^2)
        double n = Math.sqrt(0.26 * 0.26 + 0.27 * 0.27 + 0.27 * 0.27);
        assertEquals(0.09 / n, rgb.m.get(1, 0), 1e-6); // column 1, row 0
        assertEquals(-0.05 / n, rgb.m.get(2, 1), 1e-6);
    }

    /** One thread (the transforms' serial loops) and the SIMD layer's two (Resample in row bands). */
    static final Kernels ONE = new ReferenceKernels(), TWO = Backend.select("simd", 2);

    @Test
    void transforms() {
        int[] shape = {2, 3, 7, 9};
        List<Transform> all = List.of(new Transform.Pad(2, 0.5f), new Transform.Crop(1, 2, 4, 5),
                Transform.Resample.scale(1.1, 7, 9), Transform.Resample.scale(0.9, 7, 9),
                Transform.Resample.rotate(10, 7, 9), Transform.Resample.rotate(-7, 7, 9));
        for (Kernels k : List.of(ONE, TWO))
            for (Transform t : all) {
                Tensor x = Tensor.uniform(5, 0, 1, shape);
                Tensor u = Tensor.uniform(6, -1, 1, t.outShape(shape));
                Tensor ana = t.backward(k, u, shape);
                GradCheck.assertGradient(t + " on " + k.name(), () -> t.forward(k, x), x, ana, u, EPS, LINEAR_TOL);
            }
    }

    /**
     * Resample on two threads against one, on a picture large enough for both bands to scatter into
     * the same input rows (10 degrees over 64 columns: ~11 rows): the forward to the bit (each output
     * is computed alone), the backward to float rounding (two partial sums per input pixel).
     */
    @Test
    void resampleBandsAgreeWithOneThread() {
        int[] shape = {1, 3, 40, 64};
        Transform.Resample r = Transform.Resample.rotate(10, 40, 64);
        Tensor x = Tensor.uniform(11, 0, 1, shape), dy = Tensor.uniform(12, -1, 1, r.outShape(shape));
        org.junit.jupiter.api.Assertions.assertArrayEquals(r.forward(ONE, x).data, r.forward(TWO, x).data);
        Tensor one = r.backward(ONE, dy, shape), two = r.backward(TWO, dy, shape);
        assertTrue(GradCheck.relL2(one.data, two.data) < 1e-6, "backward on 2 threads vs 1: " + GradCheck.relL2(one.data, two.data));
    }

    @Test
    void resampleIdentityAndRotationGeometry() {
        Tensor x = Tensor.uniform(7, 0, 1, 1, 1, 6, 6);
        Tensor same = Transform.Resample.scale(1, 6, 6).forward(ONE, x);
        assertTrue(GradCheck.relL2(x.data, same.data) < 1e-7);
        // 90 degrees about the centre of an even square maps pixel centres onto pixel centres
        Tensor r = Transform.Resample.rotate(90, 6, 6).forward(ONE, x);
        Tensor back = Transform.Resample.rotate(-90, 6, 6).forward(ONE, r);
        assertTrue(GradCheck.relL2(x.data, back.data) < 1e-6);
    }

    @Test
    void sampledChainHasLucidSizes() {
        List<Transform> ts = Robustness.LUCID.sample(new java.util.Random(1), 32, 32);
        int[] s = {1, 3, 32, 32};
        for (Transform t : ts) s = t.outShape(s);
        assertTrue(s[2] >= Math.round(0.9 * (32 + 24 - 8)) - 4 && s[2] <= Math.round(1.1 * (32 + 24 - 8)) - 4, "size " + s[2]);
    }

    @Test
    void totalVariationAndL2() {
        Tensor x = Tensor.uniform(8, 0, 1, 2, 3, 5, 4);
        Tensor u = Tensor.of(new float[] {1}, 1);
        Tensor ana = Tensor.zeros(x.shape());
        Regularizers.totalVariation(x, 0.3, ana);
        Regularizers.l2(x, 0.7, ana);
        for (int i = 0; i < ana.data.length; i++) ana.data[i] = -ana.data[i]; // the functions add -lambda dR/dx
        GradCheck.assertGradient("0.3 TV + 0.7 L2", () -> {
            Tensor scratch = Tensor.zeros(x.shape());
            return Tensor.of(new float[] {(float) (0.3 * Regularizers.totalVariation(x, 0, scratch)
                    + 0.7 * Regularizers.l2(x, 0, scratch))}, 1);
        }, x, ana, u, 1e-3, TOL);
    }

    @Test
    void blurKeepsMeanAndSmooths() {
        Tensor x = Tensor.uniform(9, 0, 1, 1, 1, 16, 16);
        Tensor y = x.copy();
        Regularizers.gaussianBlur(y, 1.0);
        double tvX = Regularizers.totalVariation(x, 0, Tensor.zeros(x.shape()));
        double tvY = Regularizers.totalVariation(y, 0, Tensor.zeros(y.shape()));
        assertTrue(tvY < 0.5 * tvX, "blur should smooth: TV " + tvX + " -> " + tvY);
        FourierParam f = FourierParam.random(10, 1, 8, 8, 0.1);
        f.image(ONE);
        Tensor before = f.param().copy();
        f.blur(1.0);
        assertEquals(before.data[0], f.param().data[0], 1e-7); // DC untouched
    }
}
