package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.testing.GradCheck;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Activation maximization against PyTorch (script oracle_am.py): torchvision resnet18 (seeded
 * weights, re-exported to ONNX), the logit of class 207 at 64 x 64 (resnet pools globally; 64 keeps the test fast), from the same initial
 * parameter, under fixed transforms (pad 4 with 0.5, then the crop at (3, 5): a fixed jitter),
 * Adam lr 0.05 on both sides, for the pixel (sigmoid) and the Fourier (1/f, decorrelated colour,
 * sigmoid) parameterizations. The start has contrast (see oracle_am.py): from Lucid's nearly flat
 * grey start the first max pool holds near-ties (gaps below 1e-6 measured), where float32 rounding
 * alone decides the gradient's route, and the spectrum gradients differed by 1.2e-3 relative L2.
 *
 * <p>The numbers: the image after step 1 within relative L2 {@value #IMAGE_TOL}, the
 * objective over the first 5 steps within relative {@value #OBJECTIVE_TOL}. Later images are not
 * compared: Adam's first steps are ~lr * sign(g), so any tiny gradient difference that flips a sign
 * moves a pixel by 2 lr, and pixels drift apart while the objective agrees (ORACLE-NOTES).
 */
class AmOracleTest {
    static final double IMAGE_TOL = 1e-4, OBJECTIVE_TOL = 1e-3;
    /** The parameterization alone (no network): float32 rounding of an exact map. */
    static final double IMAGE0_TOL = 1e-5;
    static final int SIZE = 64, TARGET = 207, STEPS = 5;

    /** The imported network, shared by both cases (47 MB of ONNX read once). */
    private static Graph graph;

    static synchronized Graph graph(Golden gold) {
        if (graph == null) graph = OnnxImporter.load(gold.dir().resolve("model_bn.onnx"));
        return graph;
    }

    @ParameterizedTest
    @ValueSource(strings = {"pixel", "fourier"})
    void matchesPyTorch(String kind) {
        Golden gold = new Golden(Oracle.get().run("oracle_am.py").resolve("resnet18"));
        Graph g = graph(gold);
        Tensor p0 = gold.tensor(kind + ".p0");
        ImageParam param = kind.equals("pixel") ? new PixelParam(p0, false, true) : new FourierParam(p0, SIZE, SIZE);
        Kernels k = Backend.select("simd", 2);
        double e0 = GradCheck.relL2(gold.floats(kind + ".image0"), param.image(k).data);
        assertTrue(e0 <= IMAGE0_TOL, kind + " image of p0: relative L2 " + e0);

        ActivationMaximization am = new ActivationMaximization(g, k,
                List.of(new Objective.ClassLogit(TARGET, 1)));
        List<Transform> fixed = List.of(new Transform.Pad(4, 0.5f), new Transform.Crop(3, 5, SIZE, SIZE));
        Optimizer adam = new Optimizer.Adam(0.05);
        float[] want = gold.floats(kind + ".j");
        StringBuilder report = new StringBuilder(kind);
        for (int step = 1; step <= STEPS; step++) {
            double j = am.step(param, adam, fixed, 0, 0).objective();
            double err = Math.abs(j - want[step - 1]) / Math.abs(want[step - 1]);
            report.append(String.format(" | step %d J %.6f torch %.6f rel %.1e", step, j, want[step - 1], err));
            assertTrue(err <= OBJECTIVE_TOL, report.toString());
            double ei = GradCheck.relL2(gold.floats(kind + ".image" + step), param.image(k).data);
            report.append(String.format(" image after: rel L2 %.1e", ei));
            if (step == 1) assertTrue(ei <= IMAGE_TOL, report.toString());
        }
        System.out.println(report);
    }
}
