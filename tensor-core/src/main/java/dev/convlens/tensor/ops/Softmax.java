package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Softmax along one axis of a tensor of any rank (PyTorch's {@code softmax(x, dim)}, ONNX's
 * {@code Softmax} from opset 13).
 *
 * <h2>Forward</h2>
 * The tensor is seen as {@code (outer, L, inner)}, L the length of the axis; each of the
 * {@code outer*inner} fibres {@code x[o,:,i]} is normalized on its own:
 * <pre>
 *   y_j = exp(x_j - m) / sum_k exp(x_k - m),      m = max_k x_k
 * </pre>
 * Subtracting the maximum changes nothing mathematically (it cancels) but keeps every
 * exponent at most 0, so nothing overflows and the largest term is exactly 1. The sum is
 * accumulated in double.
 *
 * <h2>Backward, from the saved output</h2>
 * {@code dy_j/dx_i = y_j (delta_ij - y_i)}, so
 * <pre>
 *   dx_i = sum_j dy_j y_j (delta_ij - y_i) = y_i (dy_i - sum_j dy_j y_j)
 * </pre>
 * which needs only y (not x). The ranks and shapes of y and dy must agree.
 *
 * @param axis the axis normalized over; negative counts from the end ({@code -1} is the last)
 */
public record Softmax(int axis) {
    private static final String OP = "Softmax";

    /**
     * {@code {outer, L, inner}} for {@code shape} and {@code axis} (negative from the end), or an
     * error naming {@code op} and the shape. Shared with {@link LogSoftmax}.
     */
    static int[] fibres(String op, int axis, int[] shape) {
        int r = shape.length;
        Shapes.check(axis >= -r && axis < r, op, "axis " + axis + " is out of range [" + (-r) + "," + (r - 1)
                + "] for shape " + Shapes.str(shape));
        int a = axis < 0 ? axis + r : axis;
        int outer = 1, inner = 1;
        for (int d = 0; d < a; d++) outer *= shape[d];
        for (int d = a + 1; d < r; d++) inner *= shape[d];
        return new int[] {outer, shape[a], inner};
    }

    /** y = softmax(x) along the axis. */
    public Tensor forward(Tensor x) {
        Shapes.check(x != null, OP, "input x is null");
        int[] f = fibres(OP, axis, x.shape());
        int outer = f[0], len = f[1], inner = f[2];
        Tensor y = Tensor.zeros(x.shape());
        float[] xd = x.data, yd = y.data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i; // element l of the fibre is at base + l*inner
                float m = Float.NEGATIVE_INFINITY;
                for (int l = 0; l < len; l++) m = Math.max(m, xd[base + l * inner]);
                double sum = 0;
                for (int l = 0; l < len; l++) {
                    int at = base + l * inner;
                    yd[at] = (float) StrictMath.exp((double) xd[at] - m);
                    sum += yd[at];
                }
                for (int l = 0; l < len; l++) yd[base + l * inner] = (float) (yd[base + l * inner] / sum);
            }
        return y;
    }

    /** dx = y * (dy - sum(dy * y)) along the axis, from the forward output y. */
    public Tensor backward(Tensor y, Tensor dy) {
        Shapes.check(y != null, OP, "output y is null");
        Shapes.check(dy != null, OP, "output gradient dy is null");
        Shapes.requireSameShape(OP, "output y", y, "output gradient dy", dy);
        int[] f = fibres(OP, axis, y.shape());
        int outer = f[0], len = f[1], inner = f[2];
        Tensor dx = Tensor.zeros(y.shape());
        float[] yd = y.data, g = dy.data, d = dx.data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i;
                double s = 0; // sum_j dy_j y_j
                for (int l = 0; l < len; l++) s += (double) g[base + l * inner] * yd[base + l * inner];
                for (int l = 0; l < len; l++) {
                    int at = base + l * inner;
                    d[at] = (float) (yd[at] * (g[at] - s));
                }
            }
        return dx;
    }
}
