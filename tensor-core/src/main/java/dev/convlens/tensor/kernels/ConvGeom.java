package dev.convlens.tensor.kernels;

import dev.convlens.tensor.Shapes;

/**
 * Everything a convolution kernel needs to know about its shapes, checked once.
 *
 * <p>Layouts (row-major): input {@code x (n, c, h, w)}, weight {@code w (k, c/groups, r, s)},
 * bias {@code b (k)}, output {@code y (n, k, oh, ow)} with
 * {@code oh = (h + padTop + padBottom - dilH*(r-1) - 1) / strideH + 1} and likewise {@code ow}.
 * Output channel {@code k} belongs to group {@code g = k / (k/groups)} and sees input channels
 * {@code g*c/groups .. (g+1)*c/groups - 1}.
 */
public record ConvGeom(int n, int c, int h, int w, int k, int r, int s,
                       int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                       int dilH, int dilW, int groups, int oh, int ow) {

    /** Validates every size and derives the output size; errors name the op and the shapes. */
    public static ConvGeom of(String op, int n, int c, int h, int w, int k, int cPerGroup, int r, int s,
                              int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                              int dilH, int dilW, int groups) {
        String shapes = "input " + Shapes.str(n, c, h, w) + ", weight " + Shapes.str(k, cPerGroup, r, s)
                + ", stride " + strideH + "x" + strideW + ", pads (top,left,bottom,right) "
                + Shapes.str(padTop, padLeft, padBottom, padRight) + ", dilation " + dilH + "x" + dilW
                + ", groups " + groups;
        Shapes.check(n > 0 && c > 0 && h > 0 && w > 0, op, "input sizes must be positive: " + shapes);
        Shapes.check(k > 0 && cPerGroup > 0 && r > 0 && s > 0, op, "weight sizes must be positive: " + shapes);
        Shapes.check(strideH > 0 && strideW > 0 && dilH > 0 && dilW > 0, op,
                "stride and dilation must be positive: " + shapes);
        Shapes.check(padTop >= 0 && padLeft >= 0 && padBottom >= 0 && padRight >= 0, op,
                "pads must be non-negative: " + shapes);
        Shapes.check(groups > 0 && c % groups == 0 && k % groups == 0, op,
                "groups must divide both channel counts: " + shapes);
        Shapes.check(c / groups == cPerGroup, op, "input has " + c + " channels but the weight expects "
                + cPerGroup + " per group: " + shapes);
        long effR = (long) dilH * (r - 1) + 1, effS = (long) dilW * (s - 1) + 1;
        long ph = (long) h + padTop + padBottom, pw = (long) w + padLeft + padRight;
        Shapes.check(effR <= ph && effS <= pw, op, "kernel (dilated " + effR + "x" + effS
                + ") is larger than the padded input " + ph + "x" + pw + ": " + shapes);
        int oh = (int) ((ph - effR) / strideH + 1), ow = (int) ((pw - effS) / strideW + 1);
        Shapes.numel(op + " input", n, c, h, w);
        Shapes.numel(op + " weight", k, cPerGroup, r, s);
        Shapes.numel(op + " output", n, k, oh, ow);
        return new ConvGeom(n, c, h, w, k, r, s, strideH, strideW, padTop, padLeft, padBottom, padRight,
                dilH, dilW, groups, oh, ow);
    }

    /** Input channels per group. */
    public int cg() {
        return c / groups;
    }

    /** Output channels per group. */
    public int kg() {
        return k / groups;
    }

    /** Multiply-adds of the forward pass (each backward pass has the same count). */
    public long macs() {
        return (long) n * k * oh * ow * cg() * r * s;
    }
}
