package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;

/**
 * Batch normalization (Ioffe and Szegedy, 2015) over the channels of {@code x (N,C,H,W)}, or of
 * {@code x (N,C)} (PyTorch's BatchNorm1d on a batch of vectors: the same thing with H = W = 1),
 * with PyTorch's conventions.
 *
 * <h2>Training forward</h2>
 * Per channel c, over its {@code M = N*H*W} values (sums below run over n, h, w):
 * <pre>
 *   mean[c]   = (1/M) sum x
 *   var[c]    = (1/M) sum (x - mean)^2                     (biased: used to normalize)
 *   invStd[c] = 1 / sqrt(var + eps)
 *   xhat      = (x - mean) * invStd
 *   y         = gamma[c] * xhat + beta[c]
 *   running_mean = (1 - momentum) * running_mean + momentum * mean
 *   running_var  = (1 - momentum) * running_var  + momentum * var * M/(M-1)   (unbiased)
 * </pre>
 * As in PyTorch, training needs M > 1 (one value per channel has no variance).
 *
 * <h2>Training backward (through the batch statistics)</h2>
 * Write s = invStd and g_i = dL/dxhat_i = gamma*dy_i, over the M values i of one channel. Then
 * {@code dmean/dx_i = 1/M}, {@code dvar/dx_i = (2/M)(x_i - mean)} (the term through the mean
 * sums to zero), so {@code ds/dx_i = -(1/2)(var+eps)^(-3/2) dvar/dx_i = -s^3 (x_i - mean)/M}, and
 * <pre>
 *   dxhat_j/dx_i = s (delta_ij - 1/M) - (x_j - mean) s^3 (x_i - mean)/M
 *   dx_i = sum_j g_j dxhat_j/dx_i = s (g_i - (1/M) sum_j g_j - xhat_i (1/M) sum_j g_j xhat_j)
 *        = gamma * s / M * (M dy_i - sum_j dy_j - xhat_i sum_j dy_j xhat_j)
 *   dgamma = sum_i dy_i xhat_i,     dbeta = sum_i dy_i
 * </pre>
 * (the running statistics are bookkeeping and take no gradient).
 *
 * <h2>Inference</h2>
 * An affine map per channel with the stored statistics:
 * {@code y = gamma * (x - mean) / sqrt(var + eps) + beta}, so with {@code s = 1/sqrt(var+eps)}:
 * {@code dx = dy * gamma * s}, {@code dgamma = sum dy (x - mean) s}, {@code dbeta = sum dy}.
 *
 * <p>{@code gamma} and {@code beta} have shape (C); null stands for gamma = 1 and beta = 0
 * (PyTorch's {@code affine=False}).
 *
 * @param eps added to the variance (PyTorch's default 1e-5)
 * @param momentum weight of the new batch statistic in the running averages (PyTorch's default
 *        0.1; note ONNX's {@code momentum} is the weight of the old value, i.e. 1 - this)
 */
public record BatchNorm2d(float eps, float momentum) {
    private static final String OP = "BatchNorm2d";
    private static final Kernels REFERENCE = new ReferenceKernels();

    public BatchNorm2d {
        if (!(eps >= 0) || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(OP + ": eps must be >= 0 and momentum in [0,1], got eps " + eps
                    + ", momentum " + momentum);
        }
    }

    /** PyTorch's defaults: eps 1e-5, momentum 0.1. */
    public static BatchNorm2d defaults() {
        return new BatchNorm2d(1e-5f, 0.1f);
    }

    /** The training output and what the backward needs: the batch mean and 1/sqrt(biased var + eps), per channel. */
    public record TrainResult(Tensor y, float[] mean, float[] invStd) {}

    /** The gradients asked for; those not asked for are null. */
    public record Grads(Tensor dx, Tensor dgamma, Tensor dbeta) {}

    /**
     * Normalizes with the batch statistics and updates the running statistics in place.
     *
     * @param runningMean (C), updated in place; null (with runningVar null) to not track
     * @param runningVar (C), updated in place with the unbiased batch variance
     */
    public TrainResult forwardTrain(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar) {
        return forwardTrain(REFERENCE, x, gamma, beta, runningMean, runningVar);
    }

    /** {@link #forwardTrain(Tensor, Tensor, Tensor, Tensor, Tensor)} on the kernels {@code kern}. */
    public TrainResult forwardTrain(Kernels kern, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                   Tensor runningVar) {
        return forwardTrain(kern, x, gamma, beta, runningMean, runningVar, false);
    }

