package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Reshape and flatten: the same values, in the same row-major order, under another shape.
 *
 * <h2>Forward</h2>
 * {@code y.data[i] = x.data[i]} for every flat index i; only the shape changes, and the element
 * count must be kept. In {@link #forward} one target dimension may be {@code -1}: it is inferred
 * from the element count (as in PyTorch's {@code view} and ONNX's {@code Reshape}; ONNX's
 * {@code 0} = "copy this dimension of the input" is not supported). {@link #flatten} is ONNX's
 * {@code Flatten}: {@code (d0,...,d_{r-1})} becomes the matrix
 * {@code (d0*...*d_{axis-1}, d_axis*...*d_{r-1})}; with {@code axis = 1} (the usual case, a CNN's
 * features entering its classifier) it equals PyTorch's {@code torch.flatten(x, 1)} and
 * {@code nn.Flatten()}.
 *
 * <h2>Backward</h2>
 * Reshaping is a permutation-free relabelling of the elements, its Jacobian the identity, so
 * {@code dx} is {@code dy} with x's shape.
 *
 * <p>Results are copies, never views of their argument (Tensor promises no hidden views); use
 * {@link Tensor#reshape} for a free view where aliasing is known to be safe.
 */
public final class Reshape {
    private static final String OP = "Reshape";
    private static final String FLATTEN = "Flatten";

    private Reshape() {}

    /** x with the target shape; one dimension may be -1 (inferred). */
    public static Tensor forward(Tensor x, int... shape) {
        Shapes.check(x != null, OP, "input x is null");
        return Tensor.of(x.data.clone(), shape(x.shape(), shape));
    }

    /** The shape {@link #forward} gives an input of shape {@code xShape}: the target with its -1 resolved. */
    public static int[] shape(int[] xShape, int... shape) {
        Shapes.check(shape != null, OP, "target shape is null");
        String what = "input " + Shapes.str(xShape) + " to " + Shapes.str(shape);
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                Shapes.check(inferred < 0, OP, "cannot reshape " + what + ": more than one dimension is -1");
                inferred = i;
            } else {
                Shapes.check(shape[i] > 0, OP, "cannot reshape " + what + ": dimension " + i + " is " + shape[i]
                        + " (dimensions must be positive, or one of them -1 to infer it)");
                known *= shape[i];
                Shapes.check(known <= Integer.MAX_VALUE, OP, "cannot reshape " + what
                        + ": the target has more elements than a Java array can hold");
            }
        }
        int n = Shapes.numel(OP, xShape);
        int[] resolved = shape.clone();
        if (inferred >= 0) {
            Shapes.check(n % known == 0, OP, "cannot reshape " + what + ": " + n
                    + " elements are not a multiple of " + known);
            resolved[inferred] = (int) (n / known);
        }
        Shapes.check(Shapes.numel(OP, resolved) == n, OP, "cannot reshape " + what + ": " + n
                + " elements but the target " + Shapes.str(resolved) + " has " + known);
        return resolved;
    }

    /**
     * ONNX's Flatten: {@code (d0*...*d_{axis-1}, d_axis*...*d_{r-1})}, an empty product being 1.
     *
     * @param axis in {@code [-r, r]} for x of rank r; negative counts from the end
     */
    public static Tensor flatten(Tensor x, int axis) {
        Shapes.check(x != null, FLATTEN, "input x is null");
        return Tensor.of(x.data.clone(), flattenShape(x.shape(), axis));
    }

    /** The shape {@link #flatten} gives an input of shape {@code xShape}. */
    public static int[] flattenShape(int[] xShape, int axis) {
        int r = xShape.length;
        Shapes.check(axis >= -r && axis <= r, FLATTEN, "axis " + axis + " is out of range [" + (-r) + ","
                + r + "] for input " + Shapes.str(xShape));
        int a = axis < 0 ? axis + r : axis;
        int outer = 1, size = Shapes.numel(FLATTEN, xShape);
        for (int i = 0; i < a; i++) outer *= xShape[i]; // fits in int: a factor of the size
        return new int[] {outer, size / outer};
    }

    /** dx = dy with x's shape {@code xShape}. */
    public static Tensor backward(Tensor dy, int[] xShape) {
        Shapes.check(dy != null, OP, "output gradient dy is null");
        Shapes.check(xShape != null, OP, "input shape is null");
        int n = Shapes.numel(OP, xShape);
        Shapes.check(n == dy.size(), OP, "output gradient dy " + Shapes.str(dy.shape()) + " has " + dy.size()
                + " elements but the input " + Shapes.str(xShape) + " has " + n);
        return Tensor.of(dy.data.clone(), xShape);
    }
}
