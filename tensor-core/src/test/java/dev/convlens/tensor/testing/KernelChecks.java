package dev.convlens.tensor.testing;

import static dev.convlens.tensor.testing.GradCheck.maxAbsRel;
import static dev.convlens.tensor.testing.GradCheck.relL2;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.kernels.ConvGeom;
import java.util.Arrays;

/** What the parity tests of every kernel layer (simd, opencl) against the reference share. */
public final class KernelChecks {
    private KernelChecks() {}

    /** Relative L2 error: float32 sums of a few hundred products reorder to ~1e-6; 1e-5 leaves margin. */
    public static final double REL_L2 = 1e-5;
    /** Worst element error, relative to the largest reference value: a wrong index shows up as O(1). */
    public static final double MAX_ABS_REL = 1e-4;

    /**
     * A convolution from 16 numbers: n, c, h, w, k, r, s, strideH, strideW, padTop, padLeft,
     * padBottom, padRight, dilH, dilW, groups.
     */
    public static ConvGeom geom(int[] v) {
        return ConvGeom.of("test", v[0], v[1], v[2], v[3], v[4], v[1] / v[15], v[5], v[6], v[7], v[8],
                v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
    }

    /** An output buffer full of NaN: an element a kernel forgets to write fails the comparison. */
    public static float[] nans(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    /** {@code actual} within {@link #REL_L2} and {@link #MAX_ABS_REL} of {@code expected}. */
    public static void assertClose(String what, float[] expected, float[] actual) {
        double rel = relL2(expected, actual), max = maxAbsRel(expected, actual);
        assertTrue(rel <= REL_L2, what + ": relative L2 error " + rel + " > " + REL_L2);
        assertTrue(max <= MAX_ABS_REL, what + ": max abs error / max|ref| " + max + " > " + MAX_ABS_REL);
    }
}
