package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.testing.GradCheck;
import org.apache.commons.math3.complex.Complex;
import org.apache.commons.math3.transform.DftNormalization;
import org.apache.commons.math3.transform.FastFourierTransformer;
import org.apache.commons.math3.transform.TransformType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link RealDft2} against the definition (a naive 2-D inverse DFT of the Hermitian-extended
 * spectrum, real part), against Commons Math's FastFourierTransformer (powers of two), and its
 * adjoint against the forward (the dot-product test).
 */
class RealDft2Test {
    /** float32 transform of O(1) values, sums of a few hundred float products: rounding ~1e-6 relative. */
    static final double TOL = 1e-5;

    /** The full spectrum X[ky, kx] for kx in [0, w): the stored half, the rest by Hermitian symmetry. */
    static double[][][] full(float[] s, int h, int w) {
        int fw = w / 2 + 1;
        double[][][] x = new double[h][w][2];
        for (int ky = 0; ky < h; ky++)
            for (int kx = 0; kx < w; kx++) {
                if (kx < fw) {
                    x[ky][kx][0] = s[ky * fw + kx];
                    x[ky][kx][1] = s[h * fw + ky * fw + kx];
                } else {
                    int my = (h - ky) % h, mx = w - kx;
                    x[ky][kx][0] = s[my * fw + mx];
                    x[ky][kx][1] = -s[h * fw + my * fw + mx];
                }
            }
        return x;
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"4, 6", "5, 7", "6, 5", "1, 8", "7, 1", "8, 8"})
    void matchesNaiveDft(int h, int w) {
        RealDft2 dft = new RealDft2(h, w);
        Tensor s = Tensor.uniform(1, -1, 1, 2, h, dft.fw);
        float[] x = new float[h * w];
        dft.inverse(s.data, 0, h * dft.fw, x, 0, 1);
        double[][][] X = full(s.data, h, w);
        float[] ref = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int n = 0; n < w; n++) {
                double a = 0;
                for (int ky = 0; ky < h; ky++)
                    for (int kx = 0; kx < w; kx++) {
                        double t = 2 * Math.PI * ((double) ky * y / h + (double) kx * n / w);
                        a += X[ky][kx][0] * Math.cos(t) - X[ky][kx][1] * Math.sin(t);
                    }
                ref[y * w + n] = (float) (a / Math.sqrt(h * w));
            }
        double err = GradCheck.relL2(ref, x);
        assertTrue(err <= TOL, h + "x" + w + ": relative L2 " + err);
    }

    @Test
    void matchesCommonsMathFft() {
        int h = 8, w = 16;
        RealDft2 dft = new RealDft2(h, w);
        Tensor s = Tensor.uniform(2, -1, 1, 2, h, dft.fw);
        float[] x = new float[h * w];
        dft.inverse(s.data, 0, h * dft.fw, x, 0, 1);
        double[][][] X = full(s.data, h, w);
        FastFourierTransformer fft = new FastFourierTransformer(DftNormalization.UNITARY);
        Complex[][] rows = new Complex[h][];
        for (int ky = 0; ky < h; ky++) {
            Complex[] r = new Complex[w];
            for (int kx = 0; kx < w; kx++) r[kx] = new Complex(X[ky][kx][0], X[ky][kx][1]);
            rows[ky] = fft.transform(r, TransformType.INVERSE);
        }
        float[] ref = new float[h * w];
        for (int n = 0; n < w; n++) {
            Complex[] col = new Complex[h];
            for (int ky = 0; ky < h; ky++) col[ky] = rows[ky][n];
            Complex[] c = fft.transform(col, TransformType.INVERSE);
            for (int y = 0; y < h; y++) ref[y * w + n] = (float) c[y].getReal();
        }
        double err = GradCheck.relL2(ref, x);
        assertTrue(err <= TOL, "relative L2 " + err);
    }

    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"4, 6", "5, 7", "6, 5"})
    void adjointIsTheTranspose(int h, int w) {
        RealDft2 dft = new RealDft2(h, w);
        Tensor s = Tensor.uniform(3, -1, 1, 2, h, dft.fw);
        Tensor u = Tensor.uniform(4, -1, 1, h, w);
        float[] x = new float[h * w];
        dft.inverse(s.data, 0, h * dft.fw, x, 0, 0.7);
        float[] ds = new float[s.size()];
        dft.adjoint(u.data, 0, ds, 0, h * dft.fw, 0.7);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < x.length; i++) lhs += (double) x[i] * u.data[i];
        for (int i = 0; i < ds.length; i++) rhs += (double) ds[i] * s.data[i];
        assertTrue(Math.abs(lhs - rhs) <= TOL * Math.max(1, Math.abs(lhs)), "<Ax,u> " + lhs + " vs <x,A^T u> " + rhs);
    }
}
