package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.PoolGeom;

/**
 * 2-D average pooling, with PyTorch's divisor rules.
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,C,H,W)}, {@code y (N,C,OH,OW)}, output size as in {@link PoolGeom}. With
 * the window of output (oy,ox) starting at {@code y0 = oy*sh - pt}, {@code x0 = ox*sw - pl}:
 * <pre>
 *   y[n,c,oy,ox] = (1/d) * sum_{y0 <= iy < y0+kh, x0 <= ix < x0+kw, inside the input} x[n,c,iy,ix]
 * </pre>
 * The divisor d is, as in PyTorch ({@code avg_pool2d}):
 * <ul>
 *   <li>{@code countIncludePad}: the number of window positions inside the <em>padded</em>
 *       input, {@code (min(y0+kh, H+pb) - y0) * (min(x0+kw, W+pr) - x0)}: padding counts as
 *       zeros, but a window that spills past the padding (possible in ceil mode) is clipped to
 *       it, so those positions do not count;</li>
 *   <li>otherwise: the number of real input elements in the window.</li>
 * </ul>
 * PoolGeom guarantees every window holds at least one input element, so d > 0 either way.
 *
 * <h2>Backward</h2>
 * y is linear in x with {@code dy[o]/dx[i] = 1/d_o} for every input i in window o, so
 * <pre>
 *   dx[n,c,iy,ix] = sum_{windows o containing (iy,ix)} dy[n,c,o] / d_o
 * </pre>
 * i.e. each output gradient is spread evenly (by its own divisor) over the inputs it averaged,
 * and overlapping windows add.
 *
 * @param kernelH window height (kh)
 * @param kernelW window width (kw)
 * @param strideH sh
 * @param strideW sw
 * @param padTop pt; ONNX's {@code pads} are (top, left, bottom, right); each at most half the kernel
 * @param padLeft pl
 * @param padBottom pb
 * @param padRight pr
 * @param ceilMode round the output size up (PyTorch's and ONNX's {@code ceil_mode})
 * @param countIncludePad count padding positions in the divisor (PyTorch's default is true, ONNX's is false)
 */
public record AvgPool2d(int kernelH, int kernelW, int strideH, int strideW, int padTop, int padLeft,
                        int padBottom, int padRight, boolean ceilMode, boolean countIncludePad) {
    private static final String OP = "AvgPool2d";

    /** Square kernel and stride, symmetric padding, floor mode, padding counted (PyTorch's defaults). */
    public static AvgPool2d of(int kernel, int stride, int padding) {
        return new AvgPool2d(kernel, kernel, stride, stride, padding, padding, padding, padding, false, true);
    }

    /** Checks an input shape against this configuration (errors name the op and the shapes). */
    public PoolGeom geometry(int[] xShape) {
        Shapes.check(xShape != null && xShape.length == 4, OP, "input x (N,C,H,W) must have rank 4 but has shape "
                + (xShape == null ? "null" : Shapes.str(xShape)));
        return PoolGeom.of(OP, xShape[0], xShape[1], xShape[2], xShape[3], kernelH, kernelW, strideH, strideW,
                padTop, padLeft, padBottom, padRight, 1, 1, ceilMode);
    }

    /** y = the average over each window. */
    public Tensor forward(Tensor x) {
        Shapes.requireRank(OP, "input x (N,C,H,W)", x, 4);
        PoolGeom g = geometry(x.shape());
        Tensor y = Tensor.zeros(g.outShape());
        int h = g.h(), w = g.w(), oh = g.oh(), ow = g.ow();
        float[] xd = x.data, yd = y.data;
        int o = 0;
        for (int p = 0; p < g.n() * g.c(); p++) {
            int xOff = p * h * w;
            for (int oy = 0; oy < oh; oy++) {
                int y0 = oy * strideH - padTop, y1 = Math.min(y0 + kernelH, h);
                for (int ox = 0; ox < ow; ox++, o++) {
                    int x0 = ox * strideW - padLeft, x1 = Math.min(x0 + kernelW, w);
                    double acc = 0;
                    for (int iy = Math.max(y0, 0); iy < y1; iy++)
                        for (int ix = Math.max(x0, 0); ix < x1; ix++) acc += xd[xOff + iy * w + ix];
                    yd[o] = (float) (acc / divisor(g, y0, x0));
                }
            }
        }
        return y;
    }

    /** dx: each dy[o] / d_o added to every input of window o. */
    public Tensor backward(Tensor dy, int[] xShape) {
        PoolGeom g = geometry(xShape);
        Shapes.requireRank(OP, "output gradient dy", dy, 4);
        Shapes.check(dy.dim(0) == g.n() && dy.dim(1) == g.c() && dy.dim(2) == g.oh() && dy.dim(3) == g.ow(), OP,
                "output gradient dy " + Shapes.str(dy.shape()) + " does not match the output shape "
                        + Shapes.str(g.outShape()) + " of input " + Shapes.str(xShape));
        Tensor dx = Tensor.zeros(xShape);
        int h = g.h(), w = g.w(), oh = g.oh(), ow = g.ow();
        float[] dxd = dx.data, dyd = dy.data;
        int o = 0;
        for (int p = 0; p < g.n() * g.c(); p++) {
            int xOff = p * h * w;
            for (int oy = 0; oy < oh; oy++) {
                int y0 = oy * strideH - padTop, y1 = Math.min(y0 + kernelH, h);
                for (int ox = 0; ox < ow; ox++, o++) {
                    int x0 = ox * strideW - padLeft, x1 = Math.min(x0 + kernelW, w);
                    float share = (float) (dyd[o] / (double) divisor(g, y0, x0));
                    for (int iy = Math.max(y0, 0); iy < y1; iy++)
                        for (int ix = Math.max(x0, 0); ix < x1; ix++) dxd[xOff + iy * w + ix] += share;
                }
            }
        }
        return dx;
    }

    /** The divisor of the window starting at (y0, x0) (see the class comment). */
    private int divisor(PoolGeom g, int y0, int x0) {
        if (countIncludePad) {
            int y1 = Math.min(y0 + kernelH, g.h() + padBottom), x1 = Math.min(x0 + kernelW, g.w() + padRight);
            return (y1 - y0) * (x1 - x0);
        }
        int y1 = Math.min(y0 + kernelH, g.h()), x1 = Math.min(x0 + kernelW, g.w());
        return (y1 - Math.max(y0, 0)) * (x1 - Math.max(x0, 0));
    }
}
