package dev.convlens.tensor.kernels;

import java.util.Arrays;

/**
 * The primitive kernels that carry nearly all the arithmetic of a CNN. Kernels see flat
 * arrays and offsets, never {@code Tensor}: that keeps them equally at home in plain loops,
 * the Vector API and OpenCL.
 *
 * <p>Implementations: {@link ReferenceKernels} (plain loops, the specification) and
 * {@code dev.convlens.tensor.simd.SimdKernels} (Vector API, multi-threaded). Every
 * implementation is tested against the reference.
 *
 * <p>All outputs are overwritten, not accumulated into, unless a {@code beta} says otherwise.
 */
public interface Kernels {
    /** Short name for reports: "reference", "simd". */
    String name();

    /** The threads {@link #parallelFor} runs tasks on: 1 unless a layer says otherwise. */
    default int threads() {
        return 1;
    }

    /**
     * Runs the independent tasks {@code 0..tasks-1} and returns when all are done, rethrowing the
     * first failure: on this layer's threads where it has several (the SIMD layer's workers, which
     * take tasks as they finish others), else in order on the caller. For work beside the kernels
     * that should keep every core busy too (the visualizations' image transforms). No task may read
     * what another writes. Each task costs a hand-over (microseconds): give it thousands of elements.
     */
    default void parallelFor(int tasks, java.util.function.IntConsumer body) {
        for (int t = 0; t < tasks; t++) body.accept(t);
    }

    /**
     * Convolution forward: {@code y[n,k,oy,ox] = b[k] + sum_{c',r,s} w[k,c',r,s] * x[n, g*cg+c', oy*sh-pt+r*dh, ox*sw-pl+s*dw]}
     * (cross-correlation, as PyTorch and ONNX define it; out-of-range input reads as 0).
     *
     * @param b bias of length k, or null for none
     */
    void convForward(ConvGeom g, float[] x, float[] w, float[] b, float[] y);

    /**
     * Convolution forward followed by a per-channel affine map, a residual sum and an optional ReLU,
     * in one pass: {@code y[n,k,oy,ox] = act(scale[k] * conv(x, w, b)[n,k,oy,ox] + shift[k] + res[n,k,oy,ox])}
     * with {@code act = max(., 0)} when {@code relu} (NaN stays NaN), else the identity; the affine
     * map is one fused multiply-add ({@code Math.fma(v, scale, shift)}), then {@code res} is added.
     * This is a convolution, batch norm in inference ({@code scale = gamma / sqrt(var + eps)},
     * {@code shift = beta - mean * scale}), a ResNet block's shortcut sum and its ReLU as one kernel.
     *
     * <p>The default runs {@link #convForward} and then one pass over y; fast kernels apply the
     * map while the result is still in registers. (Added as a default method, so existing
     * implementations keep compiling.)
     *
     * @param b     bias of length k, or null for none
     * @param scale per-channel factor of length k, or null (then shift is null too)
     * @param shift per-channel offset of length k, or null
     * @param res   a tensor of y's shape (n, k, oh, ow) to add, or null
     */
    default void convForwardAffine(ConvGeom g, float[] x, float[] w, float[] b, float[] scale, float[] shift,
                                   float[] res, boolean relu, float[] y) {
        convForward(g, x, w, b, y);
        int pix = g.oh() * g.ow();
        for (int n = 0; n < g.n(); n++)
            for (int k = 0; k < g.k(); k++) {
                float a = scale == null ? 1f : scale[k], c = shift == null ? 0f : shift[k];
                for (int i = (n * g.k() + k) * pix, end = i + pix; i < end; i++) {
                    float v = scale == null ? y[i] : Math.fma(y[i], a, c);
                    if (res != null) v += res[i];
                    y[i] = relu ? Math.max(v, 0f) : v;
                }
            }
    }

