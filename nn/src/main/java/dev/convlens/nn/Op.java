package dev.convlens.nn;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;

/**
 * What a graph node does: a forward that records what its backward needs, and the backward.
 * Implementations are thin adapters over the ops of {@code dev.convlens.tensor.ops}, which hold
 * the mathematics; see {@link Layers}.
 */
public interface Op {
    /** The outputs of a forward step and what the backward needs from it (null when nothing). */
    record Step(Tensor[] out, Object saved) {}

    /** A short name for messages and reports, e.g. "Conv2d". */
    String type();

    /**
     * Computes the outputs.
     *
     * @param in       the input values in node order; null for an absent optional input
     * @param training true in training mode (batch statistics, dropout)
     */
    Step forward(Kernels k, Tensor[] in, boolean training);

    /**
     * The gradients of the inputs. It must not write into {@code dOut}, {@code in} or what the step
     * saved: a gradient it receives may be another node's too (an Add passes its {@code dOut} to both
     * inputs), and {@link Run} may give an array it has used up to the {@link dev.convlens.tensor.Recycler}
     * in use. It may return a {@code dOut} itself, or one tensor for two inputs; Run never writes into a
     * returned gradient (sums go to new arrays).
     *
     * @param step the forward step of this node (outputs and saved values)
     * @param dOut gradient of each output; null where no gradient reaches an output
     * @param want which input gradients are needed; others may be returned as null
     * @param rule what ReLU does with the signal coming down (the true gradient, or the
     *             deconvnet / guided-backpropagation rules)
     * @return one entry per input, null where not wanted or not differentiable
     */
    Tensor[] backward(Kernels k, Tensor[] in, Step step, Tensor[] dOut, boolean[] want, Relu.Rule rule);
}
