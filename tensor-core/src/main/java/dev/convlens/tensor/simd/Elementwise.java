package dev.convlens.tensor.simd;

import static dev.convlens.tensor.simd.Gemm.S;
import static dev.convlens.tensor.simd.Gemm.VL;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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

    /** Doubles in the widest vector (8 with AVX-512): batch norm's maps run in double, as the reference's. */
    static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    /** Floats as many as {@link #DS} has lanes (a half-width vector), widened into one vector of doubles. */
    static final VectorSpecies<Float> FS = VectorSpecies.of(float.class, VectorShape.forBitSize(DS.vectorBitSize() / 2));
    /** Lanes of {@link #DS} and {@link #FS}. */
    static final int DL = DS.length();

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

    // ---------------------------------------------------------------- batch norm's per-channel maps, in double

    /*
     * Each map is the reference's double expression (Kernels.batchNormTrainForward and friends), lane by
     * lane: the float widened to double (exact), the same operations in the same order (Java never fuses
     * a multiply and an add, nor does the Vector API), one rounding to float at the end. So the bits are
     * the reference's, whatever the vector length.
     */

    /** {@code y[i] = (float) (ga * (x[i] - mu) * s + be)} for i in [i0, i1): the training forward's map. */
    static void bnTrainMap(float[] x, float[] y, int i0, int i1, double mu, double ga, double s, double be) {
        int i = i0;
        for (int bound = i0 + FS.loopBound(i1 - i0); i < bound; i += DL) {
            DoubleVector v = widen(x, i);
            narrow(v.sub(mu).mul(ga).mul(s).add(be), y, i);   // (ga * (x - mu)) * s + be; ga * d == d * ga exactly
        }
        for (; i < i1; i++) y[i] = (float) (ga * (x[i] - mu) * s + be);
    }

    /** {@code y[i] = (float) (a * (x[i] - mu) + be)} for i in [i0, i1): the inference forward's map. */
    static void bnInferenceMap(float[] x, float[] y, int i0, int i1, double mu, double a, double be) {
        int i = i0;
        for (int bound = i0 + FS.loopBound(i1 - i0); i < bound; i += DL) narrow(widen(x, i).sub(mu).mul(a).add(be), y, i);
        for (; i < i1; i++) y[i] = (float) (a * (x[i] - mu) + be);
    }

    /**
     * {@code dx[i] = (float) (k * (dy[i] - meanDy - ((x[i] - mu) * s) * meanDyXhat))} for i in [i0, i1):
     * the training backward's map.
     */
    static void bnTrainBackwardMap(float[] x, float[] dy, float[] dx, int i0, int i1, double mu, double s, double k,
                                   double meanDy, double meanDyXhat) {
        int i = i0;
        for (int bound = i0 + FS.loopBound(i1 - i0); i < bound; i += DL) {
            DoubleVector xhat = widen(x, i).sub(mu).mul(s);
            narrow(widen(dy, i).sub(meanDy).sub(xhat.mul(meanDyXhat)).mul(k), dx, i);
        }
        for (; i < i1; i++) {
            double xhat = (x[i] - mu) * s;
            dx[i] = (float) (k * (dy[i] - meanDy - xhat * meanDyXhat));
        }
    }

    /** {@code dx[i] = (float) (a * dy[i])} for i in [i0, i1): the inference backward's map. */
    static void bnScale(float[] dy, float[] dx, int i0, int i1, double a) {
        int i = i0;
        for (int bound = i0 + FS.loopBound(i1 - i0); i < bound; i += DL) narrow(widen(dy, i).mul(a), dx, i);
        for (; i < i1; i++) dx[i] = (float) (a * dy[i]);
    }

    /** DL floats from {@code a[i]}, widened to double. */
    private static DoubleVector widen(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(FS, a, i).convertShape(VectorOperators.F2D, DS, 0);
    }

    /** DL doubles rounded to float, into {@code a[i]}. */
    private static void narrow(DoubleVector v, float[] a, int i) {
        ((FloatVector) v.convertShape(VectorOperators.D2F, FS, 0)).intoArray(a, i);
    }
}
