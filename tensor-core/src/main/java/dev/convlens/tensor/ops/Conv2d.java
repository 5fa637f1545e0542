package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;

/**
 * 2-D convolution (cross-correlation, as in PyTorch and ONNX), with stride, asymmetric
 * padding, dilation and groups.
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,C,H,W)}, {@code w (K,C/G,R,S)}, {@code b (K)} or none, {@code y (N,K,OH,OW)},
 * {@code OH = (H + pt + pb - dh(R-1) - 1)/sh + 1}. For output channel k in group
 * {@code g = k/(K/G)}:
 * <pre>
 *   y[n,k,oy,ox] = b[k] + sum_{c'<C/G, r<R, s<S} w[k,c',r,s] * x[n, g*C/G + c', oy*sh - pt + r*dh, ox*sw - pl + s*dw]
 * </pre>
 * where reads outside the input are zero (the padding).
 *
 * <h2>Backward</h2>
 * y is linear in x, in w and in b, so each gradient is the same sum with dy in place of y:
 * <ul>
 *   <li>{@code dL/dx[n,c,iy,ix] = sum_{k in c's group, r, s : iy = oy*sh - pt + r*dh, ix = ...} dy[n,k,oy,ox] * w[k,c',r,s]}:
 *       every output that read x sends back dy times the weight it used. This is the transposed
 *       convolution ("deconvolution" in Zeiler and Fergus's deconvnet: the same filters,
 *       flipped and applied to the signal going down).</li>
 *   <li>{@code dL/dw[k,c',r,s] = sum_{n,oy,ox} dy[n,k,oy,ox] * x[n,c,iy,ix]}: the correlation
 *       of the input with the output gradient.</li>
 *   <li>{@code dL/db[k] = sum_{n,oy,ox} dy[n,k,oy,ox]}.</li>
 * </ul>
 * Only the gradients asked for are computed (saliency needs dx alone; the first layer of a
 * network being trained needs dw alone).
 *
 * @param strideH vertical stride (sh)
 * @param strideW horizontal stride (sw)
 * @param padTop pt; ONNX's {@code pads} are (top, left, bottom, right)
 * @param padLeft pl
 * @param padBottom pb
 * @param padRight pr
 * @param dilationH dh
 * @param dilationW dw
 * @param groups G; G = C = K is a depthwise convolution
 */
public record Conv2d(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                     int dilationH, int dilationW, int groups) {
    private static final String OP = "Conv2d";

    /** Square stride and symmetric padding, no dilation, one group. */
    public static Conv2d of(int stride, int padding) {
        return new Conv2d(stride, stride, padding, padding, padding, padding, 1, 1, 1);
    }

    /** The gradients asked for; those not asked for are null. */
    public record Grads(Tensor dx, Tensor dw, Tensor db) {}

    /** Checks the shapes of x and w against this configuration (errors name the shapes). */
    public ConvGeom geometry(Tensor x, Tensor w) {
        Shapes.requireRank(OP, "input x (N,C,H,W)", x, 4);
        Shapes.requireRank(OP, "weight w (K,C/groups,R,S)", w, 4);
        return geometry(x.shape(), w.shape());
    }

