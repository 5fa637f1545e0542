package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

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

    private Add() {}

    /** y = a + b. */
    public static Tensor forward(Tensor a, Tensor b) {
        Shapes.check(a != null && b != null, OP, "an input is null");
        Shapes.requireSameShape(OP, "input a", a, "input b", b);
        Tensor y = Tensor.zeros(a.shape());
        float[] ad = a.data, bd = b.data, yd = y.data;
        for (int i = 0; i < yd.length; i++) yd[i] = ad[i] + bd[i];
        return y;
    }

    /** {da, db} = {dy, dy}, two independent copies. */
    public static Tensor[] backward(Tensor dy) {
        Shapes.check(dy != null, OP, "output gradient dy is null");
        return new Tensor[] {dy.copy(), dy.copy()};
    }
}
