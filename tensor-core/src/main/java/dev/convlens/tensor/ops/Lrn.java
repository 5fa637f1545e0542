package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.Arrays;

/**
 * Local response normalization across channels (Krizhevsky, Sutskever and Hinton, "ImageNet
 * Classification with Deep Convolutional Neural Networks", 2012, sec. 3.3; AlexNet), as ONNX's
 * {@code LRN} defines it.
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,C,D1,...)} (rank >= 3; AlexNet's is (N,C,H,W)), {@code y} the same. With
 * {@code lo = floor((size-1)/2)} and {@code hi = ceil((size-1)/2)}, for every position p:
 * <pre>
 *   sq[n,c,p] = sum_{c' = max(0, c-lo)}^{min(C-1, c+hi)} x[n,c',p]^2
 *   s[n,c,p]  = bias + (alpha/size) * sq[n,c,p]
 *   y[n,c,p]  = x[n,c,p] * s[n,c,p]^(-beta)
 * </pre>
 * For odd sizes the window is symmetric (AlexNet: size 5, alpha 1e-4, beta 0.75, bias 2).
 * For even sizes ONNX puts the extra channel <em>after</em> c: size 4 sums c-1..c+2.
 * Caution: PyTorch's {@code local_response_norm} (torch 1.13) puts it <em>before</em> c
 * (c-2..c+1), so for even sizes the two differ; this class follows ONNX.
 *
 * <h2>Backward</h2>
 * y_c depends on x_c directly and, through s_{c'}, on every x_c with c inside c''s window;
 * {@code ds_{c'}/dx_c = 2 (alpha/size) x_c} then. So (at each n and p)
 * <pre>
 *   dx_c = dy_c s_c^(-beta)  -  (2 alpha beta / size) x_c  sum_{c' : c in window(c')} dy_{c'} x_{c'} s_{c'}^(-beta-1)
 * </pre>
 * where {@code c in window(c')} means {@code c'-lo <= c <= c'+hi}, i.e. {@code c-hi <= c' <= c+lo}: the
 * mirrored window (which differs from the forward one when size is even). The backward
 * recomputes s from x rather than saving it.
 *
 * @param size the number of channels summed (ONNX {@code size}), at least 1
 * @param alpha scale (ONNX default 1e-4)
 * @param beta exponent (ONNX default 0.75)
 * @param bias k (ONNX default 1)
 */
public record Lrn(int size, float alpha, float beta, float bias) {
    private static final String OP = "Lrn";

    public Lrn {
        if (size < 1) throw new IllegalArgumentException(OP + ": size must be at least 1, got " + size);
    }

    /** y = x / (bias + alpha/size * sum of squares over the channel window)^beta. */
    public Tensor forward(Tensor x) {
        requireInput(x);
        int n = x.dim(0), c = x.dim(1), inner = x.size() / (n * c);
        int lo = (size - 1) / 2, hi = size / 2; // floor((size-1)/2), ceil((size-1)/2)
        double scale = (double) alpha / size;
        Tensor y = Tensor.zeros(x.shape());
        double[] sq = new double[inner]; // (inner): the window's sum of squares at each position
        float[] xd = x.data, yd = y.data;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++) {
                Arrays.fill(sq, 0);
                for (int cc = Math.max(0, ch - lo); cc <= Math.min(c - 1, ch + hi); cc++) {
                    int off = (b * c + cc) * inner;
                    for (int p = 0; p < inner; p++) sq[p] += (double) xd[off + p] * xd[off + p];
                }
                int off = (b * c + ch) * inner;
                for (int p = 0; p < inner; p++) yd[off + p] = (float) (xd[off + p] * StrictMath.pow(bias + scale * sq[p], -beta));
            }
        return y;
    }

    /** dx given the input x and dL/dy (see the class comment); s is recomputed. */
    public Tensor backward(Tensor x, Tensor dy) {
        requireInput(x);
        Shapes.requireSameShape(OP, "output gradient dy", dy, "input x", x);
        int n = x.dim(0), c = x.dim(1), inner = x.size() / (n * c);
        int lo = (size - 1) / 2, hi = size / 2;
        double scale = (double) alpha / size;
        float[] xd = x.data, dyd = dy.data;
        double[] s = new double[x.size()]; // (N,C,inner): bias + alpha/size * window sum of squares
        double[] t = new double[x.size()]; // (N,C,inner): dy * x * s^(-beta-1)
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++) {
                int off = (b * c + ch) * inner;
                for (int cc = Math.max(0, ch - lo); cc <= Math.min(c - 1, ch + hi); cc++) {
                    int src = (b * c + cc) * inner;
                    for (int p = 0; p < inner; p++) s[off + p] += (double) xd[src + p] * xd[src + p];
                }
                for (int p = 0; p < inner; p++) {
                    s[off + p] = bias + scale * s[off + p];
                    t[off + p] = dyd[off + p] * xd[off + p] * StrictMath.pow(s[off + p], -beta - 1);
                }
            }
        Tensor dx = Tensor.zeros(x.shape());
        double k = 2.0 * alpha * beta / size;
        double[] acc = new double[inner]; // (inner): sum of t over the mirrored window
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++) {
                Arrays.fill(acc, 0);
                for (int cc = Math.max(0, ch - hi); cc <= Math.min(c - 1, ch + lo); cc++) {
                    int src = (b * c + cc) * inner;
                    for (int p = 0; p < inner; p++) acc[p] += t[src + p];
                }
                int off = (b * c + ch) * inner;
                for (int p = 0; p < inner; p++) {
                    dx.data[off + p] = (float) (dyd[off + p] * StrictMath.pow(s[off + p], -beta) - k * xd[off + p] * acc[p]);
                }
            }
        return dx;
    }

    private static void requireInput(Tensor x) {
        Shapes.check(x != null, OP, "input x is null");
        Shapes.check(x.rank() >= 3, OP, "input x must be (N,C,D1,...) with rank >= 3 but has shape " + Shapes.str(x.shape()));
    }
}