    /** Convolution backward to the input: {@code dx = sum over the windows that read x of dy * w} (the transposed convolution). */
    void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx);

    /**
     * Convolution backward to the weights: {@code dw[k,c',r,s] = sum_{n,oy,ox} dy[n,k,oy,ox] * x[n,c,iy,ix]}
     * and {@code db[k] = sum_{n,oy,ox} dy[n,k,oy,ox]}.
     *
     * @param dw weight gradient to write, or null when not wanted
     * @param db bias gradient to write, or null when not wanted
     */
    void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db);

    /**
     * Row-major GEMM: {@code C = alpha * op(A) * op(B) + beta * C}, with op(A) of shape (m, kk)
     * and op(B) of shape (kk, n). {@code transA} means A is stored (kk, m); {@code transB} means
     * B is stored (n, kk). Leading dimensions are the stored row lengths. When {@code beta == 0}, C
     * is not read (NaN in C does not propagate).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
              float beta, float[] c, int cOff, int ldc);

    // ---- The memory-bound primitives. Their default bodies are the reference loops (the
    // specification); a layer overrides those it runs elsewhere (OpenCL). The ops in
    // dev.convlens.tensor.ops validate shapes and call these; see each op for the mathematics.

    /**
     * Max pooling forward with switches (see {@code ops.MaxPool2d}): {@code y[o]} is the max of its
     * window, padding never a candidate, first maximum in row-major window order wins, NaN always
     * taken; {@code switches[o]} is the flat index into {@code x (n,c,h,w)} of that max.
     */
    default void maxPoolForward(PoolGeom g, float[] x, float[] y, int[] switches) {
        int o = 0;
        for (int p = 0; p < g.n() * g.c(); p++) { // one (n,c) plane at a time
            for (int oy = 0; oy < g.oh(); oy++)
                for (int ox = 0; ox < g.ow(); ox++, o++) maxPoolWindow(g, x, p * g.h() * g.w(), oy, ox, y, switches, o);
        }
    }

    /** Output {@code o}, window {@code (oy, ox)} of the plane at {@code xOff}: its max into {@code y[o]}, where into {@code switches[o]}. */
    static void maxPoolWindow(PoolGeom g, float[] x, int xOff, int oy, int ox, float[] y, int[] switches, int o) {
        float max = Float.NEGATIVE_INFINITY;
        int arg = -1;
        for (int i = 0; i < g.kernelH(); i++) {
            int iy = oy * g.strideH() - g.padTop() + i * g.dilH();
            if (iy < 0 || iy >= g.h()) continue;
            for (int j = 0; j < g.kernelW(); j++) {
                int ix = ox * g.strideW() - g.padLeft() + j * g.dilW();
                if (ix < 0 || ix >= g.w()) continue;
                int idx = xOff + iy * g.w() + ix;
                float v = x[idx];
                // strict '>' keeps the first max; the first real element is always taken
                if (arg < 0 || v > max || Float.isNaN(v)) {
                    max = v;
                    arg = idx;
                }
            }
        }
        y[o] = max;
        switches[o] = arg; // PoolGeom guarantees every window reads an input element
    }

    /**
     * Unpooling, the max-pool backward: {@code dx[i] = sum_{o : switches[o] = i} dy[o]}, 0 where no
     * switch points. {@code dx} is overwritten; every switch must lie inside it (the op checks).
     */
    default void maxPoolBackward(PoolGeom g, float[] dy, int[] switches, float[] dx) {
        Arrays.fill(dx, 0f);
        for (int o = 0; o < switches.length; o++) dx[switches[o]] += dy[o];
    }

    /** {@code y = max(x, 0)} elementwise; NaN stays NaN. */
    default void reluForward(float[] x, float[] y) {
        for (int i = 0; i < y.length; i++) y[i] = Math.max(x[i], 0f);
    }

    /**
     * The ReLU backward under its two masks: {@code dx = dy * [x > 0 or !forwardMask] * [dy > 0 or !signalMask]}.
     * The gradient is (forwardMask, no signalMask), the deconvnet (signalMask only), guided backprop both.
     */
    default void reluBackward(float[] x, float[] dy, float[] dx, boolean forwardMask, boolean signalMask) {
        for (int i = 0; i < dx.length; i++) {
            boolean pass = (!forwardMask || x[i] > 0) && (!signalMask || dy[i] > 0);
            dx[i] = pass ? dy[i] : 0f;
        }
    }

    /** {@code y = a + b} elementwise, all three the same length. */
    default void add(float[] a, float[] b, float[] y) {
        for (int i = 0; i < y.length; i++) y[i] = a[i] + b[i];
    }

    /**
     * {@code y = max(a + b, 0)} elementwise (ResNet's block output: the residual sum and the ReLU after it),
     * the bits of {@link #add} then {@link #reluForward} in place, which this default runs; the SIMD layer
     * makes one pass of it.
     */
    default void addRelu(float[] a, float[] b, float[] y) {
        add(a, b, y);
        reluForward(y, y);
    }

    /** Whether every element of {@code x} is finite: no NaN, no infinity (a training step's check of its gradients). */
    default boolean allFinite(float[] x) {
        for (float v : x) if (!Float.isFinite(v)) return false;
        return true;
    }

    /**
     * One SGD update of parameter {@code p} with gradient {@code g}, in place, as PyTorch 1.13's
     * single-tensor {@code torch.optim.SGD} (see {@code nn.train.Sgd} for the formulas): with weight
     * decay {@code lambda}, momentum {@code mu}, {@code keep = 1 - dampening} and learning rate
     * {@code lr}, per element {@code d = fma(lambda, p, g)}; with momentum ({@code buf} not null)
     * {@code buf = d} on the first step, else {@code buf = fma(keep, d, buf * mu)}, then
     * {@code d = fma(mu, buf, d)} (Nesterov) or {@code d = buf}; finally {@code p = fma(-lr, d, p)}.
     * Elementwise and exact to the order written, so any split over threads gives these bits.
     *
     * @param buf the momentum buffer, updated in place; null when {@code mu = 0}
     * @param first true on the first step: the buffer is set to {@code d}, not blended
     */
    default void sgdUpdate(float[] p, float[] g, float[] buf, boolean first, float lr, float momentum, float keep,
                           float weightDecay, boolean nesterov) {
        sgdUpdate(0, p.length, p, g, buf, first, lr, momentum, keep, weightDecay, nesterov);
    }

    /** {@link #sgdUpdate(float[], float[], float[], boolean, float, float, float, float, boolean)} over {@code [i0, i1)}. */
    static void sgdUpdate(int i0, int i1, float[] p, float[] g, float[] buf, boolean first, float lr, float momentum,
                          float keep, float weightDecay, boolean nesterov) {
        for (int i = i0; i < i1; i++) {
            float d = weightDecay != 0 ? Math.fma(weightDecay, p[i], g[i]) : g[i];
            if (buf != null) {
                buf[i] = first ? d : Math.fma(keep, d, buf[i] * momentum);
                d = nesterov ? Math.fma(momentum, buf[i], d) : buf[i];
            }
            p[i] = Math.fma(-lr, d, p[i]);
        }
    }

    /**
     * Batch-norm training forward over {@code x (n, c, hw)} (see {@code ops.BatchNorm2d}): per channel
     * the mean and biased variance of its {@code m = n*hw} values (two passes), {@code invStd = 1/sqrt(var+eps)},
     * {@code y = gamma*(x-mean)*invStd + beta}. Writes {@code y}, {@code mean}, {@code invStd}, {@code var}.
     * The sums run in the order {@link #SUM_PARTIALS} defines.
     *
     * @param gamma (c) or null for 1
     * @param beta (c) or null for 0
     */
    default void batchNormTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                       float[] y, float[] mean, float[] invStd, float[] var) {
        batchNormTrainForward(0, c, n, c, hw, eps, x, gamma, beta, y, mean, invStd, var);
    }

    /** {@link #batchNormTrainForward} for the channels {@code [c0, c1)} only: channels are independent. */
    static void batchNormTrainForward(int c0, int c1, int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                      float[] y, float[] mean, float[] invStd, float[] var) {
        long m = (long) n * hw;
        double[] p = new double[SUM_PARTIALS];
        for (int ch = c0; ch < c1; ch++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                Arrays.fill(p, 0);
                for (int i = 0, o = (b * c + ch) * hw; i < hw; i++) p[i % SUM_PARTIALS] += x[o + i];
                sum += planeTotal(p);
            }
            double mu = sum / m;
            double ss = 0; // two passes: no cancellation when |mean| >> std
            for (int b = 0; b < n; b++) {
                Arrays.fill(p, 0);
                for (int i = 0, o = (b * c + ch) * hw; i < hw; i++) {
                    double d = x[o + i] - mu;
                    p[i % SUM_PARTIALS] += d * d;
                }
                ss += planeTotal(p);
            }
            double s = 1.0 / Math.sqrt(ss / m + eps);
            mean[ch] = (float) mu;
            invStd[ch] = (float) s;
            var[ch] = (float) (ss / m);
            double ga = gamma == null ? 1 : gamma[ch], be = beta == null ? 0 : beta[ch];
            for (int b = 0; b < n; b++)
                for (int i = (b * c + ch) * hw, end = i + hw; i < end; i++) y[i] = (float) (ga * (x[i] - mu) * s + be);
        }
    }

    /**
     * Batch-norm training backward (through the batch statistics):
     * {@code dx = gamma*invStd*(dy - mean(dy) - xhat*mean(dy*xhat))}, {@code dgamma = sum dy*xhat},
     * {@code dbeta = sum dy}; each output may be null when not wanted. The sums run in the order
     * {@link #SUM_PARTIALS} defines.
     */
    default void batchNormTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                                        float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        batchNormTrainBackward(0, c, n, c, hw, x, gamma, dy, mean, invStd, dx, dgamma, dbeta);
    }

    /** {@link #batchNormTrainBackward} for the channels {@code [c0, c1)} only: channels are independent. */
    static void batchNormTrainBackward(int c0, int c1, int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                                       float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        double m = (double) n * hw;
        double[] sums = new double[2];
        for (int ch = c0; ch < c1; ch++) {
            double mu = mean[ch], s = invStd[ch];
            gradientSums(n, c, hw, ch, x, dy, mu, s, sums);
            double sumDy = sums[0], sumDyXhat = sums[1];
            if (dgamma != null) dgamma[ch] = (float) sumDyXhat;
            if (dbeta != null) dbeta[ch] = (float) sumDy;
            if (dx == null) continue;
            double ga = gamma == null ? 1 : gamma[ch];
            double k = ga * s, meanDy = sumDy / m, meanDyXhat = sumDyXhat / m;
            for (int b = 0; b < n; b++)
                for (int i = (b * c + ch) * hw, end = i + hw; i < end; i++) {
                    double xhat = (x[i] - mu) * s;
                    dx[i] = (float) (k * (dy[i] - meanDy - xhat * meanDyXhat));
                }
        }
    }

    /**
     * {@link #batchNormTrainForward} and the ReLU after it, in place on y: {@code y = relu(gamma*(x-mean)*invStd + beta)},
     * the ReLU as {@link #reluForward} gives it. The default runs the two kernels; the SIMD layer takes the
     * ReLU in its map (the same bits, one pass over y fewer).
     */
    default void batchNormReluTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                           float[] y, float[] mean, float[] invStd, float[] var) {
        batchNormTrainForward(n, c, hw, eps, x, gamma, beta, y, mean, invStd, var);
        reluForward(y, y);
    }

    /**
     * The training backward of a batch norm and the ReLU after it, {@code y} the pair's output: the ReLU's
     * gradient {@code dz = dy where y > 0, else +0} ({@link #reluBackward} with the forward mask), then
     * {@link #batchNormTrainBackward} of dz. The default makes dz; the SIMD layer masks dy inside the batch
     * norm's sums and map (the same bits, without dz).
     */
    default void batchNormReluTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] y, float[] dy,
                                            float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        float[] dz = new float[dy.length];
        reluBackward(y, dy, dz, true, false);
        batchNormTrainBackward(n, c, hw, x, gamma, dz, mean, invStd, dx, dgamma, dbeta);
    }

    /** Batch-norm inference forward: {@code y = gamma*(x-mean)/sqrt(var+eps) + beta} with stored statistics. */
    default void batchNormInferenceForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                           float[] mean, float[] var, float[] y) {
        for (int ch = 0; ch < c; ch++) {
            double mu = mean[ch], s = 1.0 / Math.sqrt((double) var[ch] + eps);
            double a = (gamma == null ? 1 : gamma[ch]) * s, be = beta == null ? 0 : beta[ch];
            for (int b = 0; b < n; b++)
                for (int i = (b * c + ch) * hw, end = i + hw; i < end; i++) y[i] = (float) (a * (x[i] - mu) + be);
        }
    }

    /**
     * Batch-norm inference backward (statistics fixed): {@code dx = dy*gamma*s}, {@code dgamma = sum dy*(x-mean)*s},
     * {@code dbeta = sum dy}, {@code s = 1/sqrt(var+eps)}; each output may be null when not wanted.
     */
    default void batchNormInferenceBackward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] mean,
                                            float[] var, float[] dy, float[] dx, float[] dgamma, float[] dbeta) {
        double[] sums = new double[2];
        for (int ch = 0; ch < c; ch++) {
            double mu = mean[ch], s = 1.0 / Math.sqrt((double) var[ch] + eps);
            double a = (gamma == null ? 1 : gamma[ch]) * s;
            gradientSums(n, c, hw, ch, x, dy, mu, s, sums);
            if (dgamma != null) dgamma[ch] = (float) sums[1];
            if (dbeta != null) dbeta[ch] = (float) sums[0];
            if (dx != null)
                for (int b = 0; b < n; b++)
                    for (int i = (b * c + ch) * hw, end = i + hw; i < end; i++) dx[i] = (float) (a * dy[i]);
        }
    }

    /**
     * Partial sums a plane of batch norm's sums runs in: each sum over a channel (of x, of
     * {@code (x-mean)^2}, of dy, of {@code dy*xhat}) adds element i of a plane into partial
     * {@code i % SUM_PARTIALS} (doubles from zero, i ascending), reduces the partials to the plane's
     * total by {@link #planeTotal}, and adds the planes' totals in the order of the images. Sixteen
     * independent chains instead of one: the SIMD kernels keep them in the lanes of two vectors of
     * doubles and give the same bits (one chain waited ~4 cycles on every add: 2 cycles a float with
     * two channels side by side, the sums were most of batch norm's time in a training step).
     */
    int SUM_PARTIALS = 16;

    /**
     * A plane's total from its {@value #SUM_PARTIALS} partials, in a fixed order: {@code a[j] = p[j] + p[j+8]},
     * then {@code ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))}.
     */
    static double planeTotal(double[] p) {
        double a0 = p[0] + p[8], a1 = p[1] + p[9], a2 = p[2] + p[10], a3 = p[3] + p[11];
        double a4 = p[4] + p[12], a5 = p[5] + p[13], a6 = p[6] + p[14], a7 = p[7] + p[15];
        return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
    }

    /** {@code out[0] = sum dy}, {@code out[1] = sum dy * ((x - mu) * s)} over channel ch, in the order of {@link #SUM_PARTIALS}. */
    private static void gradientSums(int n, int c, int hw, int ch, float[] x, float[] dy, double mu, double s, double[] out) {
        double[] p = new double[SUM_PARTIALS], q = new double[SUM_PARTIALS];
        double sumDy = 0, sumDyXhat = 0;
        for (int b = 0; b < n; b++) {
            Arrays.fill(p, 0);
            Arrays.fill(q, 0);
            for (int i = 0, o = (b * c + ch) * hw; i < hw; i++) {
                p[i % SUM_PARTIALS] += dy[o + i];
                q[i % SUM_PARTIALS] += dy[o + i] * ((x[o + i] - mu) * s);
            }
            sumDy += planeTotal(p);
            sumDyXhat += planeTotal(q);
        }
        out[0] = sumDy;
        out[1] = sumDyXhat;
    }
}
