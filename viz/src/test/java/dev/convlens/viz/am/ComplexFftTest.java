package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
    static final int LANES = 3;

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 27, 31, 37, 45, 64, 74, 97, 112, 224, 245, 303})
    void matchesDefinition(int n) {
        Tensor x = Tensor.uniform(n, -1, 1, 2, n, LANES);
        float[] re = java.util.Arrays.copyOfRange(x.data, 0, n * LANES), im = java.util.Arrays.copyOfRange(x.data, n * LANES, 2 * n * LANES);
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
                double er = re[k * LANES + b] - sr, ei = im[k * LANES + b] - si;
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
        float[] re = java.util.Arrays.copyOfRange(x.data, 0, n * LANES), im = java.util.Arrays.copyOfRange(x.data, n * LANES, 2 * n * LANES);
        ComplexFft f = new ComplexFft(n, LANES);
        f.forward(re, im);
        f.forward(im, re);
        for (int i = 0; i < n * LANES; i++) {
            re[i] /= n;
            im[i] /= n;
        }
        assertArrayEquals(java.util.Arrays.copyOfRange(x.data, 0, n * LANES), re, (float) TOL * 4);
        assertArrayEquals(java.util.Arrays.copyOfRange(x.data, n * LANES, 2 * n * LANES), im, (float) TOL * 4);
    }

    @org.junit.jupiter.api.Test
    void factorsPutFoursFirst() {
        assertArrayEquals(new int[] {4, 4, 2, 7}, ComplexFft.factors(224));
        assertArrayEquals(new int[] {4, 4, 7}, ComplexFft.factors(112));
        assertArrayEquals(new int[] {3, 101}, ComplexFft.factors(303));
        assertArrayEquals(new int[0], ComplexFft.factors(1));
    }
}
