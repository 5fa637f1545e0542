package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import org.joml.Matrix3x2f;

/**
 * One sampled robustness transform of a batch of images {@code x (B, C, H, W)} (Mordvintsev et
 * al. 2015; Olah et al. 2017: "transformation robustness"). All are linear in {@code x}, so each
 * backward is the adjoint (transpose) of the forward's sampling, written beside it. {@code k}
 * lends its threads ({@link Kernels#parallelFor}) to the transforms that have work to share.
 */
public sealed interface Transform {
    /** The output shape for an input of shape {@code x}. */
    int[] outShape(int[] x);

    Tensor forward(Kernels k, Tensor x);

    /** dx (shape {@code xShape}) from dy: the adjoint of {@link #forward}. */
    Tensor backward(Kernels k, Tensor dy, int[] xShape);

    /**
     * Constant padding: {@code y[.., i, j] = x[.., i - p, j - p]} inside, {@code value} outside;
     * {@code y (B, C, H+2p, W+2p)}. Backward: the centre crop {@code dx = dy[.., p:p+H, p:p+W]}
     * (the constant border does not depend on x).
     */
    record Pad(int p, float value) implements Transform {
        public int[] outShape(int[] x) { return new int[] {x[0], x[1], x[2] + 2 * p, x[3] + 2 * p}; }

        public Tensor forward(Kernels k, Tensor x) {
            Shapes.requireRank("Pad", "x", x, 4);
            int[] os = outShape(x.shape());
            Tensor y = Tensor.zeros(os);
            java.util.Arrays.fill(y.data, value);
            copy(x.data, x.dim(2), x.dim(3), y.data, os[2], os[3], x.dim(0) * x.dim(1), p, p, true);
            return y;
        }

        public Tensor backward(Kernels k, Tensor dy, int[] xShape) {
            Tensor dx = Tensor.zeros(xShape);
            copy(dx.data, xShape[2], xShape[3], dy.data, dy.dim(2), dy.dim(3), xShape[0] * xShape[1], p, p, false);
            return dx;
        }
    }

    /**
     * A crop (Lucid's jitter is a random crop {@code d} pixels smaller):
     * {@code y[.., i, j] = x[.., i + dy, j + dx]}, {@code y (B, C, h, w)}. Backward: scatter into zeros,
     * {@code dx[.., i + dy, j + dx] = dy[.., i, j]}.
     */
    record Crop(int top, int left, int h, int w) implements Transform {
        public int[] outShape(int[] x) { return new int[] {x[0], x[1], h, w}; }

        public Tensor forward(Kernels k, Tensor x) {
            Shapes.requireRank("Crop", "x", x, 4);
            Shapes.check(top >= 0 && left >= 0 && top + h <= x.dim(2) && left + w <= x.dim(3), "Crop",
                    "window " + h + "x" + w + " at (" + top + "," + left + ") leaves " + Shapes.str(x.shape()));
            Tensor y = Tensor.zeros(outShape(x.shape()));
            copy(y.data, h, w, x.data, x.dim(2), x.dim(3), x.dim(0) * x.dim(1), top, left, false);
            return y;
        }

        public Tensor backward(Kernels k, Tensor dy, int[] xShape) {
            Tensor dx = Tensor.zeros(xShape);
            copy(dy.data, h, w, dx.data, xShape[2], xShape[3], xShape[0] * xShape[1], top, left, true);
            return dx;
        }
    }

    /**
     * Bilinear resampling through an affine map (random scale; rotation about the centre).
     * {@code outToIn} maps an output pixel centre {@code (j + 1/2, i + 1/2)} to input coordinates
     * {@code (u + 1/2, v + 1/2)}; with {@code u0 = floor(u)}, {@code a = u - u0}, {@code b = v - v0}:
     * <pre>
     *   y[i, j] = (1-a)(1-b) x[v0, u0] + a(1-b) x[v0, u0+1] + (1-a) b x[v0+1, u0] + a b x[v0+1, u0+1]
     * </pre>
     * with neighbours outside the input counted as 0. Scaling by s about the origin is
     * {@code outToIn = diag(1/s)} with output size {@code round(s H)}. This is PyTorch's
     * {@code grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)} on the grid of
     * the map, borders included ({@code ResampleOracleTest}, forward and backward). Its
     * {@code interpolate(size=(round(s H), round(s W)), mode="bilinear", align_corners=False)} gives the
     * same samples only where {@code s H} and {@code s W} are whole numbers (it maps by the ratio of
     * the sizes, here by 1/s), and, when scaling up, not in the outermost rows and columns, where it
     * clamps the neighbour outside to the edge pixel (PyTorch 1.13, ad hoc: 1e-6 inside, up to 0.08 on
     * the border). Lucid's own resampling (TensorFlow's) differs again.
     * Backward: each output's gradient scattered back with the same four weights.
     */
    record Resample(Matrix3x2f outToIn, int outH, int outW) implements Transform {
        /** Scale by {@code s} (output {@code round(s h) x round(s w)}). */
        public static Resample scale(double s, int h, int w) {
            return new Resample(new Matrix3x2f().scaling((float) (1 / s)), (int) Math.round(s * h), (int) Math.round(s * w));
        }

