package dev.convlens.tensor.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GemmTest {
    /**
     * packA is a pure copy: element (i, p) of A lands at panel i/MR, {@code p*MR + i%MR}, and rows past
     * m are zero. Checked against that definition for row-major A (the 8x8 transposes and their
     * scalar tail), column-major A (the vector copy) and a strided one, many times so the JIT compiles it.
     */
    @ParameterizedTest(name = "m={0} k={1} rs={2} cs={3}")
    @CsvSource({"8,8,8,1", "16,64,64,1", "24,67,70,1", "13,21,21,1", "7,5,9,1", "64,2304,2304,1",
                "16,33,1,16", "16,33,1,19", "9,12,3,40"})
    void packAPutsEveryElementWhereTheKernelReadsIt(int m, int k, int rs, int cs) {
        int len = 3 + (m - 1) * rs + (k - 1) * cs + 1 + 8;
        float[] src = new float[len];
        for (int i = 0; i < len; i++) src[i] = i + 1;                  // every value distinct and non-zero
        int panels = (m + Gemm.MR - 1) / Gemm.MR, off = 3;
        float[] dst = new float[off + panels * k * Gemm.MR + 5];
        for (int round = 0; round < 300; round++) {
            java.util.Arrays.fill(dst, -1f);
            Gemm.packA(src, off, rs, cs, m, k, dst, off);
        }
        // packA reads src from off: shift the expectation by the same offset
        for (int i = 0; i < panels * Gemm.MR; i++)
            for (int p = 0; p < k; p++) {
                float want = i < m ? src[off + i * rs + p * cs] : 0f;
                assertEquals(want, dst[off + (i / Gemm.MR) * k * Gemm.MR + p * Gemm.MR + i % Gemm.MR],
                        "A(" + i + ", " + p + ")");
            }
        assertEquals(-1f, dst[off - 1]);
        assertEquals(-1f, dst[off + panels * k * Gemm.MR]);
    }
}
