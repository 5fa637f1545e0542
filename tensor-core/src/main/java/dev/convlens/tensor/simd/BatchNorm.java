package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.Kernels;
import java.util.Arrays;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch norm's passes for a range of channels {@code [c0, c1)} of {@code x (n, c, hw)}, giving the bits of
 * the reference ({@link dev.convlens.tensor.kernels.Kernels#batchNormTrainForward} and the others) for any
 * range, so {@link SimdKernels} may split the channels over its threads however it likes.
 *
 * <p>The sums over a channel run in the reference's order ({@link Kernels#SUM_PARTIALS}): a plane's
 * element i goes to partial {@code i % 16}, so with AVX-512 the sixteen partials are the lanes of two
 * vectors of doubles (a vector of floats widened in two halves), the plane's tail is added lane by lane
 * afterwards, and {@link Kernels#planeTotal} reduces them. With other vector lengths the sums run as the
 * reference's scalar loop. The partials live in a scratch array, read and written back at every step,
 * not in vector variables carried around the loop: with four such variables the gradient sums' loop
 * allocated 0.7 GB a training step (JFR; its compilation reported no failed inlining), with the array
 * none. The store-to-load round trip costs little against reading x from memory. The widening is
 * written out in the sums' loops: with it in the helpers {@link #lower} and {@link #upper} the gradient
 * sums allocated 7 MB a call in one JMH fork of {@code BatchNormBench} (layer2 backward, 2 threads),
 * none in others.
 *
 * <p>The maps from x to y and from dy to dx, which sum nothing, run in vectors of doubles: the float
 * widened to double (exact), the reference's operations in its order (Java never fuses a multiply and
 * an add, nor does the Vector API), one rounding to float at the end; the same bits at any vector length.
 * The floats are loaded and stored as vectors of {@link Gemm#S}, the species of every other SIMD kernel,
 * each split into two vectors of doubles, by part-0 conversions and a fixed permutation only. A
 * half-width float species (Float256 beside the Float512 of the GEMM) made C2 in JDK 17 lose the
 * store intrinsic in {@code Gemm.storeTile}: 23% of a ResNet-18 training step went to its lane-by-lane
 * fallback (JFR). A contraction into the upper half ({@code convertShape(D2F, S, -1)}) did the same
 * to the batch-norm store itself.
 *
 * <p>Why passes (statistics, then the maps), each run by {@link SimdKernels} as its own parallel loop,
 * and not one loop over the channels doing both: C2 (JDK 17) stops inlining into a compilation once it
 * holds about 18,000 nodes ({@code NodeCountInliningCutoff}), and then leaves even the Vector API's
 * {@code add} and {@code sub} as calls, which makes every vector an object. A loop over the channels
 * that inlined three vector loops (sum, squares, map) reached it: the training step allocated gigabytes
 * in batch norm (JFR) and ran no faster with sums 2-3x faster. Each pass here holds at most two.
 */
final class BatchNorm {
    private BatchNorm() {}

    /** The float vectors of every SIMD kernel (16 floats with AVX-512). */
    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int VL = Gemm.VL;
    /** Doubles in a vector of the same width (8), half of S's lanes: a vector of S widens into two of these. */
    static final VectorSpecies<Double> DS = VectorSpecies.of(double.class, S.vectorShape());
    /** Lanes of {@link #DS}. */
    static final int DL = DS.length();
    /** Swaps the two halves of a vector of S: lane j takes lane (j + DL) mod 2*DL. */
    private static final VectorShuffle<Float> HALVES = VectorShuffle.iota(S, DL, 1, true);
    /** The upper half of S's lanes, [DL, 2*DL). */
    private static final VectorMask<Float> UPPER = VectorMask.fromLong(S, ((1L << VL) - 1) & ~((1L << DL) - 1));
    /** The reference's partials a plane (16). */
    private static final int P = Kernels.SUM_PARTIALS;
    /** Whether a vector of S holds one element per partial (AVX-512), so that the sums run in vectors. */
    private static final boolean VECTOR_SUMS = VL == P;

    // ---------------------------------------------------------------- the passes, for channels [c0, c1)

    /**
     * Training forward's statistics: batch mean and biased variance (two passes over the channel),
     * written as floats to mean, invStd and var, and as doubles to {@code ms[2*ch] = mean},
     * {@code ms[2*ch+1] = 1/sqrt(var + eps)} for {@link #trainMaps}.
     */
    static void trainStatistics(int c0, int c1, int n, int c, int hw, float eps, float[] x,
                                float[] mean, float[] invStd, float[] var, double[] ms) {
        long m = (long) n * hw;
        double[] p = new double[P];
        for (int cc = c0; cc < c1; cc++) {
            double sum = 0;
            for (int b = 0; b < n; b++) sum += planeSum(x, (b * c + cc) * hw, hw, p);
            double mu = sum / m, ss = 0;
            for (int b = 0; b < n; b++) ss += planeSquares(x, (b * c + cc) * hw, hw, mu, p);
            double s = 1.0 / Math.sqrt(ss / m + eps);
            mean[cc] = (float) mu;
            invStd[cc] = (float) s;
            var[cc] = (float) (ss / m);
            ms[2 * cc] = mu;
            ms[2 * cc + 1] = s;
        }
    }

    /**
     * Training forward's map: {@code y = gamma*(x-mean)*invStd + beta}, mean and invStd the doubles of
     * {@link #trainStatistics}; with {@code relu}, then the ReLU of {@link Elementwise} ({@code y <= 0} to +0).
     */
    static void trainMaps(int c0, int c1, int n, int c, int hw, float[] x, float[] gamma, float[] beta, double[] ms,
                          boolean relu, float[] y) {
        for (int cc = c0; cc < c1; cc++) {
            double ga = gamma == null ? 1 : gamma[cc], be = beta == null ? 0 : beta[cc];
            for (int b = 0; b < n; b++) {
                int i = (b * c + cc) * hw;
                trainMap(x, y, i, i + hw, ms[2 * cc], ga, ms[2 * cc + 1], be, relu);
            }
        }
    }

    /**
     * The sums of both backward passes, {@code sums[2*ch] = sum dy}, {@code sums[2*ch+1] = sum dy*xhat}
     * with {@code xhat = (x - ms[2*ch]) * ms[2*ch+1]}; dy read as +0 where {@code mask} is not {@code > 0}
     * (mask null: dy as it is).
     */
    static void gradientSums(int c0, int c1, int n, int c, int hw, float[] x, float[] mask, float[] dy, double[] ms, double[] sums) {
        double[] p = new double[P], q = new double[P];
        for (int cc = c0; cc < c1; cc++) {
            double sumDy = 0, sumDyXhat = 0;
            for (int b = 0; b < n; b++) {
                planeGradientSums(x, mask, dy, (b * c + cc) * hw, hw, ms[2 * cc], ms[2 * cc + 1], p, q);
                sumDy += Kernels.planeTotal(p);
                sumDyXhat += Kernels.planeTotal(q);
            }
            sums[2 * cc] = sumDy;
            sums[2 * cc + 1] = sumDyXhat;
        }
    }

    /**
     * Training backward's map: {@code dx = gamma*invStd*(dy - mean(dy) - xhat*mean(dy*xhat))} from the sums of
     * {@link #gradientSums}, dy masked as there.
     */
    static void trainBackwardMaps(int c0, int c1, int n, int c, int hw, float[] x, float[] gamma, float[] mask, float[] dy,
                                  double[] ms, double[] sums, float[] dx) {
        double m = (double) n * hw;
        for (int cc = c0; cc < c1; cc++) {
            double mu = ms[2 * cc], s = ms[2 * cc + 1];
            double k = (gamma == null ? 1 : gamma[cc]) * s, meanDy = sums[2 * cc] / m, meanDyXhat = sums[2 * cc + 1] / m;
            for (int b = 0; b < n; b++) {
                int i = (b * c + cc) * hw;
                trainBackwardMap(x, mask, dy, dx, i, i + hw, mu, s, k, meanDy, meanDyXhat);
            }
        }
    }

    /** Inference forward: {@code y = gamma*(x-mean)/sqrt(var+eps) + beta} with stored statistics. */
    static void inferenceForward(int c0, int c1, int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                 float[] mean, float[] var, float[] y) {
        for (int ch = c0; ch < c1; ch++) {
            double mu = mean[ch], s = 1.0 / Math.sqrt((double) var[ch] + eps);
            double a = (gamma == null ? 1 : gamma[ch]) * s, be = beta == null ? 0 : beta[ch];
            for (int b = 0; b < n; b++) {
                int i = (b * c + ch) * hw;
                inferenceMap(x, y, i, i + hw, mu, a, be);
            }
        }
    }

    /** Inference backward's map (statistics fixed): {@code dx = dy*gamma*s}, {@code s = ms[2*ch+1]}. */
    static void inferenceBackwardMaps(int c0, int c1, int n, int c, int hw, float[] gamma, double[] ms, float[] dy, float[] dx) {
        for (int cc = c0; cc < c1; cc++) {
            double a = (gamma == null ? 1 : gamma[cc]) * ms[2 * cc + 1];
            for (int b = 0; b < n; b++) {
                int i = (b * c + cc) * hw;
                scale(dy, dx, i, i + hw, a);
            }
        }
    }

    // ---------------------------------------------------------------- a plane's sums: 16 partials, two vectors of doubles

    /** The total of {@code x[o, o+hw)} in the reference's order; p is scratch of {@link #P} doubles. */
    private static double planeSum(float[] x, int o, int hw, double[] p) {
        int vb = VECTOR_SUMS ? S.loopBound(hw) : 0, i = 0;
        clear(p);
        for (; i < vb; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, o + i);
            DoubleVector v0 = (DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector v1 = (DoubleVector) v.rearrange(HALVES).convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector.fromArray(DS, p, 0).add(v0).intoArray(p, 0);       // partials 0-7
            DoubleVector.fromArray(DS, p, DL).add(v1).intoArray(p, DL);     // partials 8-15
        }
        for (; i < hw; i++) p[i % P] += x[o + i];
        return Kernels.planeTotal(p);
    }

    /** The total of {@code (x - mu)^2} over {@code [o, o+hw)} in the reference's order. */
    private static double planeSquares(float[] x, int o, int hw, double mu, double[] p) {
        int vb = VECTOR_SUMS ? S.loopBound(hw) : 0, i = 0;
        clear(p);
        for (; i < vb; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, o + i);
            DoubleVector d0 = ((DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0)).sub(mu);
            DoubleVector d1 = ((DoubleVector) v.rearrange(HALVES).convertShape(VectorOperators.F2D, DS, 0)).sub(mu);
            DoubleVector.fromArray(DS, p, 0).add(d0.mul(d0)).intoArray(p, 0);
            DoubleVector.fromArray(DS, p, DL).add(d1.mul(d1)).intoArray(p, DL);
        }
        for (; i < hw; i++) {
            double d = x[o + i] - mu;
            p[i % P] += d * d;
        }
        return Kernels.planeTotal(p);
    }

    /**
     * The partials of {@code sum dy} into p and of {@code sum dy * ((x - mu) * s)} into q over {@code [o, o+hw)},
     * in the reference's order, dy as +0 where {@code mask} (when not null) is not {@code > 0}.
     */
    private static void planeGradientSums(float[] x, float[] mask, float[] dy, int o, int hw, double mu, double s, double[] p, double[] q) {
        int vb = VECTOR_SUMS ? S.loopBound(hw) : 0, i = 0;
        clear(p);
        clear(q);
        for (; i < vb; i += VL) {
            FloatVector gv = FloatVector.fromArray(S, dy, o + i), xv = FloatVector.fromArray(S, x, o + i);
            if (mask != null) gv = FloatVector.zero(S).blend(gv, FloatVector.fromArray(S, mask, o + i).compare(VectorOperators.GT, 0f));
            DoubleVector g0 = (DoubleVector) gv.convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector g1 = (DoubleVector) gv.rearrange(HALVES).convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector x0 = (DoubleVector) xv.convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector x1 = (DoubleVector) xv.rearrange(HALVES).convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector.fromArray(DS, p, 0).add(g0).intoArray(p, 0);
            DoubleVector.fromArray(DS, p, DL).add(g1).intoArray(p, DL);
            DoubleVector.fromArray(DS, q, 0).add(g0.mul(x0.sub(mu).mul(s))).intoArray(q, 0);
            DoubleVector.fromArray(DS, q, DL).add(g1.mul(x1.sub(mu).mul(s))).intoArray(q, DL);
        }
        for (; i < hw; i++) {
            float g = mask == null || mask[o + i] > 0 ? dy[o + i] : 0f;
            p[i % P] += g;
            q[i % P] += g * ((x[o + i] - mu) * s);
        }
    }

    /** Zeroes the {@link #P} partials: two vector stores with AVX-512 (with {@code Arrays.fill} per plane layer4's forward took 0.41 ms against 0.25, JMH), else a fill. */
    private static void clear(double[] p) {
        if (VECTOR_SUMS) {
            DoubleVector.zero(DS).intoArray(p, 0);
            DoubleVector.zero(DS).intoArray(p, DL);
        } else {
            Arrays.fill(p, 0);
        }
    }

    // ---------------------------------------------------------------- the maps, in vectors of doubles

    /** {@code y[i] = (float) (ga * (x[i] - mu) * s + be)} for i in [i0, i1), then with {@code relu} +0 where {@code y[i] <= 0}. */
    static void trainMap(float[] x, float[] y, int i0, int i1, double mu, double ga, double s, double be, boolean relu) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            DoubleVector lo = lower(v).sub(mu).mul(ga).mul(s).add(be), hi = upper(v).sub(mu).mul(ga).mul(s).add(be);
            FloatVector r = narrow(lo, hi);   // (ga * (x - mu)) * s + be; ga * d == d * ga exactly
            if (relu) r.blend(0f, r.compare(VectorOperators.LE, 0f)).intoArray(y, i);   // -0, 0 and below to +0, NaN kept
            else r.intoArray(y, i);
        }
        for (; i < i1; i++) {
            float r = (float) (ga * (x[i] - mu) * s + be);
            y[i] = relu ? Math.max(r, 0f) : r;
        }
    }

    /** {@code y[i] = (float) (a * (x[i] - mu) + be)} for i in [i0, i1). */
    static void inferenceMap(float[] x, float[] y, int i0, int i1, double mu, double a, double be) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            narrow(lower(v).sub(mu).mul(a).add(be), upper(v).sub(mu).mul(a).add(be)).intoArray(y, i);
        }
        for (; i < i1; i++) y[i] = (float) (a * (x[i] - mu) + be);
    }

    /**
     * {@code dx[i] = (float) (k * (dy[i] - meanDy - ((x[i] - mu) * s) * meanDyXhat))} for i in [i0, i1), dy as +0
     * where {@code mask} (when not null) is not {@code > 0}.
     */
    static void trainBackwardMap(float[] x, float[] mask, float[] dy, float[] dx, int i0, int i1, double mu, double s, double k,
                                 double meanDy, double meanDyXhat) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector xv = FloatVector.fromArray(S, x, i), gv = FloatVector.fromArray(S, dy, i);
            if (mask != null) gv = FloatVector.zero(S).blend(gv, FloatVector.fromArray(S, mask, i).compare(VectorOperators.GT, 0f));
            DoubleVector lo = lower(gv).sub(meanDy).sub(lower(xv).sub(mu).mul(s).mul(meanDyXhat)).mul(k);
            DoubleVector hi = upper(gv).sub(meanDy).sub(upper(xv).sub(mu).mul(s).mul(meanDyXhat)).mul(k);
            narrow(lo, hi).intoArray(dx, i);
        }
        for (; i < i1; i++) {
            double xhat = (x[i] - mu) * s;
            float g = mask == null || mask[i] > 0 ? dy[i] : 0f;
            dx[i] = (float) (k * (g - meanDy - xhat * meanDyXhat));
        }
    }

    /** {@code dx[i] = (float) (a * dy[i])} for i in [i0, i1). */
    static void scale(float[] dy, float[] dx, int i0, int i1, double a) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, dy, i);
            narrow(lower(v).mul(a), upper(v).mul(a)).intoArray(dx, i);
        }
        for (; i < i1; i++) dx[i] = (float) (a * dy[i]);
    }

    /** Lanes [0, DL) of v, widened to double (exact). */
    private static DoubleVector lower(FloatVector v) {
        return (DoubleVector) v.convertShape(VectorOperators.F2D, DS, 0);
    }

    /** Lanes [DL, 2*DL) of v, widened to double. */
    private static DoubleVector upper(FloatVector v) {
        return (DoubleVector) v.rearrange(HALVES).convertShape(VectorOperators.F2D, DS, 0);
    }

    /**
     * lo and hi rounded to float, side by side in one vector of S. Only part-0 conversions and a
     * fixed permutation: JDK 17's C2 left the contraction into the upper half (part -1) to a
     * lane-by-lane fallback in the training step.
     */
    private static FloatVector narrow(DoubleVector lo, DoubleVector hi) {
        FloatVector l = (FloatVector) lo.convertShape(VectorOperators.D2F, S, 0);     // lanes [0, DL)
        FloatVector h = (FloatVector) hi.convertShape(VectorOperators.D2F, S, 0);     // lanes [0, DL)
        return l.blend(h.rearrange(HALVES), UPPER);
    }
}
