package dev.convlens.tensor.ops;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * Global average pooling: the mean of each (n,c) plane (ResNet's last pooling; ONNX
 * {@code GlobalAveragePool}, PyTorch {@code adaptive_avg_pool2d(x, 1)}).
 *
 * <h2>Forward</h2>
 * Shapes: {@code x (N,C,H,W)}, {@code y (N,C,1,1)}:
 * <pre>
 *   y[n,c,0,0] = (1/(H*W)) * sum_{iy<H, ix<W} x[n,c,iy,ix]
 * </pre>
 *
 * <h2>Backward</h2>
 * Every input of a plane contributes 1/(H*W) to that plane's mean, so
 * {@code dx[n,c,iy,ix] = dy[n,c,0,0] / (H*W)}: the gradient is spread evenly over the plane.
 */
public final class GlobalAvgPool {
    private static final String OP = "GlobalAvgPool";

    private GlobalAvgPool() {}

    /** y (N,C,1,1) = the mean of each plane of x (N,C,H,W). */
    public static Tensor forward(Tensor x) {
        Shapes.requireRank(OP, "input x (N,C,H,W)", x, 4);
        int planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
        Tensor y = Tensor.zeros(x.dim(0), x.dim(1), 1, 1);
        float[] xd = x.data, yd = y.data;
        for (int p = 0; p < planes; p++) {
            double acc = 0;
            for (int i = p * hw, end = i + hw; i < end; i++) acc += xd[i];
            yd[p] = (float) (acc / hw);
        }
        return y;
    }

    /** dx (N,C,H,W) = dy[n,c] / (H*W) everywhere in plane (n,c). */
    public static Tensor backward(Tensor dy, int[] xShape) {
        Shapes.check(xShape != null && xShape.length == 4, OP, "input shape (N,C,H,W) must have rank 4 but is "
                + (xShape == null ? "null" : Shapes.str(xShape)));
        Shapes.numel(OP + " input", xShape);
        Shapes.requireRank(OP, "output gradient dy (N,C,1,1)", dy, 4);
        Shapes.check(dy.dim(0) == xShape[0] && dy.dim(1) == xShape[1] && dy.dim(2) == 1 && dy.dim(3) == 1, OP,
                "output gradient dy " + Shapes.str(dy.shape()) + " does not match the output shape "
                        + Shapes.str(xShape[0], xShape[1], 1, 1) + " of input " + Shapes.str(xShape));
        Tensor dx = Tensor.empty(xShape); // every element written below
        int planes = xShape[0] * xShape[1], hw = xShape[2] * xShape[3];
        float[] dxd = dx.data, dyd = dy.data;
        for (int p = 0; p < planes; p++) {
            float share = (float) ((double) dyd[p] / hw);
            for (int i = p * hw, end = i + hw; i < end; i++) dxd[i] = share;
        }
        return dx;
    }
}
