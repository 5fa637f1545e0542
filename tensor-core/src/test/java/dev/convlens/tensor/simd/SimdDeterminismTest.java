package dev.convlens.tensor.simd;

import static dev.convlens.tensor.simd.Gemm.VL;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The SIMD kernels give the same bits whether the JVM interprets them or runs them compiled by
 * C1 or C2, so training is bit-reproducible run to run and across JDK versions (and a resumed run
 * equals an uninterrupted one). The Vector API leaves the order of a float
 * {@code reduceLanes(ADD)} open, and from JDK 24 on C2 on x86 adds the lanes as a tree
 * (JDK-8337062) while the interpreter and C1 add them in lane order: a kernel that used it would
 * change its result once C2 compiled it. The test calls a kernel once (interpreted) and then
 * enough times for C2 to compile it (tiered compilation: about 15,000 calls; compiled in the
 * background), and asserts every result equals, bit for bit, the lane-order sum.
 */
class SimdDeterminismTest {
    /** Calls after the first: well past the C2 threshold, and ~0.1 s even interpreted. */
    static final int CALLS = 200_000;

    /**
     * VL lanes {1, u, u, ..., u} with u = 2^-24 (half an ulp of 1), then 3 tail floats u. In lane
     * order every {@code 1 + u} rounds (to even) back to 1, so the sum is exactly 1; any order that
     * adds two u's before they meet the 1 gives {@code 1 + 2^-23} or more.
     */
    static float[] halfUlps() {
        float u = 0x1p-24f;
        float[] x = new float[VL + 3];
        java.util.Arrays.fill(x, u);
        x[0] = 1f;
        return x;
    }

    /** The specification of {@link Gemm#sum}: VL lane sums over whole vectors, the lanes added in order 0..VL-1 from 0, then the tail. */
    static float laneOrderSum(float[] x, int s, int len) {
        float[] lanes = new float[VL];
        int i = 0;
        for (; i + VL <= len; i += VL)
            for (int l = 0; l < VL; l++) lanes[l] += x[s + i + l];
        float t = 0f;
        for (int l = 0; l < VL; l++) t += lanes[l];
        for (; i < len; i++) t += x[s + i];
        return t;
    }

    @Test
    void sumAddsTheLanesInOrderInterpretedAndCompiled() {
        float[] x = halfUlps();
        float expected = laneOrderSum(x, 0, x.length);
        assertEquals(1f, expected, "the lane-order sum of the half-ulp data");
        int bits = Float.floatToRawIntBits(expected);
        assertEquals(bits, Float.floatToRawIntBits(Gemm.sum(x, 0, x.length)), "first (interpreted) call");
        for (int call = 1; call <= CALLS; call++) {
            float got = Gemm.sum(x, 0, x.length);
            if (Float.floatToRawIntBits(got) != bits)
                assertEquals(expected, got, "Gemm.sum changed its result at call " + call + " (after JIT compilation?)");
        }
    }
}
