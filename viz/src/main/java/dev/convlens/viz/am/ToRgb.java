package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
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

    /** y from t; overwrites nothing. */
    public Tensor forward(Tensor t) {
        Shapes.requireRank("ToRgb", "t", t, 4);
        Shapes.check(t.dim(1) == 3, "ToRgb", "expected 3 channels but got " + Shapes.str(t.shape()));
        Tensor y = t.copy();
        int b = t.dim(0), hw = t.dim(2) * t.dim(3);
        if (decorrelate) {
            Vector3f v = new Vector3f();
            for (int n = 0; n < b; n++) {
                int o = n * 3 * hw;
                for (int i = 0; i < hw; i++) {
                    v.set(t.data[o + i], t.data[o + hw + i], t.data[o + 2 * hw + i]);
                    m.transform(v);
                    y.data[o + i] = v.x;
                    y.data[o + hw + i] = v.y;
                    y.data[o + 2 * hw + i] = v.z;
                }
            }
        }
        if (sigmoid) for (int i = 0; i < y.data.length; i++) y.data[i] = (float) (1 / (1 + Math.exp(-y.data[i])));
        saved = y;
        return y;
    }

    /** dt from dy, for the last forward. */
    public Tensor backward(Tensor dy) {
        Shapes.requireSameShape("ToRgb backward", "dy", dy, "y", saved);
        Tensor dt = dy.copy();
        if (sigmoid) {
            float[] y = saved.data;
            for (int i = 0; i < dt.data.length; i++) dt.data[i] *= y[i] * (1 - y[i]);
        }
        if (decorrelate) {
            int b = dy.dim(0), hw = dy.dim(2) * dy.dim(3);
            Vector3f v = new Vector3f();
            for (int n = 0; n < b; n++) {
                int o = n * 3 * hw;
                for (int i = 0; i < hw; i++) {
                    v.set(dt.data[o + i], dt.data[o + hw + i], dt.data[o + 2 * hw + i]);
                    m.transformTranspose(v);
                    dt.data[o + i] = v.x;
                    dt.data[o + hw + i] = v.y;
                    dt.data[o + 2 * hw + i] = v.z;
                }
            }
        }
        return dt;
    }
}