    /**
     * As above; with {@code relu}, y is the ReLU of the batch norm's output ({@link Kernels#batchNormReluTrainForward}:
     * a network's batch norm and the ReLU after it in one kernel).
     */
    public TrainResult forwardTrain(Kernels kern, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                   Tensor runningVar, boolean relu) {
        int c = channels(x);
        requireChannelVector("gamma", gamma, c, x, true);
        requireChannelVector("beta", beta, c, x, true);
        Shapes.check((runningMean == null) == (runningVar == null), OP,
                "running mean and running var must both be given or both be null");
        requireChannelVector("running mean", runningMean, c, x, true);
        requireChannelVector("running var", runningVar, c, x, true);
        int n = x.dim(0), hw = x.size() / (n * c);
        long m = (long) n * hw;
        Shapes.check(m > 1, OP, "training needs more than 1 value per channel, got input " + Shapes.str(x.shape()));

        Tensor y = Tensor.empty(x.shape());                 // the kernel writes every element
        float[] mean = new float[c], invStd = new float[c], var = new float[c];
        if (relu) kern.batchNormReluTrainForward(n, c, hw, eps, x.data, data(gamma), data(beta), y.data, mean, invStd, var);
        else kern.batchNormTrainForward(n, c, hw, eps, x.data, data(gamma), data(beta), y.data, mean, invStd, var);
        if (runningMean != null) updateRunning(runningMean, runningVar, mean, var, m);
        return new TrainResult(y, mean, invStd);
    }

    /**
     * The running statistics after one training batch of {@code m} values per channel with batch
     * mean and biased variance {@code var}: {@code running = (1 - momentum) running + momentum batch},
     * the variance made unbiased ({@code var * m / (m - 1)}) as PyTorch does. In place.
     */
    public void updateRunning(Tensor runningMean, Tensor runningVar, float[] mean, float[] var, long m) {
        for (int ch = 0; ch < mean.length; ch++) {
            runningMean.data[ch] = (float) ((1.0 - momentum) * runningMean.data[ch] + momentum * mean[ch]);
            runningVar.data[ch] = (float) ((1.0 - momentum) * runningVar.data[ch]
                    + momentum * ((double) var[ch] * m / (m - 1)));
        }
    }

    /** The training-mode gradients (through the batch mean and variance); only those flagged are computed. */
    public Grads backwardTrain(Tensor x, Tensor gamma, Tensor dy, float[] mean, float[] invStd,
                               boolean wantDx, boolean wantDgamma, boolean wantDbeta) {
        return backwardTrain(REFERENCE, x, gamma, dy, mean, invStd, wantDx, wantDgamma, wantDbeta);
    }

    /** {@link #backwardTrain(Tensor, Tensor, Tensor, float[], float[], boolean, boolean, boolean)} on {@code kern}. */
    public Grads backwardTrain(Kernels kern, Tensor x, Tensor gamma, Tensor dy, float[] mean, float[] invStd,
                               boolean wantDx, boolean wantDgamma, boolean wantDbeta) {
        return backwardTrain(kern, x, gamma, null, dy, mean, invStd, wantDx, wantDgamma, wantDbeta);
    }

    /**
     * As above, through the ReLU after the batch norm too when {@code reluOut} (the pair's output, the
     * {@code y} of {@code forwardTrain(..., relu = true)}) is given: dy counts only where {@code reluOut > 0}
     * ({@link Kernels#batchNormReluTrainBackward}).
     */
    public Grads backwardTrain(Kernels kern, Tensor x, Tensor gamma, Tensor reluOut, Tensor dy, float[] mean, float[] invStd,
                               boolean wantDx, boolean wantDgamma, boolean wantDbeta) {
        int c = channels(x);
        requireChannelVector("gamma", gamma, c, x, true);
        Shapes.requireSameShape(OP, "output gradient dy", dy, "input x", x);
        if (reluOut != null) Shapes.requireSameShape(OP, "the ReLU's output", reluOut, "input x", x);
        requireSaved("mean", mean, c, x);
        requireSaved("invStd", invStd, c, x);
        int n = x.dim(0), hw = x.size() / (n * c);
        Tensor dx = wantDx ? Tensor.empty(x.shape()) : null;  // the kernel writes every element
        Tensor dgamma = wantDgamma ? Tensor.zeros(c) : null;
        Tensor dbeta = wantDbeta ? Tensor.zeros(c) : null;
        if (reluOut != null) kern.batchNormReluTrainBackward(n, c, hw, x.data, data(gamma), reluOut.data, dy.data, mean, invStd,
                data(dx), data(dgamma), data(dbeta));
        else kern.batchNormTrainBackward(n, c, hw, x.data, data(gamma), dy.data, mean, invStd,
                data(dx), data(dgamma), data(dbeta));
        return new Grads(dx, dgamma, dbeta);
    }

