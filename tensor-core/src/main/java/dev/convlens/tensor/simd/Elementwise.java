package dev.convlens.tensor.simd;

import static dev.convlens.tensor.simd.Gemm.S;
import static dev.convlens.tensor.simd.Gemm.VL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * The elementwise kernels (ReLU forward and backward, the sum of two tensors) over one range
 * {@code [i0, i1)} of flat arrays, in vectors of {@link Gemm#VL} floats, then the scalar tail.
 * {@link SimdKernels} cuts a large array into ranges for its threads. Every result is exact (a
 * value copied, zeroed, or one IEEE sum), so these give the bits of the definitions in
 * {@link dev.convlens.tensor.kernels.Kernels}, -0.0 and NaN included:
 * <pre>
 *   relu:          y  = x where !(x &lt;= 0) (x &gt; 0 or NaN, NaN kept as it is), else +0.0   = Math.max(x, 0f)
 *   relu backward: dx = dy where the masks pass ([x &gt; 0], [dy &gt; 0]; NaN never passes a mask), else +0.0
 * </pre>
 * A select (compare, then blend) rather than the vector {@code max}: it is the definition lane by
 * lane, with no question of which NaN or which zero a max returns.
 */
final class Elementwise {
    private Elementwise() {}

    /** Lanes 2L (or 2L+1) of the first vector to lanes L < VL/2, of the second to lanes L >= VL/2. */
    private static final VectorShuffle<Float> EVEN_LO = pick(0, 0), EVEN_HI = pick(0, VL / 2), ODD_LO = pick(1, 0),
            ODD_HI = pick(1, VL / 2);
    private static final VectorMask<Float> HIGH_HALF = S.indexInRange(-VL / 2, VL / 2);

    private static VectorShuffle<Float> pick(int parity, int from) {
        int[] idx = new int[VL];
        for (int l = 0; l < VL; l++) idx[l] = (2 * (l - from) + parity + 2 * VL) % VL;
        return VectorShuffle.fromValues(S, idx);
    }

    /**
     * Whether {@code x[i0, i1)} is all finite: {@code v - v} is 0 for a finite v and NaN for NaN or
     * an infinity, and a sum of those is NaN if any one is; one vector sum, tested once at the end.
     */
    static boolean allFinite(float[] x, int i0, int i1) {
        FloatVector acc = FloatVector.zero(S);
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            acc = acc.add(v.sub(v));
        }
        if (acc.test(VectorOperators.IS_NAN).anyTrue()) return false;
        for (; i < i1; i++) if (!Float.isFinite(x[i])) return false;
        return true;
    }

    /**
     * {@code even[q] = src[from + 2q]}, {@code odd[q] = src[from + 2q + 1]} for q in [0, pairs): two
     * vectors of src at a time, each halved by a one-vector shuffle and the halves blended (the
     * forms C2 compiles to single instructions). Reads exactly {@code src[from, from + 2 pairs)}.
     */
    static void splitEvenOdd(float[] src, int from, int pairs, float[] even, float[] odd) {
        splitEvenOdd(src, from, pairs, even, 0, odd, 0);
    }

    /** As above, into {@code even[e + q]} and {@code odd[o + q]}. */
    static void splitEvenOdd(float[] src, int from, int pairs, float[] even, int e, float[] odd, int o) {
        int q = 0;
        for (; q + VL <= pairs; q += VL) {
            FloatVector a = FloatVector.fromArray(S, src, from + 2 * q), b = FloatVector.fromArray(S, src, from + 2 * q + VL);
            a.rearrange(EVEN_LO).blend(b.rearrange(EVEN_HI), HIGH_HALF).intoArray(even, e + q);
            a.rearrange(ODD_LO).blend(b.rearrange(ODD_HI), HIGH_HALF).intoArray(odd, o + q);
        }
        for (; q < pairs; q++) {
            even[e + q] = src[from + 2 * q];
            odd[o + q] = src[from + 2 * q + 1];
        }
    }

    /**
     * {@code dst[d + j*stride + q] = src[from + 4q + j]} for j = 0..3 and q in [0, groups), groups a
     * multiple of VL: four vectors of src at a time split into even and odd columns, and each of
     * those again (the shuffles of {@link #splitEvenOdd}, with no store between the two levels).
     */
    static void splitFour(float[] src, int from, int groups, float[] dst, int d, int stride) {
        for (int q = 0; q < groups; q += VL) {
            int at = from + 4 * q;
            FloatVector a = FloatVector.fromArray(S, src, at), b = FloatVector.fromArray(S, src, at + VL);
            FloatVector c = FloatVector.fromArray(S, src, at + 2 * VL), e = FloatVector.fromArray(S, src, at + 3 * VL);
            FloatVector even1 = a.rearrange(EVEN_LO).blend(b.rearrange(EVEN_HI), HIGH_HALF);   // columns 0, 2 mod 4
            FloatVector odd1 = a.rearrange(ODD_LO).blend(b.rearrange(ODD_HI), HIGH_HALF);      // 1, 3
            FloatVector even2 = c.rearrange(EVEN_LO).blend(e.rearrange(EVEN_HI), HIGH_HALF);
            FloatVector odd2 = c.rearrange(ODD_LO).blend(e.rearrange(ODD_HI), HIGH_HALF);
            even1.rearrange(EVEN_LO).blend(even2.rearrange(EVEN_HI), HIGH_HALF).intoArray(dst, d + q);
            odd1.rearrange(EVEN_LO).blend(odd2.rearrange(EVEN_HI), HIGH_HALF).intoArray(dst, d + stride + q);
            even1.rearrange(ODD_LO).blend(even2.rearrange(ODD_HI), HIGH_HALF).intoArray(dst, d + 2 * stride + q);
            odd1.rearrange(ODD_LO).blend(odd2.rearrange(ODD_HI), HIGH_HALF).intoArray(dst, d + 3 * stride + q);
        }
    }

    /**
     * Interleaving two vectors a, b into (a0 b0 a1 b1 ...): lane l of the low result takes lane l/2
     * (INTERLEAVE_LO) of a, or of b on the odd lanes (ODD_LANES); the high result lane VL/2 + l/2
     * (INTERLEAVE_HI). One-vector shuffles and a blend, the forms C2 compiles to single instructions.
     * Shared with Winograd's output transform.
     */
    static final VectorShuffle<Float> INTERLEAVE_LO = VectorShuffle.fromOp(S, l -> l / 2),
            INTERLEAVE_HI = VectorShuffle.fromOp(S, l -> l / 2 + VL / 2);
    static final VectorMask<Float> ODD_LANES = VectorMask.fromLong(S, 0xAAAAAAAAAAAAAAAAL);

    /**
     * The inverse of {@link #splitEvenOdd}: {@code dst[d + 2q] = even[e + q]}, {@code dst[d + 2q + 1] = odd[o + q]}
     * for q in [0, pairs), a vector of each at a time spread over two vectors of dst by shuffles and blends.
     */
    static void mergeEvenOdd(float[] even, int e, float[] odd, int o, int pairs, float[] dst, int d) {
        int q = 0;
        for (; q + VL <= pairs; q += VL) {
            FloatVector a = FloatVector.fromArray(S, even, e + q), b = FloatVector.fromArray(S, odd, o + q);
            a.rearrange(INTERLEAVE_LO).blend(b.rearrange(INTERLEAVE_LO), ODD_LANES).intoArray(dst, d + 2 * q);
            a.rearrange(INTERLEAVE_HI).blend(b.rearrange(INTERLEAVE_HI), ODD_LANES).intoArray(dst, d + 2 * q + VL);
        }
        for (; q < pairs; q++) {
            dst[d + 2 * q] = even[e + q];
            dst[d + 2 * q + 1] = odd[o + q];
        }
    }

    /** {@code y[i] = Math.max(x[i], 0f)} for i in [i0, i1). */
    static void relu(float[] x, float[] y, int i0, int i1) {
        FloatVector zero = FloatVector.zero(S);
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.blend(zero, v.compare(VectorOperators.LE, 0f)).intoArray(y, i);   // -0.0 and 0 become +0.0
        }
        for (; i < i1; i++) y[i] = Math.max(x[i], 0f);
    }

    /**
     * {@code dx[i] = dy[i]} where {@code (!forwardMask || x[i] > 0) && (!signalMask || dy[i] > 0)}, else 0,
     * for i in [i0, i1); with neither mask dx is a copy of dy.
     */
    static void reluBackward(float[] x, float[] dy, float[] dx, boolean forwardMask, boolean signalMask, int i0, int i1) {
        if (!forwardMask && !signalMask) {
            Gemm.copy(dy, i0, dx, i0, i1 - i0);
            return;
        }
        FloatVector zero = FloatVector.zero(S);
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector d = FloatVector.fromArray(S, dy, i);
            VectorMask<Float> pass = forwardMask ? FloatVector.fromArray(S, x, i).compare(VectorOperators.GT, 0f)
                    : d.compare(VectorOperators.GT, 0f);
            if (forwardMask && signalMask) pass = pass.and(d.compare(VectorOperators.GT, 0f));
            zero.blend(d, pass).intoArray(dx, i);
        }
        for (; i < i1; i++) {
            boolean pass = (!forwardMask || x[i] > 0) && (!signalMask || dy[i] > 0);
            dx[i] = pass ? dy[i] : 0f;
        }
    }

    /** {@code y[i] = a[i] + b[i]} for i in [i0, i1). */
    static void add(float[] a, float[] b, float[] y, int i0, int i1) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL)
            FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i)).intoArray(y, i);
        for (; i < i1; i++) y[i] = a[i] + b[i];
    }

    /** {@code y[i] = Math.max(a[i] + b[i], 0f)} for i in [i0, i1): {@link #add}, then {@link #relu}'s rule, in one pass. */
    static void addRelu(float[] a, float[] b, float[] y, int i0, int i1) {
        FloatVector zero = FloatVector.zero(S);
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, a, i).add(FloatVector.fromArray(S, b, i));
            v.blend(zero, v.compare(VectorOperators.LE, 0f)).intoArray(y, i);
        }
        for (; i < i1; i++) y[i] = Math.max(a[i] + b[i], 0f);
    }
}