        /** Rotate by {@code degrees} (counter-clockwise on screen) about the image centre, same size. */
        public static Resample rotate(double degrees, int h, int w) {
            float cx = w / 2f, cy = h / 2f;
            Matrix3x2f m = new Matrix3x2f().translate(cx, cy).rotate((float) Math.toRadians(degrees)).translate(-cx, -cy);
            return new Resample(m, h, w);
        }

        public int[] outShape(int[] x) { return new int[] {x[0], x[1], outH, outW}; }

        public Tensor forward(Kernels k, Tensor x) {
            Shapes.requireRank("Resample", "x", x, 4);
            Tensor y = Tensor.zeros(outShape(x.shape()));
            int h = x.dim(2), w = x.dim(3), planes = x.dim(0) * x.dim(1), tasks = Math.min(outH, 4 * k.threads());
            k.parallelFor(tasks, t -> run(x.data, h, w, y.data, planes, t * outH / tasks, (t + 1) * outH / tasks, true));
            return y;
        }

        /**
         * The scatter in bands of output rows, one per thread: band 0 adds into dx, each other band
         * into a zeroed array of its own (bands' inputs overlap), summed into dx at the end. The bits
         * depend on the thread count, not on which thread runs what.
         */
        public Tensor backward(Kernels k, Tensor dy, int[] xShape) {
            Tensor dx = Tensor.zeros(xShape);
            int h = xShape[2], w = xShape[3], planes = xShape[0] * xShape[1], n = dx.size(), bands = Math.min(outH, k.threads());
            float[][] into = new float[bands][];
            into[0] = dx.data;
            k.parallelFor(bands, t -> {
                if (t > 0) into[t] = new float[n];       // zeroed by the thread that runs the band
                run(into[t], h, w, dy.data, planes, t * outH / bands, (t + 1) * outH / bands, false);
            });
            if (bands > 1)
                Chunks.each(k, 1, n, (u, i0, i1) -> {
                    for (int b = 1; b < bands; b++)
                        for (int i = i0; i < i1; i++) dx.data[i] += into[b][i];
                });
            return dx;
        }

        /** Output rows i0..i1-1 of every plane. forward: y = gather(x); backward: x += scatter(y). */
        private void run(float[] x, int h, int w, float[] y, int planes, int i0, int i1, boolean forward) {
            float m00 = outToIn.m00(), m01 = outToIn.m01(), m10 = outToIn.m10(), m11 = outToIn.m11(),
                    m20 = outToIn.m20(), m21 = outToIn.m21();
            for (int i = i0; i < i1; i++)
                for (int j = 0; j < outW; j++) {
                    float px = j + 0.5f, py = i + 0.5f;
                    float u = m00 * px + m10 * py + m20 - 0.5f, v = m01 * px + m11 * py + m21 - 0.5f;
                    int u0 = (int) Math.floor(u), v0 = (int) Math.floor(v);
                    float a = u - u0, b = v - v0;
                    for (int p = 0; p < planes; p++) {
                        int xo = p * h * w, yi = (p * outH + i) * outW + j;
                        float acc = 0;
                        for (int dv = 0; dv < 2; dv++) {
                            int vv = v0 + dv;
                            if (vv < 0 || vv >= h) continue;
                            float wv = dv == 0 ? 1 - b : b;
                            for (int du = 0; du < 2; du++) {
                                int uu = u0 + du;
                                if (uu < 0 || uu >= w) continue;
                                float wt = wv * (du == 0 ? 1 - a : a);
                                if (forward) acc += wt * x[xo + vv * w + uu];
                                else x[xo + vv * w + uu] += wt * y[yi];
                            }
                        }
                        if (forward) y[yi] = acc;
                    }
                }
        }
    }

    /**
     * Copies between a small {@code (sh, sw)} and a large {@code (bh, bw)} plane set, the small one
     * sitting at (top, left) of the large: small to large when {@code toLarge}, else large to small.
     */
    private static void copy(float[] small, int sh, int sw, float[] large, int bh, int bw, int planes, int top, int left,
                             boolean toLarge) {
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < sh; i++) {
                int so = (p * sh + i) * sw, lo = (p * bh + i + top) * bw + left;
                if (toLarge) System.arraycopy(small, so, large, lo, sw);
                else System.arraycopy(large, lo, small, so, sw);
            }
    }
}
