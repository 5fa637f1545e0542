package dev.convlens.nn.train;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import java.util.Map;

/**
 * A first-order optimizer over named parameters, updating them in place, as PyTorch's
 * {@code torch.optim} does for one parameter group. Implementations: {@link Sgd}, {@link Adam}
 * (also AdamW).
 *
 * <p>State (momentum buffers, moment estimates, the step count) lives in the optimizer, keyed by
 * parameter name; {@link #state()} and {@link #load} move it to and from a {@link Checkpoint}, so a
 * resumed run continues with exactly the same numbers.
 */
public interface Optimizer {
    /** A short name for reports and checkpoints ("sgd", "adam", "adamw"). */
    String name();

    /**
     * One update: for every entry of {@code grads}, the parameter of the same name in {@code params}
     * is changed in place with learning rate {@code lr}. {@code k} runs the update where the optimizer
     * has a kernel for it ({@link Sgd}: {@link Kernels#sgdUpdate}, split over a SimdKernels' threads;
     * the bits do not depend on the backend).
     */
    void step(Kernels k, Map<String, Tensor> params, Map<String, Tensor> grads, double lr);

    /** The state tensors, keyed "{kind}/{parameter}" (e.g. "momentum_buffer/fc.weight"); copies. */
    Map<String, Tensor> state();

    /** Updates done so far. */
    long steps();

    /** Restores what {@link #state()} and {@link #steps()} returned. */
    void load(Map<String, Tensor> state, long steps);

    /** Checks that {@code p} and {@code g} have the same number of elements. */
    static void requireSameSize(String opt, String name, Tensor p, Tensor g) {
        if (p == null) throw new IllegalArgumentException(opt + ": no parameter named '" + name + "'");
        if (p.size() != g.size()) {
            throw new IllegalArgumentException(opt + ": parameter '" + name + "' has " + p.size()
                    + " values but its gradient has " + g.size());
        }
    }
}
