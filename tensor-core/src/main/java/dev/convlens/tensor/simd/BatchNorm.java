package dev.convlens.tensor.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch norm's loops for a range of channels {@code [c0, c1)} of {@code x (n, c, hw)}, giving the bits of
 * the reference ({@link dev.convlens.tensor.kernels.Kernels#batchNormTrainForward} and the others) for any
 * range, so {@link SimdKernels} may split the channels over its threads however it likes.
 *
 * <p>The sums over a channel must run in the reference's order, one double accumulator, image by image,
 * element by element: a sum in vector lanes would round otherwise. One such chain waits on each add
 * (~3 cycles), so two channels' chains run side by side in one loop, each in its own order, over
 * groups of {@value #G} channels. A last group of fewer channels repeats its last channel in the
 * spare chains (computed, not stored).
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
 */
final class BatchNorm {
    private BatchNorm() {}

    /**
     * Channels per group: each pass (sums, squares, maps) runs over a group before the next pass, the
     * sums two channels at a time. Measured on one 16x64x56x56 batch norm, one thread, forward and
     * backward: one chain at a time 7.9 and 6.5 ms; groups of 2, 4, 8: 6.2 and 4.5, 4.6 and 5.0,
     * 4.8 and 5.3 ms; four channels' chains in one loop (groups of 4): 5.8 and 10 ms.
     */
    static final int G = 4;                               // even: the sums take the channels in pairs
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

    // ---------------------------------------------------------------- the four kernels, for channels [c0, c1)

    /** Training forward: batch mean, biased variance (two passes), {@code y = gamma*(x-mean)*invStd + beta}. */
    static void trainForward(int c0, int c1, int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                             float[] y, float[] mean, float[] invStd, float[] var) {
        long m = (long) n * hw;
        int[] chs = new int[G];
        double[] mu = new double[G], ss = new double[G];
        for (int ch = c0; ch < c1; ch += G) {
            group(ch, c1, chs);
            sums(x, n, c, hw, chs, mu);
            for (int k = 0; k < G; k++) mu[k] = mu[k] / m;
            squares(x, n, c, hw, chs, mu, ss);
            for (int k = 0; k < G && ch + k < c1; k++) {
                int cc = ch + k;
                double s = 1.0 / Math.sqrt(ss[k] / m + eps);
                mean[cc] = (float) mu[k];
                invStd[cc] = (float) s;
                var[cc] = (float) (ss[k] / m);
                double ga = gamma == null ? 1 : gamma[cc], be = beta == null ? 0 : beta[cc];
                for (int b = 0; b < n; b++) {
                    int i = (b * c + cc) * hw;
                    trainMap(x, y, i, i + hw, mu[k], ga, s, be);
                }
            }
        }
    }

    /** Training backward: {@code dx = gamma*invStd*(dy - mean(dy) - xhat*mean(dy*xhat))}, {@code dgamma = sum dy*xhat}, {@code dbeta = sum dy}. */
    static void trainBackward(int c0, int c1, int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                              float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        double m = (double) n * hw;
        int[] chs = new int[G];
        double[] mu = new double[G], s = new double[G], sumDy = new double[G], sumDyXhat = new double[G];
        for (int ch = c0; ch < c1; ch += G) {
            group(ch, c1, chs);
            for (int k = 0; k < G; k++) {
                mu[k] = mean[chs[k]];
                s[k] = invStd[chs[k]];
            }
            gradientSums(x, dy, n, c, hw, chs, mu, s, sumDy, sumDyXhat);
            for (int k = 0; k < G && ch + k < c1; k++) {
                int cc = ch + k;
                if (dgamma != null) dgamma[cc] = (float) sumDyXhat[k];
                if (dbeta != null) dbeta[cc] = (float) sumDy[k];
                if (dx == null) continue;
                double ga = gamma == null ? 1 : gamma[cc];
                double kk = ga * s[k], meanDy = sumDy[k] / m, meanDyXhat = sumDyXhat[k] / m;
                for (int b = 0; b < n; b++) {
                    int i = (b * c + cc) * hw;
                    trainBackwardMap(x, dy, dx, i, i + hw, mu[k], s[k], kk, meanDy, meanDyXhat);
                }
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

    /** Inference backward (statistics fixed): {@code dx = dy*gamma*s}, {@code dgamma = sum dy*(x-mean)*s}, {@code dbeta = sum dy}. */
    static void inferenceBackward(int c0, int c1, int n, int c, int hw, float eps, float[] x, float[] gamma, float[] mean,
                                  float[] var, float[] dy, float[] dx, float[] dgamma, float[] dbeta) {
        int[] chs = new int[G];
        double[] mu = new double[G], s = new double[G], sumDy = new double[G], sumDyXhat = new double[G];
        for (int ch = c0; ch < c1; ch += G) {
            group(ch, c1, chs);
            for (int k = 0; k < G; k++) {
                mu[k] = mean[chs[k]];
                s[k] = 1.0 / Math.sqrt((double) var[chs[k]] + eps);
            }
            if (dgamma != null || dbeta != null) gradientSums(x, dy, n, c, hw, chs, mu, s, sumDy, sumDyXhat);
            for (int k = 0; k < G && ch + k < c1; k++) {
                int cc = ch + k;
                if (dgamma != null) dgamma[cc] = (float) sumDyXhat[k];
                if (dbeta != null) dbeta[cc] = (float) sumDy[k];
                if (dx == null) continue;
                double a = (gamma == null ? 1 : gamma[cc]) * s[k];
                for (int b = 0; b < n; b++) {
                    int i = (b * c + cc) * hw;
                    scale(dy, dx, i, i + hw, a);
                }
            }
        }
    }

    // ---------------------------------------------------------------- the sums: two channels' chains side by side

    /** The channels ch, ch+1, ... of a group, the last of them (c1-1) repeated where the group passes c1. */
    private static void group(int ch, int c1, int[] chs) {
        for (int k = 0; k < G; k++) chs[k] = Math.min(ch + k, c1 - 1);
    }

    /** {@code out[k] = sum x} over channel chs[k], in the reference's order, for k < G. */
    private static void sums(float[] x, int n, int c, int hw, int[] chs, double[] out) {
        for (int k = 0; k < G; k += 2) {
            double s0 = 0, s1 = 0;
            for (int b = 0; b < n; b++) {
                int o0 = (b * c + chs[k]) * hw, o1 = (b * c + chs[k + 1]) * hw;
                for (int i = 0; i < hw; i++) {
                    s0 += x[o0 + i];
                    s1 += x[o1 + i];
                }
            }
            out[k] = s0;
            out[k + 1] = s1;
        }
    }

    /** {@code out[k] = sum (x - mu[k])^2} over channel chs[k], in the reference's order. */
    private static void squares(float[] x, int n, int c, int hw, int[] chs, double[] mu, double[] out) {
        for (int k = 0; k < G; k += 2) {
            double m0 = mu[k], m1 = mu[k + 1], q0 = 0, q1 = 0;
            for (int b = 0; b < n; b++) {
                int o0 = (b * c + chs[k]) * hw, o1 = (b * c + chs[k + 1]) * hw;
                for (int i = 0; i < hw; i++) {
                    double d0 = x[o0 + i] - m0, d1 = x[o1 + i] - m1;
                    q0 += d0 * d0;
                    q1 += d1 * d1;
                }
            }
            out[k] = q0;
            out[k + 1] = q1;
        }
    }

    /** {@code sumDy[k] = sum dy}, {@code sumDyXhat[k] = sum dy * ((x - mu[k]) * s[k])} over channel chs[k], in the reference's order. */
    private static void gradientSums(float[] x, float[] dy, int n, int c, int hw, int[] chs, double[] mu, double[] s,
                                     double[] sumDy, double[] sumDyXhat) {
        for (int k = 0; k < G; k += 2) {
            double m0 = mu[k], m1 = mu[k + 1], s0 = s[k], s1 = s[k + 1];
            double d0 = 0, d1 = 0, e0 = 0, e1 = 0;
            for (int b = 0; b < n; b++) {
                int o0 = (b * c + chs[k]) * hw, o1 = (b * c + chs[k + 1]) * hw;
                for (int i = 0; i < hw; i++) {
                    float g0 = dy[o0 + i], g1 = dy[o1 + i];
                    d0 += g0;
                    d1 += g1;
                    e0 += g0 * ((x[o0 + i] - m0) * s0);
                    e1 += g1 * ((x[o1 + i] - m1) * s1);
                }
            }
            sumDy[k] = d0;
            sumDy[k + 1] = d1;
            sumDyXhat[k] = e0;
            sumDyXhat[k + 1] = e1;
        }
    }

    // ---------------------------------------------------------------- the maps, in vectors of doubles

    /** {@code y[i] = (float) (ga * (x[i] - mu) * s + be)} for i in [i0, i1). */
    static void trainMap(float[] x, float[] y, int i0, int i1, double mu, double ga, double s, double be) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            DoubleVector lo = lower(v).sub(mu).mul(ga).mul(s).add(be), hi = upper(v).sub(mu).mul(ga).mul(s).add(be);
            narrow(lo, hi).intoArray(y, i);   // (ga * (x - mu)) * s + be; ga * d == d * ga exactly
        }
        for (; i < i1; i++) y[i] = (float) (ga * (x[i] - mu) * s + be);
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

    /** {@code dx[i] = (float) (k * (dy[i] - meanDy - ((x[i] - mu) * s) * meanDyXhat))} for i in [i0, i1). */
    static void trainBackwardMap(float[] x, float[] dy, float[] dx, int i0, int i1, double mu, double s, double k,
                                 double meanDy, double meanDyXhat) {
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector xv = FloatVector.fromArray(S, x, i), gv = FloatVector.fromArray(S, dy, i);
            DoubleVector lo = lower(gv).sub(meanDy).sub(lower(xv).sub(mu).mul(s).mul(meanDyXhat)).mul(k);
            DoubleVector hi = upper(gv).sub(meanDy).sub(upper(xv).sub(mu).mul(s).mul(meanDyXhat)).mul(k);
            narrow(lo, hi).intoArray(dx, i);
        }
        for (; i < i1; i++) {
            double xhat = (x[i] - mu) * s;
            dx[i] = (float) (k * (dy[i] - meanDy - xhat * meanDyXhat));
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