    /** {@link #geometry(Tensor, Tensor)} from the shapes alone (x and w of rank 4). */
    public ConvGeom geometry(int[] x, int[] w) {
        Shapes.check(x.length == 4 && w.length == 4, OP, "input x (N,C,H,W) " + Shapes.str(x)
                + " and weight w (K,C/groups,R,S) " + Shapes.str(w) + " must have rank 4");
        return ConvGeom.of(OP, x[0], x[1], x[2], x[3], w[0], w[1], w[2], w[3],
                strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
    }

    /**
     * {@code y = act(scale[k] * (conv(x, w) + b)[k] + shift[k] + res)}, per output channel k, with
     * {@code act} the ReLU when {@code relu}: a convolution followed by batch norm in inference
     * ({@link BatchNorm2d#affine}), a residual sum and ReLU, in one kernel call
     * ({@link Kernels#convForwardAffine}). {@code b}, {@code scale} with {@code shift}, and {@code res}
     * (of y's shape) may be null. The backward of the chain is that of the convolution after the
     * ReLU's mask (read from y: {@code y > 0} exactly where its input was) and the factor
     * {@code scale}; the residual receives the masked signal. See {@code dev.convlens.nn.Layers.FusedConv}.
     */
    public Tensor forwardAffine(Kernels kern, Tensor x, Tensor w, Tensor b, float[] scale, float[] shift, Tensor res,
                                boolean relu) {
        ConvGeom g = geometry(x, w);
        if (b != null) {
            Shapes.check(b.rank() == 1 && b.dim(0) == g.k(), OP, "bias " + Shapes.str(b.shape())
                    + " must have shape (" + g.k() + ") to match weight " + Shapes.str(w.shape()));
        }
        Shapes.check((scale == null) == (shift == null), OP, "scale and shift must both be given or both be null");
        Shapes.check(scale == null || scale.length == g.k() && shift.length == g.k(), OP, "scale and shift must have "
                + g.k() + " values to match weight " + Shapes.str(w.shape()));
        int[] yShape = {g.n(), g.k(), g.oh(), g.ow()};
        Shapes.check(res == null || java.util.Arrays.equals(res.shape(), yShape), OP, "residual "
                + (res == null ? "" : Shapes.str(res.shape())) + " must have the output's shape " + Shapes.str(yShape));
        Tensor y = Tensor.empty(yShape); // written in full (SimdKernelsTest fills outputs with NaN first)
        kern.convForwardAffine(g, x.data, w.data, b == null ? null : b.data, scale, shift,
                res == null ? null : res.data, relu, y.data);
        return y;
    }

    /** y = conv(x, w) + b; {@code b} may be null. */
    public Tensor forward(Kernels kern, Tensor x, Tensor w, Tensor b) {
        ConvGeom g = geometry(x, w);
        if (b != null) {
            Shapes.check(b.rank() == 1 && b.dim(0) == g.k(), OP, "bias " + Shapes.str(b.shape())
                    + " must have shape (" + g.k() + ") to match weight " + Shapes.str(w.shape()));
        }
        Tensor y = Tensor.empty(g.n(), g.k(), g.oh(), g.ow()); // written in full
        kern.convForward(g, x.data, w.data, b == null ? null : b.data, y.data);
        return y;
    }

    /** The gradients of L with respect to x, w and b given dL/dy; only those flagged are computed. */
    public Grads backward(Kernels kern, Tensor x, Tensor w, Tensor dy, boolean wantDx, boolean wantDw, boolean wantDb) {
        ConvGeom g = geometry(x, w);
        Shapes.requireRank(OP, "output gradient dy", dy, 4);
        Shapes.check(dy.dim(0) == g.n() && dy.dim(1) == g.k() && dy.dim(2) == g.oh() && dy.dim(3) == g.ow(), OP,
                "output gradient dy " + Shapes.str(dy.shape()) + " does not match the output shape "
                        + Shapes.str(g.n(), g.k(), g.oh(), g.ow()));
        Tensor dx = null, dw = null, db = null;
        if (wantDx) {
            dx = Tensor.empty(x.shape()); // written in full (SimdKernelsTest fills it with NaN first)
            kern.convBackwardData(g, dy.data, w.data, dx.data);
        }
        if (wantDw || wantDb) {
            dw = wantDw ? Tensor.empty(w.shape()) : null; // written in full (SimdKernelsTest fills it with NaN first)
            db = wantDb ? Tensor.zeros(g.k()) : null;
            kern.convBackwardWeights(g, x.data, dy.data, dw == null ? null : dw.data, db == null ? null : db.data);
        }
        return new Grads(dx, dw, db);
    }
}
