package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Linear CKA: its defining invariances, and numpy's feature-space formula (oracle_cka.py). */
class CkaTest {
    /** Double accumulation of float32 inputs: only the final rounding of O(n^2 p) sums remains. */
    static final double EXACT_TOL = 1e-9;
    /** Invariance checks transform the data in float32: each transformed value carries a relative rounding of ~6e-8. */
    static final double INVARIANCE_TOL = 1e-6;
    /** numpy's value is read back from .npy as float32 (relative rounding 6e-8); both sides accumulate in double. */
    static final double ORACLE_TOL = 1e-6;

    private static float[] gaussian(long seed, int n, int p) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n * p];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (1 + (i % p) * 0.3) + (i % p) * 0.1);
        return x;
    }

    /** A random p x p orthogonal matrix: Gram-Schmidt on Gaussian columns, in double. */
    private static double[] orthogonal(long seed, int p) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] q = new double[p * p]; // columns q[:, j]
        for (int j = 0; j < p; j++) {
            double[] v = new double[p];
            for (int i = 0; i < p; i++) v[i] = r.nextGaussian();
            for (int k = 0; k < j; k++) {
                double d = 0;
                for (int i = 0; i < p; i++) d += v[i] * q[i * p + k];
                for (int i = 0; i < p; i++) v[i] -= d * q[i * p + k];
            }
            double norm = 0;
            for (double e : v) norm += e * e;
            norm = Math.sqrt(norm);
            for (int i = 0; i < p; i++) q[i * p + j] = v[i] / norm;
        }
        return q;
    }

    /** x (n, p) times m (p, q), rounded to float32. */
    private static float[] times(float[] x, int n, int p, double[] m, int q) {
        float[] y = new float[n * q];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < q; j++) {
                double s = 0;
                for (int k = 0; k < p; k++) s += x[i * p + k] * m[k * q + j];
                y[i * q + j] = (float) s;
            }
        return y;
    }

    @Test
    void aRepresentationIsFullyAlignedWithItself() {
        int n = 30, p = 17;
        float[] x = gaussian(1, n, p);
        assertEquals(1.0, Cka.linear(x, n, p, x, p), EXACT_TOL);
    }

    @Test
    void invariantToOrthogonalTransformsAndIsotropicScaling() {
        int n = 40, p = 13, q = 9;
        float[] x = gaussian(2, n, p);
        float[] y = gaussian(3, n, q);
        for (int i = 0; i < y.length; i++) y[i] += 0.7f * x[(i / q) * p + i % q]; // related to x, not equal
        double base = Cka.linear(x, n, p, y, q);
        assertTrue(base > 0.05 && base < 0.95, "a partly related pair, CKA " + base);

        float[] xq = times(x, n, p, orthogonal(4, p), p);
        assertEquals(base, Cka.linear(xq, n, p, y, q), INVARIANCE_TOL, "X Q, Q orthogonal");
        float[] yq = times(y, n, q, orthogonal(5, q), q);
        assertEquals(base, Cka.linear(x, n, p, yq, q), INVARIANCE_TOL, "Y Q, Q orthogonal");

        float[] xs = x.clone(), ys = y.clone();
        for (int i = 0; i < xs.length; i++) xs[i] *= 3.5f;
        for (int i = 0; i < ys.length; i++) ys[i] *= -0.02f;
        assertEquals(base, Cka.linear(xs, n, p, ys, q), INVARIANCE_TOL, "3.5 X and -0.02 Y");
        assertEquals(1.0, Cka.linear(x, n, p, times(xs, n, p, orthogonal(6, p), p), p), INVARIANCE_TOL, "X against 3.5 X Q");

        float[] shifted = x.clone();
        for (int i = 0; i < shifted.length; i++) shifted[i] += 5f; // centring removes a common offset
        assertEquals(base, Cka.linear(shifted, n, p, y, q), INVARIANCE_TOL, "X + 5");
    }

    @Test
    void notInvariantToAnisotropicScaling() {
        int n = 40, p = 6;
        float[] x = gaussian(7, n, p);
        float[] stretched = x.clone();
        for (int i = 0; i < n; i++) stretched[i * p] *= 10f; // one feature 10x: not a similarity transform
        assertTrue(Cka.linear(x, n, p, stretched, p) < 0.9);
    }

    @Test
    void tensorsAreFlattenedPerExample() {
        Tensor x = Tensor.of(gaussian(8, 12, 2 * 3 * 3), 12, 2, 3, 3);
        Tensor y = Tensor.of(gaussian(9, 12, 5), 12, 5);
        assertEquals(Cka.linear(x.data, 12, 18, y.data, 5), Cka.linear(x, y), 0.0);
        String msg = assertThrows(IllegalArgumentException.class, () -> Cka.linear(x, Tensor.zeros(11, 5))).getMessage();
        assertTrue(msg.contains("Cka") && msg.contains("(12,2,3,3)") && msg.contains("(11,5)"), msg);
        assertTrue(Double.isNaN(Cka.linear(x, Tensor.zeros(12, 5))), "a constant layer has no direction");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tall", "wide", "square"})
    void matchesNumpysFeatureSpaceFormula(String name) {
        Golden gold = new Golden(Oracle.get().run("oracle_cka.py").resolve(name));
        Tensor x = gold.tensor("x"), y = gold.tensor("y");
        double want = gold.floats("cka")[0], got = Cka.linear(x, y);
        assertEquals(want, got, ORACLE_TOL * want, name + ": numpy " + want + ", convlens " + got);
    }
}
