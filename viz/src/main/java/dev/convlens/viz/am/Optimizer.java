package dev.convlens.viz.am;

import dev.convlens.tensor.kernels.Kernels;

/**
 * A minimal optimizer over one flat parameter array, minimizing a loss whose gradient is given
 * (activation maximization passes {@code -dJ/dp}). Only what this package needs: the training
 * issue owns the general optimizers of {@code dev.convlens.nn}.
 */
public sealed interface Optimizer {
    /**
     * Updates {@code p} in place from {@code g = dLoss/dp}, element by element, in chunks over {@code k}'s
     * threads ({@link Kernels#parallelFor}): the same bits on any thread count.
     */
    void step(Kernels k, float[] p, float[] g);

    /** Plain gradient descent: {@code p -= lr g}. */
    record Sgd(double lr) implements Optimizer {
        public void step(Kernels k, float[] p, float[] g) {
            Chunks.each(k, 1, p.length, (u, i0, i1) -> {
                for (int i = i0; i < i1; i++) p[i] -= (float) (lr * g[i]);
            });
        }
    }

    /**
     * Adam (Kingma and Ba 2015), written as {@code torch.optim.Adam} computes it (no weight decay):
     * <pre>
     *   m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
     *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
     * </pre>
     */
    final class Adam implements Optimizer {
        public final double lr, beta1, beta2, eps;
        private float[] m, v;
        private int t;

        public Adam(double lr) {
            this(lr, 0.9, 0.999, 1e-8);
        }

        public Adam(double lr, double beta1, double beta2, double eps) {
            this.lr = lr;
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
        }

        public void step(Kernels k, float[] p, float[] g) {
            if (m == null) {
                m = new float[p.length];
                v = new float[p.length];
            }
            if (m.length != p.length) throw new IllegalArgumentException("Adam: parameter size changed from "
                    + m.length + " to " + p.length);
            t++;
            float b1 = (float) beta1, b2 = (float) beta2;
            double bc1 = 1 - Math.pow(beta1, t), bc2 = Math.sqrt(1 - Math.pow(beta2, t));
            float stepSize = (float) (lr / bc1);
            float[] m = this.m, v = this.v;
            Chunks.each(k, 1, p.length, (u, i0, i1) -> {
                for (int i = i0; i < i1; i++) {
                    m[i] = b1 * m[i] + (1 - b1) * g[i];
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                    float denom = (float) (Math.sqrt(v[i]) / bc2 + eps);
                    p[i] -= stepSize * m[i] / denom;
                }
            });
        }
    }
}
