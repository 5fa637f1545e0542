package dev.convlens.viz.cli;

import static dev.convlens.tensor.testing.GradCheck.maxAbsRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.testing.OpenClTesting;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convlens devices}, and {@code --backend opencl} end to end on a shipped model. */
class DevicesCommandTest {
    /** The oracle tests' forward tolerance: max abs error <= FWD * max|ref|. */
    static final double FWD = 1e-4;
    static final Path MODEL = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("../models/src/main/resources/dev/convlens/models/fashion/resnet-small.onnx");

    @Test
    void devicesListsTheLayersAndMarksThePickedOpenClDevice() {
        PredictTest.Result r = PredictTest.run("devices");
        assertEquals(Main.OK, r.code(), r.err());
        assertTrue(r.out().contains("reference:") && r.out().contains("simd:") && r.out().contains("opencl:"), r.out());
        if (!OpenClKernels.survey().devices().isEmpty()) {
            OpenClKernels cl = OpenClTesting.kernels();
            assertTrue(r.out().contains(cl.deviceDescription() + "  <- picked"), r.out());
        }
    }

    @Test
    void predictOnOpenClGivesTheLogitsOfSimd(@TempDir Path dir) throws Exception {
        OpenClTesting.kernels();
        Path x = dir.resolve("x.npy");
        Npy.write(x, Tensor.uniform(3, 0, 1, 1, 1, 28, 28));
        PredictTest.Result simd = PredictTest.run("predict", "--model", MODEL.toString(), "--input", x.toString(),
                "--json", "--backend", "simd");
        PredictTest.Result cl = PredictTest.run("predict", "--model", MODEL.toString(), "--input", x.toString(),
                "--json", "--backend", "opencl");
        assertEquals(Main.OK, cl.code(), cl.err());
        assertEquals(Main.OK, simd.code(), simd.err());
        float[] y0 = PredictTest.Json.parse(simd.out().strip()).logits(), y1 = PredictTest.Json.parse(cl.out().strip()).logits();
        assertTrue(maxAbsRel(y0, y1) <= FWD, "logits: " + maxAbsRel(y0, y1));
    }
}
