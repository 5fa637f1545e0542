package dev.convlens.viz;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Linear centred kernel alignment (Kornblith, Norouzi, Lee and Hinton, "Similarity of Neural
 * Network Representations Revisited", ICML 2019): how alike two layers' representations of the
 * same {@code n} examples are, whatever their widths.
 *
 * <h2>Definition</h2>
 * With {@code X (n, p)} and {@code Y (n, q)} the activations (one row per example, the
 * features of a layer flattened: {@code C*H*W} values for a convolution's output), each
 * <em>column centred</em> (its mean over the examples subtracted),
 * <pre>
 *   CKA(X, Y) = ||Y^T X||_F^2 / ( ||X^T X||_F  ||Y^T Y||_F )
 * </pre>
 * a number in {@code [0, 1]}: 1 when {@code Y = s X Q} for an orthogonal {@code Q} and a scalar
 * {@code s != 0}; invariant to orthogonal transforms and isotropic scaling of either side, not to
 * arbitrary invertible linear maps.
 *
 * <h2>How it is computed</h2>
 * Through the {@code n x n} Gram matrices {@code K = X X^T}, {@code L = Y Y^T} (of the centred
 * activations): {@code ||Y^T X||_F^2 = tr(X^T Y Y^T X) = tr(K L) = <K, L>_F} and
 * {@code ||X^T X||_F = ||X X^T||_F = ||K||_F}, so
 * <pre>
 *   CKA = <K, L>_F / ( ||K||_F ||L||_F )
 * </pre>
 * which costs {@code O(n^2 (p + q))} and {@code n^2} doubles, instead of the {@code p x q} matrix
 * {@code Y^T X} (a 12,544-wide layer would need a 12,544 x 12,544 one). Sums are accumulated in
 * double. A side whose centred activations are all zero (a constant layer) has no direction to
 * compare: the result is NaN.
 */
public final class Cka {
    private Cka() {}

    /** Linear CKA between {@code x (n, ...)} and {@code y (n, ...)}: dimension 0 is the example, the rest are flattened. */
    public static double linear(Tensor x, Tensor y) {
        Shapes.check(x.rank() >= 1 && y.rank() >= 1 && x.dim(0) == y.dim(0), "Cka",
                "x " + Shapes.str(x.shape()) + " and y " + Shapes.str(y.shape()) + " must hold the same number of examples (dimension 0)");
        int n = x.dim(0);
        return linear(x.data, n, x.size() / Math.max(n, 1), y.data, y.size() / Math.max(n, 1));
    }

    /** Linear CKA between {@code x (n, p)} and {@code y (n, q)}, row-major. */
    public static double linear(float[] x, int n, int p, float[] y, int q) {
        Shapes.check(n >= 2 && p >= 1 && q >= 1, "Cka", "needs at least 2 examples and 1 feature a side, got n " + n + ", p " + p + ", q " + q);
        Shapes.check(x.length == (long) n * p && y.length == (long) n * q, "Cka",
                "x has " + x.length + " values for (" + n + ", " + p + "), y " + y.length + " for (" + n + ", " + q + ")");
        return fromGrams(centredGram(x, n, p), centredGram(y, n, q), n);
    }

    /**
     * {@code <K, L>_F / (||K||_F ||L||_F)} for two {@code n x n} centred Gram matrices (row-major)
     * from {@link #centredGram}: linear CKA when the activations are too big to keep side by side.
     */
    public static double fromGrams(double[] k, double[] l, int n) {
        Shapes.check(k.length == (long) n * n && l.length == (long) n * n, "Cka", "Gram matrices of " + k.length + " and "
                + l.length + " values are not " + n + " x " + n);
        double kl = 0, kk = 0, ll = 0;
        for (int i = 0; i < n * n; i++) {
            kl += k[i] * l[i];
            kk += k[i] * k[i];
            ll += l[i] * l[i];
        }
        return kk == 0 || ll == 0 ? Double.NaN : kl / (Math.sqrt(kk) * Math.sqrt(ll));
    }

    /**
     * {@code K = Xc Xc^T (n, n)} where {@code Xc} is {@code x (n, p)} with each column's mean over
     * the {@code n} rows subtracted.
     */
    public static double[] centredGram(float[] x, int n, int p) {
        double[] mean = new double[p];
        for (int i = 0; i < n; i++) for (int f = 0; f < p; f++) mean[f] += x[i * p + f];
        for (int f = 0; f < p; f++) mean[f] /= n;
        double[] xc = new double[n * p]; // (n, p) centred
        for (int i = 0; i < n; i++) for (int f = 0; f < p; f++) xc[i * p + f] = x[i * p + f] - mean[f];
        double[] k = new double[n * n];
        for (int i = 0; i < n; i++) {
            int oi = i * p;
            for (int j = i; j < n; j++) {
                int oj = j * p;
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int f = 0;
                for (; f + 3 < p; f += 4) {
                    s0 += xc[oi + f] * xc[oj + f];
                    s1 += xc[oi + f + 1] * xc[oj + f + 1];
                    s2 += xc[oi + f + 2] * xc[oj + f + 2];
                    s3 += xc[oi + f + 3] * xc[oj + f + 3];
                }
                for (; f < p; f++) s0 += xc[oi + f] * xc[oj + f];
                double s = (s0 + s1) + (s2 + s3);
                k[i * n + j] = s;
                k[j * n + i] = s;
            }
        }
        return k;
    }
}
