package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Inverted dropout (Srivastava, Hinton, Krizhevsky, Sutskever &amp; Salakhutdinov, "Dropout: A
 * Simple Way to Prevent Neural Networks from Overfitting", JMLR 2014), as in PyTorch's
 * {@code nn.Dropout}: the scaling is done while training, so inference is the identity.
 *
 * <h2>Forward</h2>
 * Any shape. Training: each element is kept with probability {@code 1-p}, and kept elements
 * are scaled by {@code 1/(1-p)} so that {@code E[y] = x}:
 * <pre>
 *   m_i = 0 with probability p, else 1/(1-p);      y_i = x_i * m_i
 * </pre>
 * Inference: {@code y = x} and there is no mask. The mask is drawn from
 * {@code SplittableRandom(seed ^ step * 0x9E3779B97F4A7C15L)}, one {@code nextDouble()} per
 * element in flat order (dropped when below p), so a given (seed, step) always gives the same
 * mask, whatever ran before: training runs are reproducible and a backward pass can be
 * recomputed.
 *
 * <h2>Backward</h2>
 * y is linear in x with the diagonal Jacobian {@code diag(m)}, so {@code dx = dy * m}; without a
 * mask (inference) {@code dx = dy}.
 *
 * @param p the probability of dropping an element, in [0,1)
 * @param seed the seed that, with the step number, fixes every mask
 */
public record Dropout(float p, long seed) {
    private static final String OP = "Dropout";
    /** The 64-bit golden ratio, spreading consecutive steps far apart in seed space. */
    private static final long STEP_MIX = 0x9E3779B97F4A7C15L;

    public Dropout {
        Shapes.check(p >= 0f && p < 1f, OP, "p must be in [0,1) but is " + p);
    }

    /** The output and the mask it used ({@code m_i}: 0 or 1/(1-p)); mask is null in inference. */
    public record Result(Tensor y, float[] mask) {}

    /** y = x * m in training (a fresh mask for this step), y = x (a copy) in inference. */
    public Result forward(Tensor x, boolean training, long step) {
        Shapes.check(x != null, OP, "input x is null");
        if (!training) return new Result(x.copy(), null);
        Tensor y = Tensor.zeros(x.shape());
        float[] mask = mask(x.size(), step);
        float[] xd = x.data, yd = y.data;
        for (int i = 0; i < mask.length; i++) yd[i] = xd[i] * mask[i];
        return new Result(y, mask);
    }

    /** The mask of training step {@code step} for {@code size} elements: each 0 (dropped, with probability p) or 1/(1-p). */
    public float[] mask(int size, long step) {
        float[] mask = new float[size];
        float scale = (float) (1.0 / (1.0 - p));
        SplittableRandom r = new SplittableRandom(seed ^ step * STEP_MIX);
        for (int i = 0; i < mask.length; i++) mask[i] = r.nextDouble() < p ? 0f : scale;
        return mask;
    }

    /** dx = dy * mask, or a copy of dy when {@code mask} is null (inference). */
    public Tensor backward(Tensor dy, float[] mask) {
        Shapes.check(dy != null, OP, "output gradient dy is null");
        if (mask == null) return dy.copy();
        Shapes.check(mask.length == dy.size(), OP, "mask has " + mask.length + " values but output gradient dy "
                + Shapes.str(dy.shape()) + " has " + dy.size());
        Tensor dx = Tensor.zeros(dy.shape());
        float[] g = dy.data, d = dx.data;
        for (int i = 0; i < d.length; i++) d[i] = g[i] * mask[i];
        return dx;
    }
}
