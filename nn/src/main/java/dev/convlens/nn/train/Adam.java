package dev.convlens.nn.train;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam (Kingma &amp; Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015) and AdamW
 * (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization", ICLR 2019), exactly as PyTorch
 * 1.13's {@code torch.optim.Adam} / {@code AdamW} (single-tensor path, no amsgrad). With moments
 * {@code m, v} (zero at the start), betas {@code b1, b2}, step t = 1, 2, ...:
 * <pre>
 *   Adam:   g &lt;- g + lambda * p                   (L2 decay through the gradient)
 *   AdamW:  p &lt;- p * (1 - lr * lambda)             (decoupled decay, before the update)
 *   m &lt;- b1 * m + (1 - b1) * g
 *   v &lt;- b2 * v + (1 - b2) * g * g
 *   p &lt;- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * </pre>
 * Note PyTorch's placement of eps: added after dividing sqrt(v) by the bias correction, i.e. to
 * the denominator of the bias-corrected {@code sqrt(v_hat)}, not to sqrt(v) itself. The bias
 * corrections are computed in double (Python floats), the tensor arithmetic in float32 in
 * PyTorch's order ({@code add_(t, alpha=a)} as the fused {@code fma(a, t, x)} of ATen's vectorized
 * kernels; {@code addcmul_}/{@code addcdiv_} as {@code x + (a * t1) * t2} and {@code x + (a * t1) / t2}).
 */
public final class Adam implements Optimizer {
    private final float beta1, beta2, eps, weightDecay, oneMinusBeta1, oneMinusBeta2;
    private final double b1, b2;
    private final boolean decoupled;
    private final Map<String, float[]> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private long steps;

    /**
     * @param beta1       b1, in [0, 1)
     * @param beta2       b2, in [0, 1)
     * @param eps         added to the bias-corrected sqrt(v)
     * @param weightDecay lambda
     * @param decoupled   true for AdamW (PyTorch's default lambda 1e-2), false for Adam (default 0)
     */
    public Adam(double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("Adam: betas must be in [0,1) but are " + beta1 + ", " + beta2);
        }
        if (!(eps >= 0) || !(weightDecay >= 0)) throw new IllegalArgumentException("Adam: eps and weight decay must be >= 0");
        this.b1 = beta1;
        this.b2 = beta2;
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.oneMinusBeta1 = (float) (1 - beta1);
        this.oneMinusBeta2 = (float) (1 - beta2);
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        this.decoupled = decoupled;
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8; Adam weight decay 0, AdamW 1e-2. */
    public static Adam adam() {
        return new Adam(0.9, 0.999, 1e-8, 0, false);
    }

    public static Adam adamW() {
        return new Adam(0.9, 0.999, 1e-8, 1e-2, true);
    }

    public String name() {
        return decoupled ? "adamw" : "adam";
    }

    /** {@code k} is not used: Adam's update is a plain loop here. */
    public void step(Kernels k, Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        steps++;
        double bc1 = 1 - StrictMath.pow(b1, steps), bc2 = 1 - StrictMath.pow(b2, steps);
        float stepSize = (float) -(lr / bc1), bc2Sqrt = (float) Math.sqrt(bc2);
        float decay = decoupled ? (float) (1 - lr * weightDecay) : 1;
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            String name = e.getKey();
            Tensor pt = params.get(name);
            Optimizer.requireSameSize(name(), name, pt, e.getValue());
            float[] p = pt.data, g = e.getValue().data;
            float[] mi = m.computeIfAbsent(name, key -> new float[p.length]);
            float[] vi = v.computeIfAbsent(name, key -> new float[p.length]);
            for (int i = 0; i < p.length; i++) {
                float gi = g[i];
                if (decoupled) {
                    if (weightDecay != 0) p[i] = p[i] * decay;
                } else if (weightDecay != 0) {
                    gi = Math.fma(weightDecay, p[i], gi);
                }
                mi[i] = Math.fma(oneMinusBeta1, gi, mi[i] * beta1);
                vi[i] = vi[i] * beta2 + oneMinusBeta2 * gi * gi;
                float denom = (float) Math.sqrt(vi[i]) / bc2Sqrt + eps;
                p[i] = p[i] + stepSize * mi[i] / denom;
            }
        }
    }

    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (String name : m.keySet()) {
            s.put("exp_avg/" + name, Tensor.of(m.get(name).clone(), m.get(name).length));
            s.put("exp_avg_sq/" + name, Tensor.of(v.get(name).clone(), v.get(name).length));
        }
        return s;
    }

    public long steps() {
        return steps;
    }

    public void load(Map<String, Tensor> state, long steps) {
        m.clear();
        v.clear();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("exp_avg/")) m.put(k.substring("exp_avg/".length()), e.getValue().data.clone());
            else if (k.startsWith("exp_avg_sq/")) v.put(k.substring("exp_avg_sq/".length()), e.getValue().data.clone());
            else throw new IllegalArgumentException(name() + ": unexpected optimizer state '" + k + "'");
        }
        this.steps = steps;
    }
}
