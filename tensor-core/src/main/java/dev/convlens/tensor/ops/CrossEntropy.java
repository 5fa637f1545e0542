package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Softmax cross-entropy with integer class labels, averaged over the batch (PyTorch's
 * {@code F.cross_entropy(logits, labels)} with its default {@code reduction='mean'}; no
 * class weights, label smoothing or ignored index).
 *
 * <h2>Forward</h2>
 * Shapes: {@code logits z (N,K)}, {@code labels t (N)} with {@code 0 <= t_n < K}. With
 * {@code p_n = softmax(z_n)} and the log-sum-exp {@code lse(z_n) = m_n + log sum_k exp(z_nk - m_n)},
 * {@code m_n = max_k z_nk}:
 * <pre>
 *   L = (1/N) sum_n -log p_n[t_n] = (1/N) sum_n (lse(z_n) - z_n[t_n])
 * </pre>
 * computed through the log-sum-exp (never the log of a probability that may have underflowed),
 * accumulated in double. The probabilities are returned for the backward pass.
 *
 * <h2>Backward</h2>
 * {@code d lse(z_n) / d z_nk = p_nk}, so
 * <pre>
 *   dL/dz_nk = dLoss * (p_nk - 1[k = t_n]) / N
 * </pre>
 * where {@code dLoss} is the gradient of the final objective with respect to L (1 when L is
 * the objective).
 */
public final class CrossEntropy {
    private static final String OP = "CrossEntropy";

    private CrossEntropy() {}

    /** The mean loss and the softmax probabilities {@code p (N,K)}. */
    public record Result(float loss, Tensor probs) {}

    /** Checks z (N,K) against labels (N), every label in [0,K). */
    private static void checkLabels(String what, Tensor z, int[] labels) {
        Shapes.requireRank(OP, what + " (N,K)", z, 2);
        Shapes.check(labels != null, OP, "labels are null");
        int n = z.dim(0), k = z.dim(1);
        Shapes.check(labels.length == n, OP, "there are " + labels.length + " labels but " + what + " "
                + Shapes.str(z.shape()) + " has " + n + " rows");
        for (int i = 0; i < n; i++) {
            Shapes.check(labels[i] >= 0 && labels[i] < k, OP, "labels[" + i + "] = " + labels[i]
                    + " is out of range [0," + k + ") for " + what + " " + Shapes.str(z.shape()));
        }
    }

    /** L = mean_n -log softmax(z_n)[t_n], and the probabilities. */
    public static Result forward(Tensor logits, int[] labels) {
        checkLabels("logits", logits, labels);
        int n = logits.dim(0), k = logits.dim(1);
        Tensor probs = Tensor.zeros(n, k); // (N,K)
        float[] z = logits.data, p = probs.data;
        double total = 0;
        for (int r = 0; r < n; r++) {
            int off = r * k;
            float m = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) m = Math.max(m, z[off + c]);
            double sum = 0;
            for (int c = 0; c < k; c++) sum += StrictMath.exp((double) z[off + c] - m);
            double lse = m + StrictMath.log(sum);
            for (int c = 0; c < k; c++) p[off + c] = (float) StrictMath.exp(z[off + c] - lse);
            total += lse - z[off + labels[r]];
        }
        return new Result((float) (total / n), probs);
    }

    /** dL/dz = dLoss * (p - onehot(t)) / N. */
    public static Tensor backward(Tensor probs, int[] labels, float dLoss) {
        checkLabels("probs", probs, labels);
        int n = probs.dim(0), k = probs.dim(1);
        Tensor dz = Tensor.zeros(n, k); // (N,K)
        float[] p = probs.data, d = dz.data;
        double scale = (double) dLoss / n;
        for (int r = 0; r < n; r++) {
            int off = r * k;
            for (int c = 0; c < k; c++) d[off + c] = (float) (scale * (p[off + c] - (c == labels[r] ? 1.0 : 0.0)));
        }
        return dz;
    }
}
