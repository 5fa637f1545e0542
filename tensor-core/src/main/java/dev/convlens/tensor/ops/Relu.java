package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;

/**
 * Rectified linear unit, with the three backward rules that separate saliency, deconvnet
 * projections and guided backpropagation.
 *
 * <h2>Forward</h2>
 * Any shape: {@code y = max(x, 0)} elementwise. NaN propagates (as in PyTorch).
 *
 * <h2>Backward: one switch, three rules</h2>
 * Given the signal {@code dy} coming down and the forward input {@code x}:
 * <ul>
 *   <li>{@link Rule#GRADIENT}: the true derivative, {@code dx = dy * 1[x > 0]}. Used for
 *       training, vanilla saliency (Simonyan, Vedaldi &amp; Zisserman, "Deep Inside
 *       Convolutional Networks", 2014) and gradient ascent.</li>
 *   <li>{@link Rule#DECONVNET}: {@code dx = max(dy, 0)}. The deconvnet of Zeiler &amp; Fergus
 *       ("Visualizing and Understanding Convolutional Networks", ECCV 2014) passes the signal
 *       through a ReLU of its own and ignores which units were active in the forward pass.</li>
 *   <li>{@link Rule#GUIDED}: {@code dx = max(dy, 0) * 1[x > 0]}. Guided backpropagation
 *       (Springenberg, Dosovitskiy, Brox &amp; Riedmiller, "Striving for Simplicity: The All
 *       Convolutional Net", ICLR 2015 workshop) applies both masks: the forward one of the
 *       gradient and the backward one of the deconvnet.</li>
 * </ul>
 * Kink convention: the derivative at {@code x = 0} is taken as 0, as PyTorch does, so a unit
 * sitting exactly at 0 passes nothing back under GRADIENT and GUIDED.
 */
public final class Relu {
    private static final String OP = "Relu";
    private static final Kernels REFERENCE = new ReferenceKernels();

    private Relu() {}

    /** What the ReLU backward does with the signal coming down. */
    public enum Rule {
        /** {@code dx = dy * 1[x > 0]}: the true derivative. */
        GRADIENT,
        /** {@code dx = max(dy, 0)}: Zeiler &amp; Fergus's deconvnet; ignores the forward mask. */
        DECONVNET,
        /** {@code dx = max(dy, 0) * 1[x > 0]}: Springenberg et al.'s guided backpropagation. */
        GUIDED
    }

    /** y = max(x, 0), on the reference kernels. */
    public static Tensor forward(Tensor x) {
        return forward(REFERENCE, x);
    }

    /** y = max(x, 0) (NaN stays NaN), on the kernels {@code kern}. */
    public static Tensor forward(Kernels kern, Tensor x) {
        Shapes.check(x != null, OP, "input x is null");
        Tensor y = Tensor.empty(x.shape());
        kern.reluForward(x.data, y.data);
        return y;
    }

    /** The signal sent down to x under {@code rule}, given the forward input x and {@code dy}; reference kernels. */
    public static Tensor backward(Rule rule, Tensor x, Tensor dy) {
        return backward(REFERENCE, rule, x, dy);
    }

    /**
     * The signal sent down to x under {@code rule}, on the kernels {@code kern}. The rules are the two
     * masks of {@link Kernels#reluBackward}: GRADIENT the forward mask {@code x > 0}, DECONVNET the
     * signal mask {@code dy > 0}, GUIDED both.
     */
    public static Tensor backward(Kernels kern, Rule rule, Tensor x, Tensor dy) {
        Shapes.check(rule != null, OP, "backward rule is null");
        Shapes.check(x != null, OP, "input x is null");
        Shapes.check(dy != null, OP, "output gradient dy is null");
        Shapes.requireSameShape(OP, "input x", x, "output gradient dy", dy);
        Tensor dx = Tensor.empty(x.shape());
        kern.reluBackward(x.data, dy.data, dx.data, rule != Rule.DECONVNET, rule != Rule.GRADIENT);
        return dx;
    }
}
