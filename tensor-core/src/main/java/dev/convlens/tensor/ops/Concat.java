package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Concatenation along one axis (PyTorch's {@code torch.cat}, ONNX's {@code Concat}), e.g. the
 * channel join of an Inception or DenseNet block.
 *
 * <h2>Forward</h2>
 * Inputs {@code x_0..x_{m-1}} of the same rank with equal dimensions except along {@code axis},
 * where they have lengths {@code L_0..L_{m-1}}. Seeing each as {@code (outer, L_j, inner)}
 * (outer = product of the dimensions before the axis, inner = after), the output is
 * {@code (outer, L_0+...+L_{m-1}, inner)}, and with {@code s_j = L_0+...+L_{j-1}}:
 * <pre>
 *   y[o, s_j + l, i] = x_j[o, l, i]      for 0 &lt;= l &lt; L_j
 * </pre>
 *
 * <h2>Backward</h2>
 * Each output element is one input element, so {@code dx_j[o,l,i] = dy[o, s_j + l, i]}: the
 * gradient is sliced back into the pieces the inputs came from.
 *
 * @param axis the concatenation axis; negative counts from the end ({@code -1} is the last)
 */
public record Concat(int axis) {
    private static final String OP = "Concat";

    /** The axis in {@code [0, rank)}, or an error naming the shape. */
    private int axisFor(int rank, int[] shape) {
        Shapes.check(axis >= -rank && axis < rank, OP, "axis " + axis + " is out of range [" + (-rank) + ","
                + (rank - 1) + "] for shape " + Shapes.str(shape));
        return axis < 0 ? axis + rank : axis;
    }

    /** Checks that {@code shape} agrees with {@code ref} on every dimension but {@code a}. */
    private static void checkAgrees(int a, String what, int[] shape, String refWhat, int[] ref) {
        boolean ok = shape.length == ref.length;
        for (int d = 0; ok && d < ref.length; d++) ok = d == a || shape[d] == ref[d];
        Shapes.check(ok, OP, what + " " + Shapes.str(shape) + " does not match " + refWhat + " "
                + Shapes.str(ref) + ": all dimensions except axis " + a + " must agree");
    }

    /** y = the inputs joined along the axis, in order. */
    public Tensor forward(Tensor... xs) {
        Shapes.check(xs != null && xs.length > 0, OP, "needs at least one input");
        for (int j = 0; j < xs.length; j++) Shapes.check(xs[j] != null, OP, "input " + j + " is null");
        int[] ref = xs[0].shape();
        int a = axisFor(ref.length, ref);
        long total = 0;
        for (int j = 0; j < xs.length; j++) {
            checkAgrees(a, "input " + j, xs[j].shape(), "input 0", ref);
            total += xs[j].dim(a);
        }
        int[] outShape = ref.clone();
        Shapes.check(total <= Integer.MAX_VALUE, OP, "the inputs' lengths along axis " + a + " add up to "
                + total + " (inputs " + shapesOf(xs) + ")");
        outShape[a] = (int) total;
        Shapes.numel(OP + " output", outShape);
        int outer = 1, inner = 1;
        for (int d = 0; d < a; d++) outer *= ref[d];
        for (int d = a + 1; d < ref.length; d++) inner *= ref[d];
        Tensor y = Tensor.zeros(outShape);
        int yRow = outShape[a] * inner; // elements of y per outer index
        int start = 0;                  // s_j * inner
        for (Tensor x : xs) {
            int chunk = x.dim(a) * inner;
            for (int o = 0; o < outer; o++) System.arraycopy(x.data, o * chunk, y.data, o * yRow + start, chunk);
            start += chunk;
        }
        return y;
    }

    /** The slices of dy that belong to inputs of shapes {@code xShapes}, in order. */
    public Tensor[] backward(Tensor dy, int[]... xShapes) {
        Shapes.check(dy != null, OP, "output gradient dy is null");
        Shapes.check(xShapes != null && xShapes.length > 0, OP, "needs at least one input shape");
        int[] yShape = dy.shape();
        int a = axisFor(yShape.length, yShape);
        long total = 0;
        for (int j = 0; j < xShapes.length; j++) {
            Shapes.check(xShapes[j] != null, OP, "input shape " + j + " is null");
            Shapes.numel(OP + " input shape " + j, xShapes[j]);
            checkAgrees(a, "input " + j, xShapes[j], "output gradient dy", yShape);
            total += xShapes[j][a];
        }
        Shapes.check(total == yShape[a], OP, "input shapes " + shapesOf(xShapes) + " add up to " + total
                + " along axis " + a + " but output gradient dy " + Shapes.str(yShape) + " has " + yShape[a]);
        int outer = 1, inner = 1;
        for (int d = 0; d < a; d++) outer *= yShape[d];
        for (int d = a + 1; d < yShape.length; d++) inner *= yShape[d];
        int yRow = yShape[a] * inner;
        Tensor[] dxs = new Tensor[xShapes.length];
        int start = 0;
        for (int j = 0; j < xShapes.length; j++) {
            Tensor dx = Tensor.zeros(xShapes[j]);
            int chunk = xShapes[j][a] * inner;
            for (int o = 0; o < outer; o++) System.arraycopy(dy.data, o * yRow + start, dx.data, o * chunk, chunk);
            start += chunk;
            dxs[j] = dx;
        }
        return dxs;
    }

    private static String shapesOf(Tensor[] xs) {
        StringBuilder s = new StringBuilder();
        for (Tensor x : xs) s.append(s.length() == 0 ? "" : ", ").append(Shapes.str(x.shape()));
        return s.toString();
    }

    private static String shapesOf(int[][] shapes) {
        StringBuilder s = new StringBuilder();
        for (int[] sh : shapes) s.append(s.length() == 0 ? "" : ", ").append(Shapes.str(sh));
        return s.toString();
    }
}
