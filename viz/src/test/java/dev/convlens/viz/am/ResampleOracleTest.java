package dev.convlens.viz.am;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Transform.Resample} against PyTorch (script oracle_resample.py): its sampling is
 * {@code grid_sample(mode="bilinear", padding_mode="zeros", align_corners=False)} on the grid of its
 * affine map, borders included, and its backward the input gradient autograd gives for it. Scales 0.9
 * and 1.1 and rotations of 10 and -7 degrees of a (2, 3, 24, 30) batch, on one thread and on two
 * (the backward's bands). Tolerances: the grid is computed in float here and in float64 there, so
 * the weights differ by float rounding of the coordinates (~1e-6 of a pixel).
 */
class ResampleOracleTest {
    static final double FORWARD_TOL = 1e-5, GRADIENT_TOL = 1e-5;
    static final int H = 24, W = 30;

    @Test
    void matchesGridSample() {
        Golden gold = new Golden(Oracle.get().run("oracle_resample.py"));
        Tensor x = gold.tensor("x");
        for (Kernels k : List.<Kernels>of(new ReferenceKernels(), Backend.select("simd", 2)))
            for (String c : List.of("scale0.9", "scale1.1", "rot10", "rot-7")) {
                Transform.Resample r = c.startsWith("scale") ? Transform.Resample.scale(Double.parseDouble(c.substring(5)), H, W)
                        : Transform.Resample.rotate(Integer.parseInt(c.substring(3)), H, W);
                gold.assertForward(c + ".y", r.forward(k, x), FORWARD_TOL);
                gold.assertGradient(c + ".dx", r.backward(k, gold.tensor(c + ".dy"), x.shape()), GRADIENT_TOL);
            }
    }
}
