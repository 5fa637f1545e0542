package dev.convlens.viz.am;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;

/**
 * How the optimized image is made from the parameter that the optimizer changes.
 *
 * <p>{@link #image()} computes the RGB image in [0, 1] (for the sigmoid stages), shape
 * {@code (B, 3, H, W)}, and saves what {@link #backward} needs; {@code backward} maps
 * {@code dJ/d image} to {@code dJ/d param} by the hand-written adjoint of each stage. Two
 * implementations: {@link PixelParam} (the pixels themselves) and {@link FourierParam} (a
 * 1/f-scaled spectrum in decorrelated colour, after Olah et al. 2017). {@code k} lends its threads
 * ({@link Kernels#parallelFor}); the results do not depend on their number.
 */
public interface ImageParam {
    /** The parameter tensor; the optimizer updates it in place. */
    Tensor param();

    /** The image {@code (B, 3, H, W)} of the current parameter; saves what {@link #backward} needs. */
    Tensor image(Kernels k);

    /** {@code dJ/d param} from {@code dJ/d image}, for the image of the last {@link #image} call. */
    Tensor backward(Kernels k, Tensor dImage);

    /** Blurs the parameterized image in place with a Gaussian of standard deviation {@code sigma} pixels. */
    void blur(double sigma);

    int batch();

    int height();

    int width();
}
