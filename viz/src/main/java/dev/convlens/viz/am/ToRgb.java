package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import org.joml.Matrix3f;
import org.joml.Vector3f;

/**
 * The last stage of an image parameterization: optional colour decorrelation, then an optional
 * sigmoid to [0, 1] (Lucid's {@code to_valid_rgb}).
 *
 * <h2>Forward</h2>
 * For each pixel's 3-vector {@code t}: {@code r = M t} with {@code M = S / max_j ||S[:, j]||},
 * where {@code S} is Lucid's {@code color_correlation_svd_sqrt} (the square root of ImageNet's
 * colour covariance) and the norm is over columns; then {@code y = sigmoid(r) = 1/(1+e^{-r})}.
 * Shapes: {@code t, y (B, 3, H, W)}.
 *
 * <h2>Backward</h2>
 * {@code dr = dy * y (1 - y)} (the sigmoid's derivative from the saved output), then
 * {@code dt = M^T dr} (the transpose of a linear map is its adjoint).
 */
public final class ToRgb {
    /** Lucid's color_correlation_svd_sqrt, rows = output R, G, B. */
    static final float[][] SVD_SQRT = {{0.26f, 0.09f, 0.02f}, {0.27f, 0.00f, -0.05f}, {0.27f, -0.09f, 0.03f}};

    public final boolean decorrelate, sigmoid;
    /** M, normalized by its largest column norm (JOML: set(column, row, v)). */
    public final Matrix3f m = new Matrix3f();
    private Tensor saved;

    public ToRgb(boolean decorrelate, boolean sigmoid) {
        this.decorrelate = decorrelate;
        this.sigmoid = sigmoid;
        for (int r = 0; r < 3; r++) for (int c = 0; c < 3; c++) m.set(c, r, SVD_SQRT[r][c]);
        Vector3f col = new Vector3f();
        float maxNorm = 0;
        for (int c = 0; c < 3; c++) maxNorm = Math.max(maxNorm, m.getColumn(c, col).length());
        m.scale(1f / maxNorm);
    }

    /** y from t; overwrites nothing. Pixels in chunks over {@code k}'s threads ({@link Chunks}: the same bits on any count). */
    public Tensor forward(Kernels k, Tensor t) {
        Shapes.requireRank("ToRgb", "t", t, 4);
        Shapes.check(t.dim(1) == 3, "ToRgb", "expected 3 channels but got " + Shapes.str(t.shape()));
        Tensor y = Tensor.zeros(t.shape());
        int hw = t.dim(2) * t.dim(3);
        Chunks.each(k, t.dim(0), hw, (n, i0, i1) -> forward(t.data, y.data, n * 3 * hw, hw, i0, i1));
        saved = y;
        return y;
    }

    /** Pixels i0..i1-1 of the image at o: y = sigmoid(M t). */
    private void forward(float[] t, float[] y, int o, int hw, int i0, int i1) {
        for (int c = 0; c < 3; c++) System.arraycopy(t, o + c * hw + i0, y, o + c * hw + i0, i1 - i0);
        if (decorrelate) mix(y, o + i0, o + i1, hw, false);
        if (sigmoid)
            for (int c = 0; c < 3; c++)
                for (int i = o + c * hw + i0, end = o + c * hw + i1; i < end; i++) y[i] = (float) (1 / (1 + Math.exp(-y[i])));
    }

    /** dt from dy, for the last forward. */
    public Tensor backward(Kernels k, Tensor dy) {
        Shapes.requireSameShape("ToRgb backward", "dy", dy, "y", saved);
        Tensor dt = Tensor.zeros(dy.shape());
        int hw = dy.dim(2) * dy.dim(3);
        Chunks.each(k, dy.dim(0), hw, (n, i0, i1) -> backward(dy.data, saved.data, dt.data, n * 3 * hw, hw, i0, i1));
        return dt;
    }

    /** Pixels i0..i1-1 of the image at o: dt = M^T (dy * y (1 - y)). */
    private void backward(float[] dy, float[] y, float[] dt, int o, int hw, int i0, int i1) {
        for (int c = 0; c < 3; c++)
            for (int i = o + c * hw + i0, end = o + c * hw + i1; i < end; i++) dt[i] = sigmoid ? dy[i] * (y[i] * (1 - y[i])) : dy[i];
        if (decorrelate) mix(dt, o + i0, o + i1, hw, true);
    }

    /** In place, each pixel i0..i1-1 (its channels hw apart): {@code a = M a}, or {@code M^T a} when {@code transpose}. */
    private void mix(float[] a, int i0, int i1, int hw, boolean transpose) {
        Vector3f v = new Vector3f();
        for (int i = i0; i < i1; i++) {
            v.set(a[i], a[i + hw], a[i + 2 * hw]);
            if (transpose) m.transformTranspose(v);
            else m.transform(v);
            a[i] = v.x;
            a[i + hw] = v.y;
            a[i + 2 * hw] = v.z;
        }
    }
}
