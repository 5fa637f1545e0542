package dev.convlens.nn.train;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
 * exactly as PyTorch 1.13's {@code torch.optim.SGD} (single-tensor path). For a parameter
 * {@code p} with gradient {@code g}, momentum {@code mu}, dampening {@code tau}, weight decay
 * {@code lambda} and learning rate {@code lr}, at step t:
 * <pre>
 *   g'  = g + lambda * p                          (weight decay added to the gradient)
 *   b_1 = g'                                      (the first step copies, no dampening)
 *   b_t = mu * b_{t-1} + (1 - tau) * g'           (t &gt; 1)
 *   d   = g' + mu * b_t   (Nesterov)   or   d = b_t   (classical; d = g' when mu = 0)
 *   p  &lt;- p - lr * d
 * </pre>
 * Float32 arithmetic in the order of PyTorch's in-place tensor ops ({@code add_(t, alpha=a)} is
 * the fused multiply-add {@code fma(a, t, x)} of ATen's vectorized CPU kernels; scalars are
 * Python doubles rounded once to float), so a few steps agree with it to float rounding (see
 * OptimizerOracleTest). The loop is {@link Kernels#sgdUpdate}, so a SimdKernels splits it over its
 * threads.
 */
public final class Sgd implements Optimizer {
    private final float momentum, dampening, weightDecay, keep;
    private final boolean nesterov;
    private final Map<String, float[]> buf = new LinkedHashMap<>();
    private long steps;

    /**
     * @param momentum    mu, in [0, 1)
     * @param dampening   tau
     * @param weightDecay lambda (L2 penalty, coupled to the gradient)
     * @param nesterov    Nesterov momentum (needs mu &gt; 0 and tau = 0, as PyTorch requires)
     */
    public Sgd(double momentum, double dampening, double weightDecay, boolean nesterov) {
        if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("SGD: momentum must be in [0,1) but is " + momentum);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("SGD: weight decay must be >= 0 but is " + weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum requires momentum > 0 and dampening 0");
        }
        this.momentum = (float) momentum;
        this.dampening = (float) dampening;
        this.keep = (float) (1 - dampening);
        this.weightDecay = (float) weightDecay;
        this.nesterov = nesterov;
    }

    /** SGD with momentum {@code mu} and weight decay, no dampening, optionally Nesterov. */
    public Sgd(double momentum, double weightDecay, boolean nesterov) {
        this(momentum, 0, weightDecay, nesterov);
    }

    public String name() {
        return "sgd";
    }

    public void step(Kernels k, Map<String, Tensor> params, Map<String, Tensor> grads, double lr) {
        float lrf = (float) lr;
        for (Map.Entry<String, Tensor> e : grads.entrySet()) {
            Tensor pt = params.get(e.getKey());
            Optimizer.requireSameSize("SGD", e.getKey(), pt, e.getValue());
            float[] p = pt.data, g = e.getValue().data;
            float[] b = null;
            boolean first = false;
            if (momentum != 0) {
                b = buf.get(e.getKey());
                if (b == null) {
                    b = new float[p.length];
                    buf.put(e.getKey(), b);
                    first = true;
                }
            }
            k.sgdUpdate(p, g, b, first, lrf, momentum, keep, weightDecay, nesterov);
        }
        steps++;
    }

    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : buf.entrySet()) {
            s.put("momentum_buffer/" + e.getKey(), Tensor.of(e.getValue().clone(), e.getValue().length));
        }
        return s;
    }

    public long steps() {
        return steps;
    }

    public void load(Map<String, Tensor> state, long steps) {
        buf.clear();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            if (!e.getKey().startsWith("momentum_buffer/")) {
                throw new IllegalArgumentException("SGD: unexpected optimizer state '" + e.getKey() + "'");
            }
            buf.put(e.getKey().substring("momentum_buffer/".length()), e.getValue().data.clone());
        }
        this.steps = steps;
    }
}
