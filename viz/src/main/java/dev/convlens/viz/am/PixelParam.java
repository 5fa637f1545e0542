package dev.convlens.viz.am;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;

/**
 * The pixel parameterization: the parameter {@code p (B, 3, H, W)} is the image before the
 * {@link ToRgb} stage, {@code image = toRgb(p)}: with {@code sigmoid} (Lucid's default)
 * {@code image = sigmoid(p)}, without it the plain parameter is the image (it may leave [0, 1];
 * pictures clamp). Backward: {@code dp = toRgb.backward(dImage)}.
 *
 * <p>{@link #blur} blurs {@code p} itself (before the sigmoid, a monotone map) with a separable
 * Gaussian, edges replicated, as Yosinski et al. (2015) blur every few steps.
 */
public final class PixelParam implements ImageParam {
    private final Tensor p;
    private final ToRgb rgb;

    public PixelParam(Tensor p, boolean decorrelate, boolean sigmoid) {
        Shapes.requireRank("PixelParam", "p", p, 4);
        Shapes.check(p.dim(1) == 3, "PixelParam", "expected (B,3,H,W) but got " + Shapes.str(p.shape()));
        this.p = p;
        this.rgb = new ToRgb(decorrelate, sigmoid);
    }

    /** Lucid's start: {@code p ~ N(0, sd^2)} (sd 0.01), plus 0.5 without the sigmoid (mid grey either way). */
    public static PixelParam random(long seed, int b, int h, int w, double sd, boolean decorrelate, boolean sigmoid) {
        Tensor p = Tensor.normal(seed, (float) sd, b, 3, h, w);
        if (!sigmoid) for (int i = 0; i < p.data.length; i++) p.data[i] += 0.5f;
        return new PixelParam(p, decorrelate, sigmoid);
    }

    public Tensor param() { return p; }

    public Tensor image(Kernels k) { return rgb.forward(k, p); }

    public Tensor backward(Kernels k, Tensor dImage) { return rgb.backward(k, dImage); }

    public void blur(double sigma) { Regularizers.gaussianBlur(p, sigma); }

    public int batch() { return p.dim(0); }

    public int height() { return p.dim(2); }

    public int width() { return p.dim(3); }
}
