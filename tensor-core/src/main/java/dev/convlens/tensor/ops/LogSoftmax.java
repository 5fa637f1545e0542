package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Log-softmax along one axis of a tensor of any rank (PyTorch's {@code log_softmax(x, dim)},
 * ONNX's {@code LogSoftmax} from opset 13).
 *
 * <h2>Forward</h2>
 * The tensor is seen as {@code (outer, L, inner)} as in {@link Softmax}; along each fibre
 * <pre>
 *   y_j = x_j - m - log sum_k exp(x_k - m),      m = max_k x_k
 * </pre>
 * which is {@code log(softmax(x)_j)} computed without ever forming a probability that could
 * underflow to 0 (whose log would be -infinity); subtracting m keeps the exponents at most 0.
 *
 * <h2>Backward, from the saved output</h2>
 * {@code dy_j/dx_i = delta_ij - softmax(x)_i = delta_ij - exp(y_i)}, so
 * <pre>
 *   dx_i = sum_j dy_j (delta_ij - exp(y_i)) = dy_i - exp(y_i) sum_j dy_j
 * </pre>
 * which needs only y (not x).
 *
 * @param axis the axis normalized over; negative counts from the end ({@code -1} is the last)
 */
public record LogSoftmax(int axis) {
    private static final String OP = "LogSoftmax";

    /** y = log(softmax(x)) along the axis. */
    public Tensor forward(Tensor x) {
        Shapes.check(x != null, OP, "input x is null");
        int[] f = Softmax.fibres(OP, axis, x.shape());
        int outer = f[0], len = f[1], inner = f[2];
        Tensor y = Tensor.zeros(x.shape());
        float[] xd = x.data, yd = y.data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i; // element l of the fibre is at base + l*inner
                float m = Float.NEGATIVE_INFINITY;
                for (int l = 0; l < len; l++) m = Math.max(m, xd[base + l * inner]);
                double sum = 0;
                for (int l = 0; l < len; l++) sum += StrictMath.exp((double) xd[base + l * inner] - m);
                double shift = m + StrictMath.log(sum); // log sum_k exp(x_k)
                for (int l = 0; l < len; l++) yd[base + l * inner] = (float) (xd[base + l * inner] - shift);
            }
        return y;
    }

    /** dx = dy - exp(y) * sum(dy) along the axis, from the forward output y. */
    public Tensor backward(Tensor y, Tensor dy) {
        Shapes.check(y != null, OP, "output y is null");
        Shapes.check(dy != null, OP, "output gradient dy is null");
        Shapes.requireSameShape(OP, "output y", y, "output gradient dy", dy);
        int[] f = Softmax.fibres(OP, axis, y.shape());
        int outer = f[0], len = f[1], inner = f[2];
        Tensor dx = Tensor.zeros(y.shape());
        float[] yd = y.data, g = dy.data, d = dx.data;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++) {
                int base = o * len * inner + i;
                double s = 0; // sum_j dy_j
                for (int l = 0; l < len; l++) s += g[base + l * inner];
                for (int l = 0; l < len; l++) {
                    int at = base + l * inner;
                    d[at] = (float) (g[at] - StrictMath.exp(yd[at]) * s);
                }
            }
        return dx;
    }
}
