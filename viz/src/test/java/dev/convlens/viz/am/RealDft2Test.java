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
 * spectrum, real part), against Commons Math's FastFourierTransformer (powers of two), against
 * the separable matrix DFT of its Javadoc in double (forward and adjoint, odd, prime and real
 * sizes), and its adjoint against the forward (the dot-product test).
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
    @CsvSource({"4, 6", "5, 7", "6, 5", "1, 1", "2, 2", "7, 7", "13, 13", "3, 5", "37, 101", "224, 224"})
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

    /**
     * The Javadoc's formulas as the old O(h w (h + w)) matrix DFT, in double: the forward
     * {@code Z = E_h X}, {@code x = norm sum_kx c_kx Re(Z e^{+t})}, and the adjoint written out.
     */
    static final class MatrixDft2 {
        final int h, w, fw;
        final double[] cH, sH, cW, sW; // (h, h) cos/sin 2 pi y ky / h; (fw, w) c_kx cos/sin 2 pi kx n / w
        final double norm;

        MatrixDft2(int h, int w) {
            this.h = h;
            this.w = w;
            this.fw = w / 2 + 1;
            cH = new double[h * h];
            sH = new double[h * h];
            for (int y = 0; y < h; y++)
                for (int ky = 0; ky < h; ky++) {
                    double t = 2 * Math.PI * (double) ((long) y * ky % h) / h;
                    cH[y * h + ky] = Math.cos(t);
                    sH[y * h + ky] = Math.sin(t);
                }
            cW = new double[fw * w];
            sW = new double[fw * w];
            for (int kx = 0; kx < fw; kx++)
                for (int n = 0; n < w; n++) {
                    double t = 2 * Math.PI * (double) ((long) kx * n % w) / w;
                    double c = kx == 0 || (w % 2 == 0 && kx == w / 2) ? 1 : 2;
                    cW[kx * w + n] = c * Math.cos(t);
                    sW[kx * w + n] = c * Math.sin(t);
                }
            norm = 1 / Math.sqrt((double) h * w);
        }

        double[] inverse(float[] s) {
            double[] zr = new double[h * fw], zi = new double[h * fw], x = new double[h * w];
            for (int y = 0; y < h; y++)
                for (int ky = 0; ky < h; ky++)
                    for (int kx = 0; kx < fw; kx++) {
                        double c = cH[y * h + ky], sn = sH[y * h + ky], re = s[ky * fw + kx], im = s[h * fw + ky * fw + kx];
                        zr[y * fw + kx] += c * re - sn * im;
                        zi[y * fw + kx] += sn * re + c * im;
                    }
            for (int y = 0; y < h; y++)
                for (int kx = 0; kx < fw; kx++)
                    for (int n = 0; n < w; n++)
                        x[y * w + n] += norm * (zr[y * fw + kx] * cW[kx * w + n] - zi[y * fw + kx] * sW[kx * w + n]);
            return x;
        }

        /** (2, h, fw): dRe, dIm. */
        double[] adjoint(float[] dx) {
            double[] zr = new double[h * fw], zi = new double[h * fw], ds = new double[2 * h * fw];
            for (int y = 0; y < h; y++)
                for (int kx = 0; kx < fw; kx++)
                    for (int n = 0; n < w; n++) {
                        zr[y * fw + kx] += norm * dx[y * w + n] * cW[kx * w + n];
                        zi[y * fw + kx] -= norm * dx[y * w + n] * sW[kx * w + n];
                    }
            for (int ky = 0; ky < h; ky++)
                for (int y = 0; y < h; y++)
                    for (int kx = 0; kx < fw; kx++) {
                        double c = cH[ky * h + y], sn = sH[ky * h + y], gr = zr[y * fw + kx], gi = zi[y * fw + kx];
                        ds[ky * fw + kx] += c * gr + sn * gi;
                        ds[h * fw + ky * fw + kx] += c * gi - sn * gr;
                    }
            return ds;
        }
    }

    static double relL2(double[] want, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            double d = got[i] - want[i];
            num += d * d;
            den += want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    /** Odd sizes, primes (13: generic butterfly; 37, 101: Bluestein), 1 and 2, and the Fourier image's 224. */
    @ParameterizedTest(name = "{0}x{1}")
    @CsvSource({"1, 1", "1, 2", "2, 1", "2, 2", "7, 7", "13, 13", "3, 5", "5, 3", "37, 101", "224, 224", "64, 224"})
    void forwardAndAdjointMatchTheMatrixDft(int h, int w) {
        RealDft2 dft = new RealDft2(h, w);
        MatrixDft2 ref = new MatrixDft2(h, w);
        Tensor s = Tensor.uniform(5, -1, 1, 2, h, dft.fw);
        float[] x = new float[3 + h * w];
        dft.inverse(s.data, 0, h * dft.fw, x, 3, 1);
        double ex = relL2(ref.inverse(s.data), java.util.Arrays.copyOfRange(x, 3, x.length));
        Tensor u = Tensor.uniform(6, -1, 1, h, w);
        float[] ds = new float[2 * h * dft.fw + 5];
        java.util.Arrays.fill(ds, Float.NaN); // all of it overwritten
        dft.adjoint(u.data, 0, ds, 5, 5 + h * dft.fw, 1);
        double ea = relL2(ref.adjoint(u.data), java.util.Arrays.copyOfRange(ds, 5, ds.length));
        System.out.printf("RealDft2 %dx%d: forward rel L2 %.1e, adjoint %.1e%n", h, w, ex, ea);
        assertTrue(ex <= TOL && ea <= TOL, h + "x" + w + ": relative L2 forward " + ex + ", adjoint " + ea);
    }
}
