package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link ComplexFft} against the definition in double, over lengths that exercise every path:
 * 1, radices 2, 3, 4 and their mixes, the generic odd butterfly (5, 7, 11, 13, 31, 5 * 7 * 7),
 * Bluestein (37, 97, 2 * 37, 101 * 3), and the sizes the Fourier image uses (112, 224).
 */
class ComplexFftTest {
    /**
     * float32 FFT of O(1) values: each output passes through log n butterflies, error ~ 1e-7
     * relative per pass; Bluestein adds two FFTs of length >= 2n. Measured <= 1.9e-7 (n = 97).
     */
    static final double TOL = 1e-6;
    /** Two float32 FFTs of O(1) values, elementwise. */
    static final double ROUNDTRIP_TOL = 1e-6;
    static final int LANES = 3;

    /** n rows of LANES from flat data at off. */
    static float[][] rows(float[] data, int off, int n) {
        float[][] r = new float[n][];
        for (int j = 0; j < n; j++) r[j] = java.util.Arrays.copyOfRange(data, off + j * LANES, off + (j + 1) * LANES);
        return r;
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 27, 31, 37, 45, 64, 74, 97, 112, 224, 245, 303})
    void matchesDefinition(int n) {
        Tensor x = Tensor.uniform(n, -1, 1, 2, n, LANES);
        float[][] re = rows(x.data, 0, n), im = rows(x.data, n * LANES, n);
        new ComplexFft(n, LANES).forward(re, im);
        double num = 0, den = 0;
        for (int b = 0; b < LANES; b++)
            for (int k = 0; k < n; k++) {
                double sr = 0, si = 0;
                for (int j = 0; j < n; j++) {
                    double t = -2 * Math.PI * (double) ((long) j * k % n) / n, c = Math.cos(t), s = Math.sin(t);
                    double a = x.data[j * LANES + b], d = x.data[n * LANES + j * LANES + b];
                    sr += a * c - d * s;
                    si += a * s + d * c;
                }
                double er = re[k][b] - sr, ei = im[k][b] - si;
                num += er * er + ei * ei;
                den += sr * sr + si * si;
            }
        double err = Math.sqrt(num / Math.max(den, 1e-30));
        System.out.printf("ComplexFft n=%d rel L2 %.2e%n", n, err);
        assertTrue(err <= TOL, "n=" + n + ": relative L2 " + err);
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 224, 37})
    void swappedPlanesGiveTheInverse(int n) {
        // IDFT(DFT(x)) = n x
        Tensor x = Tensor.uniform(7, -1, 1, 2, n, LANES);
        float[][] re = rows(x.data, 0, n), im = rows(x.data, n * LANES, n);
        ComplexFft f = new ComplexFft(n, LANES);
        f.forward(re, im);
        f.forward(im, re);
        for (int j = 0; j < n; j++)
            for (int b = 0; b < LANES; b++) {
                assertEquals(x.data[j * LANES + b], re[j][b] / n, ROUNDTRIP_TOL);
                assertEquals(x.data[n * LANES + j * LANES + b], im[j][b] / n, ROUNDTRIP_TOL);
            }
    }

    @org.junit.jupiter.api.Test
    void factorsPutFoursFirst() {
        assertArrayEquals(new int[] {4, 4, 2, 7}, ComplexFft.factors(224));
        assertArrayEquals(new int[] {4, 4, 7}, ComplexFft.factors(112));
        assertArrayEquals(new int[] {3, 101}, ComplexFft.factors(303));
        assertArrayEquals(new int[0], ComplexFft.factors(1));
    }
}
