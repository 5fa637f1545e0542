package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;

/**
 * Elementwise sum of two tensors of the same shape: the join of a residual connection
 * ({@code y = F(x) + x} in ResNet).
 *
 * <h2>Forward</h2>
 * {@code y = a + b}, any shape, a and b the same shape (no broadcasting).
 *
 * <h2>Backward</h2>
 * {@code dy/da = dy/db = I}, so {@code da = db = dy}: the signal coming down is copied, unchanged,
 * to both branches. This is why a residual connection carries the gradient (and a deconvnet or
 * guided signal) past the block untouched. The two results are separate copies, so a caller may
 * modify or accumulate into either one.
 */
public final class Add {
    private static final String OP = "Add";
    private static final Kernels REFERENCE = new ReferenceKernels();

    private Add() {}

    /** y = a + b, on the reference kernels. */
    public static Tensor forward(Tensor a, Tensor b) {
        return forward(REFERENCE, a, b);
    }

    /** y = a + b, on the kernels {@code kern}. */
    public static Tensor forward(Kernels kern, Tensor a, Tensor b) {
        Shapes.check(a != null && b != null, OP, "an input is null");
        Shapes.requireSameShape(OP, "input a", a, "input b", b);
        Tensor y = Tensor.empty(a.shape());
        kern.add(a.data, b.data, y.data);
        return y;
    }

    /** {da, db} = {dy, dy}, two independent copies. */
    public static Tensor[] backward(Tensor dy) {
        Shapes.check(dy != null, OP, "output gradient dy is null");
        return new Tensor[] {dy.copy(), dy.copy()};
    }
}
