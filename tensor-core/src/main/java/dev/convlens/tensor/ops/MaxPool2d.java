package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import dev.convlens.tensor.kernels.ReferenceKernels;

/**
 * 2-D max pooling with <em>switches</em>, and its backward, which is <em>unpooling</em>.
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,C,H,W)}, {@code y (N,C,OH,OW)}, output size as in {@link PoolGeom}
 * (PyTorch's rule, ceil mode included). Each output is the max over its window:
 * <pre>
 *   y[n,c,oy,ox] = max_{i<kh, j<kw, (iy,ix) inside the input} x[n,c,iy,ix],
 *                  iy = oy*sh - pt + i*dh,  ix = ox*sw - pl + j*dw
 *   switches[o]  = ((n*C + c)*H + iy*)*W + ix*     for the (iy*, ix*) that attains the max
 * </pre>
 * Padding is never a candidate (it acts as -infinity), so a window over negative inputs and
 * padding returns the largest input, not 0. Ties: the first maximum in row-major window order
 * wins (i before j), as in PyTorch; a NaN always takes the place (PyTorch's
 * {@code val > max || isnan(val)}), so NaN propagates.
 *
 * <p>{@code switches} are flat indices into x over all of {@code N*C*H*W}: exactly ONNX
 * MaxPool's {@code Indices} output with {@code storage_order = 0}. PyTorch's
 * {@code return_indices} are per (n,c) plane, i.e. {@code switches[o] % (H*W)}.
 *
 * <h2>Backward: unpooling through the switches</h2>
 * Zeiler and Fergus ("Visualizing and Understanding Convolutional Networks", ECCV 2014, sec. 2.1)
 * call the recorded argmax locations <em>switches</em>: max pooling is not invertible, but
 * "unpooling" places each signal going down back at the location its max came from, and zero
 * elsewhere. That is also the exact gradient: away from ties, y[o] = x[switches[o]] locally, so
 * {@code dy[o]/dx[i] = [i == switches[o]]} and
 * <pre>
 *   dx[i] = sum_{o : switches[o] = i} dy[o]
 * </pre>
 * The sum matters where windows overlap (e.g. kernel 3, stride 2): one input can be the max of
 * several windows, and receives all their gradients. At a tie the gradient goes only to the
 * switch (the first maximum), which is a valid subgradient and PyTorch's convention.
 *
 * @param kernelH window height (kh)
 * @param kernelW window width (kw)
 * @param strideH sh
 * @param strideW sw
 * @param padTop pt; ONNX's {@code pads} are (top, left, bottom, right); each at most half the kernel
 * @param padLeft pl
 * @param padBottom pb
 * @param padRight pr
 * @param dilationH dh
 * @param dilationW dw
 * @param ceilMode round the output size up (PyTorch's and ONNX's {@code ceil_mode})
 */
public record MaxPool2d(int kernelH, int kernelW, int strideH, int strideW, int padTop, int padLeft,
                        int padBottom, int padRight, int dilationH, int dilationW, boolean ceilMode) {
    private static final String OP = "MaxPool2d";
    private static final Kernels REFERENCE = new ReferenceKernels();

    /** Square kernel and stride, symmetric padding, no dilation, floor mode. */
    public static MaxPool2d of(int kernel, int stride, int padding) {
        return new MaxPool2d(kernel, kernel, stride, stride, padding, padding, padding, padding, 1, 1, false);
    }

    /** The pooled output and the switches: {@code switches[o]} is the flat index into x of y[o]'s max. */
    public record Result(Tensor y, int[] switches) {}

    /** Checks an input shape against this configuration (errors name the op and the shapes). */
    public PoolGeom geometry(int[] xShape) {
        Shapes.check(xShape != null && xShape.length == 4, OP, "input x (N,C,H,W) must have rank 4 but has shape "
                + (xShape == null ? "null" : Shapes.str(xShape)));
        return PoolGeom.of(OP, xShape[0], xShape[1], xShape[2], xShape[3], kernelH, kernelW, strideH, strideW,
                padTop, padLeft, padBottom, padRight, dilationH, dilationW, ceilMode);
    }

    /** y = max over each window, with the switches, on the reference kernels. */
    public Result forward(Tensor x) {
        return forward(REFERENCE, x);
    }

    /** y = max over each window, with the switches, on the kernels {@code kern}. */
    public Result forward(Kernels kern, Tensor x) {
        Shapes.requireRank(OP, "input x (N,C,H,W)", x, 4);
        PoolGeom g = geometry(x.shape());
        Tensor y = Tensor.empty(g.outShape()); // every window has a maximum
        int[] switches = new int[y.size()];
        kern.maxPoolForward(g, x.data, y.data, switches);
        return new Result(y, switches);
    }

    /**
     * Unpooling: {@code dx[switches[o]] += dy[o]}, zero where no switch points.
     *
     * @param dy the gradient (or the signal going down) at the output, shape {@code (N,C,OH,OW)}
     * @param switches from {@link #forward}
     * @param xShape the input's shape {@code (N,C,H,W)}
     */
    public Tensor backward(Tensor dy, int[] switches, int[] xShape) {
        return backward(REFERENCE, dy, switches, xShape);
    }

    /** Unpooling as {@link #backward(Tensor, int[], int[])}, on the kernels {@code kern}. */
    public Tensor backward(Kernels kern, Tensor dy, int[] switches, int[] xShape) {
        PoolGeom g = geometry(xShape);
        Shapes.requireRank(OP, "output gradient dy", dy, 4);
        Shapes.check(dy.dim(0) == g.n() && dy.dim(1) == g.c() && dy.dim(2) == g.oh() && dy.dim(3) == g.ow(), OP,
                "output gradient dy " + Shapes.str(dy.shape()) + " does not match the output shape "
                        + Shapes.str(g.outShape()) + " of input " + Shapes.str(xShape));
        Shapes.check(switches != null && switches.length == dy.size(), OP, "switches ("
                + (switches == null ? "null" : switches.length + " values") + ") must have one value per output "
                + Shapes.str(dy.shape()));
        int xSize = g.n() * g.c() * g.h() * g.w();
        for (int o = 0; o < switches.length; o++) {
            int s = switches[o];
            if (s < 0 || s >= xSize) { // the message only when it is needed (not built per element)
                Shapes.check(false, OP, "switch " + s + " at output " + o + " is outside the input " + Shapes.str(xShape));
            }
        }
        Tensor dx = Tensor.empty(xShape); // the kernel zeroes it, then adds at the switches
        kern.maxPoolBackward(g, dy.data, switches, dx.data);
        return dx;
    }
}
