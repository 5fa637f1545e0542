package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Image priors for activation maximization (Simonyan et al. 2014; Mahendran and Vedaldi 2015;
 * Yosinski et al. 2015). Each penalty R returns its value and adds {@code -lambda dR/dx} into a
 * gradient of the objective being maximized, {@code J - lambda R}. Images {@code x (B, C, H, W)}.
 */
public final class Regularizers {
    private Regularizers() {}

    /**
     * L2 decay towards mid grey: {@code R = sum (x - 0.5)^2}, {@code dR/dx = 2 (x - 0.5)}.
     * Adds {@code -lambda dR/dx} to {@code dJ}; returns R.
     */
    public static double l2(Tensor x, double lambda, Tensor dJ) {
        Shapes.requireSameShape("l2", "x", x, "dJ", dJ);
        double r = 0;
        for (int i = 0; i < x.data.length; i++) {
            double d = x.data[i] - 0.5;
            r += d * d;
            dJ.data[i] -= (float) (lambda * 2 * d);
        }
        return r;
    }

    /**
     * Anisotropic total variation, as {@code tf.image.total_variation} (Lucid):
     * <pre>
     *   R = sum_{b,c,y,x} |x[y+1, x] - x[y, x]| + |x[y, x+1] - x[y, x]|
     *   dR/dx[y, x] = sign(x[y,x] - x[y-1,x]) - sign(x[y+1,x] - x[y,x]) + (the same along x)
     * </pre>
     * with {@code sign(0) = 0} at ties (a subgradient). Adds {@code -lambda dR/dx} to {@code dJ}; returns R.
     */
    public static double totalVariation(Tensor x, double lambda, Tensor dJ) {
        Shapes.requireRank("totalVariation", "x", x, 4);
        Shapes.requireSameShape("totalVariation", "x", x, "dJ", dJ);
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
        double r = 0;
        float l = (float) lambda;
        for (int p = 0; p < planes; p++) {
            int o = p * h * w;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    int i = o + y * w + xx;
                    if (y + 1 < h) {
                        float d = x.data[i + w] - x.data[i];
                        r += Math.abs(d);
                        float s = Math.signum(d) * l; // d|d|/d x[y+1] = sign, d/d x[y] = -sign
                        dJ.data[i + w] -= s;
                        dJ.data[i] += s;
                    }
                    if (xx + 1 < w) {
                        float d = x.data[i + 1] - x.data[i];
                        r += Math.abs(d);
                        float s = Math.signum(d) * l;
                        dJ.data[i + 1] -= s;
                        dJ.data[i] += s;
                    }
                }
        }
        return r;
    }

    /**
     * In place: each (H, W) plane of {@code x (..., H, W)} convolved with a normalized Gaussian of
     * standard deviation {@code sigma} pixels, truncated at {@code ceil(3 sigma)}, separably
     * (rows, then columns), edges replicated. {@code sigma <= 0} does nothing.
     */
    public static void gaussianBlur(Tensor x, double sigma) {
        if (sigma <= 0) return;
        int h = x.dim(-2), w = x.dim(-1), planes = x.size() / (h * w);
        int rad = (int) Math.ceil(3 * sigma);
        float[] k = new float[2 * rad + 1];
        double sum = 0;
        for (int i = -rad; i <= rad; i++) sum += Math.exp(-i * i / (2 * sigma * sigma));
        for (int i = -rad; i <= rad; i++) k[i + rad] = (float) (Math.exp(-i * i / (2 * sigma * sigma)) / sum);
        float[] tmp = new float[h * w];
        for (int p = 0; p < planes; p++) {
            int o = p * h * w;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    float a = 0;
                    for (int i = -rad; i <= rad; i++) a += k[i + rad] * x.data[o + y * w + Math.min(w - 1, Math.max(0, xx + i))];
                    tmp[y * w + xx] = a;
                }
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    float a = 0;
                    for (int i = -rad; i <= rad; i++) a += k[i + rad] * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + xx];
                    x.data[o + y * w + xx] = a;
                }
        }
    }
}