    /** y = gamma * (x - mean) / sqrt(var + eps) + beta with stored statistics {@code mean}, {@code var} (C). */
    public Tensor forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor var) {
        return forwardInference(REFERENCE, x, gamma, beta, mean, var);
    }

    /** {@link #forwardInference(Tensor, Tensor, Tensor, Tensor, Tensor)} on the kernels {@code kern}. */
    public Tensor forwardInference(Kernels kern, Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor var) {
        int c = channels(x);
        requireChannelVector("gamma", gamma, c, x, true);
        requireChannelVector("beta", beta, c, x, true);
        requireChannelVector("mean", mean, c, x, false);
        requireChannelVector("var", var, c, x, false);
        int n = x.dim(0), hw = x.size() / (n * c);
        Tensor y = Tensor.empty(x.shape());                 // the kernel writes every element
        kern.batchNormInferenceForward(n, c, hw, eps, x.data, data(gamma), data(beta), mean.data, var.data, y.data);
        return y;
    }

    /** The inference map as {@code y = scale[c] * x + shift[c]} (C values each). */
    public record Affine(float[] scale, float[] shift) {}

    /**
     * The inference map of {@link #forwardInference} written as one multiply-add per value, which a
     * convolution before it can apply in its epilogue (batch norm folded into the convolution):
     * {@code scale = gamma / sqrt(var + eps)}, {@code shift = beta - mean * scale}, computed in double
     * and rounded once. {@code gamma} and {@code beta} may be null (1 and 0).
     */
    public Affine affine(int c, Tensor gamma, Tensor beta, Tensor mean, Tensor var) {
        Shapes.check(c > 0, OP, "channel count must be positive, got " + c);
        Tensor shape = Tensor.zeros(1, c);
        requireChannelVector("gamma", gamma, c, shape, true);
        requireChannelVector("beta", beta, c, shape, true);
        requireChannelVector("mean", mean, c, shape, false);
        requireChannelVector("var", var, c, shape, false);
        float[] scale = new float[c], shift = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double a = (gamma == null ? 1 : gamma.data[ch]) / Math.sqrt((double) var.data[ch] + eps);
            scale[ch] = (float) a;
            shift[ch] = (float) ((beta == null ? 0 : beta.data[ch]) - a * mean.data[ch]);
        }
        return new Affine(scale, shift);
    }

    /** The inference-mode gradients (statistics held fixed); only those flagged are computed. */
    public Grads backwardInference(Tensor x, Tensor gamma, Tensor mean, Tensor var, Tensor dy,
                                   boolean wantDx, boolean wantDgamma, boolean wantDbeta) {
        return backwardInference(REFERENCE, x, gamma, mean, var, dy, wantDx, wantDgamma, wantDbeta);
    }

    /** {@link #backwardInference(Tensor, Tensor, Tensor, Tensor, Tensor, boolean, boolean, boolean)} on {@code kern}. */
    public Grads backwardInference(Kernels kern, Tensor x, Tensor gamma, Tensor mean, Tensor var, Tensor dy,
                                   boolean wantDx, boolean wantDgamma, boolean wantDbeta) {
        int c = channels(x);
        requireChannelVector("gamma", gamma, c, x, true);
        requireChannelVector("mean", mean, c, x, false);
        requireChannelVector("var", var, c, x, false);
        Shapes.requireSameShape(OP, "output gradient dy", dy, "input x", x);
        int n = x.dim(0), hw = x.size() / (n * c);
        Tensor dx = wantDx ? Tensor.empty(x.shape()) : null;  // the kernel writes every element
        Tensor dgamma = wantDgamma ? Tensor.zeros(c) : null;
        Tensor dbeta = wantDbeta ? Tensor.zeros(c) : null;
        kern.batchNormInferenceBackward(n, c, hw, eps, x.data, data(gamma), mean.data, var.data, dy.data,
                data(dx), data(dgamma), data(dbeta));
        return new Grads(dx, dgamma, dbeta);
    }

    private static float[] data(Tensor t) {
        return t == null ? null : t.data;
    }

    /** C, after checking x is (N,C,H,W) or (N,C). */
    private static int channels(Tensor x) {
        Shapes.check(x != null, OP, "input x is null");
        Shapes.check(x.rank() == 4 || x.rank() == 2, OP,
                "input x must be (N,C,H,W) or (N,C) but has shape " + Shapes.str(x.shape()));
        return x.dim(1);
    }

    private static void requireChannelVector(String what, Tensor t, int c, Tensor x, boolean nullable) {
        if (t == null) {
            Shapes.check(nullable, OP, what + " is null");
            return;
        }
        Shapes.check(t.rank() == 1 && t.dim(0) == c, OP, what + " " + Shapes.str(t.shape()) + " must have shape ("
                + c + ") to match input " + Shapes.str(x.shape()));
    }

    private static void requireSaved(String what, float[] v, int c, Tensor x) {
        Shapes.check(v != null && v.length == c, OP, "saved " + what + " must have " + c + " values to match input "
                + Shapes.str(x.shape()) + " but has " + (v == null ? "none" : String.valueOf(v.length)));
    }
}
