package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;

/**
 * Fully connected layer (PyTorch's {@code nn.Linear}, ONNX's {@code Gemm} with {@code transB=1}).
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,in)}, {@code w (out,in)}, {@code b (out)} or none, {@code y (N,out)}.
 * <pre>
 *   y = x W^T + b,      y[n,o] = b[o] + sum_{i &lt; in} x[n,i] * w[o,i]
 * </pre>
 * computed as one GEMM ({@link Kernels#gemm} with {@code transB}), after filling each row of
 * y with b and using {@code beta = 1}.
 *
 * <h2>Backward</h2>
 * y is linear in x, in w and in b, so with {@code dy = dL/dy (N,out)}:
 * <ul>
 *   <li>{@code dx = dy W}, i.e. {@code dx[n,i] = sum_o dy[n,o] w[o,i]}, shape (N,in);</li>
 *   <li>{@code dW = dy^T x}, i.e. {@code dw[o,i] = sum_n dy[n,o] x[n,i]}, shape (out,in);</li>
 *   <li>{@code db = sum_n dy[n,:]} (the column sums of dy), shape (out).</li>
 * </ul>
 * Only the gradients asked for are computed (saliency needs dx alone; a frozen layer whose
 * input needs no gradient wants dw and db alone).
 */
public final class Linear {
    private static final String OP = "Linear";

    private Linear() {}

    /** The gradients asked for; those not asked for are null. */
    public record Grads(Tensor dx, Tensor dw, Tensor db) {}

    /** Checks x (N,in) against w (out,in). */
    private static void checkShapes(Tensor x, Tensor w) {
        Shapes.requireRank(OP, "input x (N,in)", x, 2);
        Shapes.requireRank(OP, "weight w (out,in)", w, 2);
        Shapes.check(x.dim(1) == w.dim(1), OP, "input " + Shapes.str(x.shape()) + " has " + x.dim(1)
                + " features but weight " + Shapes.str(w.shape()) + " expects " + w.dim(1));
    }

    /** y = x W^T + b; {@code b} may be null. */
    public static Tensor forward(Kernels k, Tensor x, Tensor w, Tensor b) {
        checkShapes(x, w);
        int n = x.dim(0), in = x.dim(1), out = w.dim(0);
        if (b != null) {
            Shapes.check(b.rank() == 1 && b.dim(0) == out, OP, "bias " + Shapes.str(b.shape())
                    + " must have shape (" + out + ") to match weight " + Shapes.str(w.shape()));
        }
        Shapes.numel(OP + " output", n, out);
        Tensor y = Tensor.zeros(n, out); // (N,out)
        if (b != null) {
            for (int r = 0; r < n; r++) System.arraycopy(b.data, 0, y.data, r * out, out);
        }
        k.gemm(false, true, n, out, in, 1f, x.data, 0, in, w.data, 0, in, b == null ? 0f : 1f, y.data, 0, out);
        return y;
    }

    /** The gradients of L with respect to x, w and b given {@code dy = dL/dy}; only those flagged are computed. */
    public static Grads backward(Kernels k, Tensor x, Tensor w, Tensor dy, boolean wantDx, boolean wantDw,
                                 boolean wantDb) {
        checkShapes(x, w);
        int n = x.dim(0), in = x.dim(1), out = w.dim(0);
        Shapes.requireRank(OP, "output gradient dy (N,out)", dy, 2);
        Shapes.check(dy.dim(0) == n && dy.dim(1) == out, OP, "output gradient dy " + Shapes.str(dy.shape())
                + " does not match the output shape " + Shapes.str(n, out) + " of input "
                + Shapes.str(x.shape()) + " and weight " + Shapes.str(w.shape()));
        Tensor dx = null, dw = null, db = null;
        if (wantDx) {
            dx = Tensor.zeros(n, in); // (N,in) = (N,out) (out,in)
            k.gemm(false, false, n, in, out, 1f, dy.data, 0, out, w.data, 0, in, 0f, dx.data, 0, in);
        }
        if (wantDw) {
            dw = Tensor.empty(out, in); // (out,in) = (N,out)^T (N,in); beta 0: C is not read
            k.gemm(true, false, out, in, n, 1f, dy.data, 0, out, x.data, 0, in, 0f, dw.data, 0, in);
        }
        if (wantDb) {
            db = Tensor.zeros(out); // (out)
            double[] acc = new double[out];
            for (int r = 0; r < n; r++) {
                int off = r * out;
                for (int o = 0; o < out; o++) acc[o] += dy.data[off + o];
            }
            for (int o = 0; o < out; o++) db.data[o] = (float) acc[o];
        }
        return new Grads(dx, dw, db);
    }
}
