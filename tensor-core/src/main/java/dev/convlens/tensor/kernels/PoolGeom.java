package dev.convlens.tensor.kernels;

import dev.convlens.tensor.Shapes;

/**
 * Everything a 2-D pooling loop needs to know about its shapes, checked once.
 *
 * <p>Layouts (row-major): input {@code x (n, c, h, w)}, output {@code y (n, c, oh, ow)}. Output
 * {@code (oy, ox)} reads the window of input rows {@code oy*strideH - padTop + i*dilH},
 * {@code i < kernelH} (and likewise columns); positions outside the input are padding.
 *
 * <p>Output size, exactly as PyTorch ({@code pooling_output_shape_pad_lr}) and ONNX compute it:
 * <pre>
 *   effK = dil*(k-1) + 1
 *   out  = floor((in + padBegin + padEnd - effK) / stride) + 1          (ceilMode false)
 *   out  = ceil ((in + padBegin + padEnd - effK) / stride) + 1          (ceilMode true)
 *          and then, if (out-1)*stride >= in + padBegin, out = out - 1
 * </pre>
 * The correction keeps the last window starting inside the input or its left/top padding: a
 * window that would start in the right/bottom padding only (and so read no input) is dropped.
 * E.g. in=5, k=2, s=2, pad=1, ceil: ceil(5/2)+1 = 4, but (4-1)*2 = 6 >= 5+1, so out = 3.
 *
 * <p>As PyTorch requires, every pad is at most half the (undilated) kernel ({@code pad <= k/2}),
 * and the dilated kernel fits in the padded input. Together these guarantee that every window
 * reads at least one input element, so a max is always defined and an average never divides by 0.
 */
public record PoolGeom(int n, int c, int h, int w, int kernelH, int kernelW, int strideH, int strideW,
                       int padTop, int padLeft, int padBottom, int padRight, int dilH, int dilW,
                       boolean ceilMode, int oh, int ow) {

    /** Validates every size and derives the output size; errors name the op and the shapes. */
    public static PoolGeom of(String op, int n, int c, int h, int w, int kernelH, int kernelW,
                              int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                              int dilH, int dilW, boolean ceilMode) {
        String shapes = "input " + Shapes.str(n, c, h, w) + ", kernel " + kernelH + "x" + kernelW
                + ", stride " + strideH + "x" + strideW + ", pads (top,left,bottom,right) "
                + Shapes.str(padTop, padLeft, padBottom, padRight) + ", dilation " + dilH + "x" + dilW
                + ", ceil_mode " + ceilMode;
        Shapes.check(n > 0 && c > 0 && h > 0 && w > 0, op, "input sizes must be positive: " + shapes);
        Shapes.check(kernelH > 0 && kernelW > 0, op, "kernel sizes must be positive: " + shapes);
        Shapes.check(strideH > 0 && strideW > 0 && dilH > 0 && dilW > 0, op,
                "stride and dilation must be positive: " + shapes);
        Shapes.check(padTop >= 0 && padLeft >= 0 && padBottom >= 0 && padRight >= 0, op,
                "pads must be non-negative: " + shapes);
        long effH = (long) dilH * (kernelH - 1) + 1, effW = (long) dilW * (kernelW - 1) + 1;
        // PyTorch asks for pad <= kernel/2; ONNX allows more. Pads smaller than the (dilated) window
        // keep at least one real element in every window, which is all the definitions need.
        Shapes.check(padTop < effH && padBottom < effH && padLeft < effW && padRight < effW, op,
                "pads must be smaller than the (dilated) window, so every window sees the input: " + shapes);
        long ph = (long) h + padTop + padBottom, pw = (long) w + padLeft + padRight;
        Shapes.check(effH <= ph && effW <= pw, op, "kernel (dilated " + effH + "x" + effW
                + ") is larger than the padded input " + ph + "x" + pw + ": " + shapes);
        int oh = outSize(h, padTop, padBottom, effH, strideH, ceilMode);
        int ow = outSize(w, padLeft, padRight, effW, strideW, ceilMode);
        Shapes.numel(op + " input", n, c, h, w);
        Shapes.numel(op + " output", n, c, oh, ow);
        return new PoolGeom(n, c, h, w, kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight,
                dilH, dilW, ceilMode, oh, ow);
    }

    /** PyTorch's rule (see the class comment); {@code span = in + pads - effK >= 0}. */
    static int outSize(int in, int padBegin, int padEnd, long effK, int stride, boolean ceilMode) {
        long span = in + (long) padBegin + padEnd - effK;
        long out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceilMode && (out - 1) * stride >= (long) in + padBegin) out--;
        return (int) out;
    }

    /** The input shape {@code (n, c, h, w)}. */
    public int[] inShape() {
        return new int[] {n, c, h, w};
    }

    /** The output shape {@code (n, c, oh, ow)}. */
    public int[] outShape() {
        return new int[] {n, c, oh, ow};
    }
}
