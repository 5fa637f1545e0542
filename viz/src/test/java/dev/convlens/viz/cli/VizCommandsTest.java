package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.Oracle;
import dev.convlens.viz.Deconvnet;
import dev.convlens.viz.Saliency;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens saliency} and {@code convlens deconv} run in-process on the torchvision resnet18
 * export of oracle_viz.py: the files appear, and the saved arrays are exactly what the library computes.
 */
class VizCommandsTest {
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path net() {
        return Oracle.get().run("oracle_viz.py").resolve("resnet18");
    }

    static void assertFiles(Path dir, List<String> names) {
        for (String n : names) assertTrue(Files.isRegularFile(dir.resolve(n)), dir.resolve(n) + " is missing");
    }

    @Test
    void saliencyWritesPicturesAndTheLibrarysArrays(@TempDir Path tmp) throws Exception {
        Path d = net();
        Result r = run("saliency", "--model", d.resolve("model.onnx").toString(), "--input", d.resolve("x.npy").toString(),
                "--threads", "2", "--out", tmp.resolve("png").toString(), "--save", tmp.resolve("npy").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("saliency vanilla: class "), r.out());
        assertFiles(tmp.resolve("png"), List.of("heatmap.png", "overlay.png", "gradient.png"));
        assertFiles(tmp.resolve("npy"), List.of("saliency.npy", "saliency_map.npy"));

        Graph g = OnnxImporter.load(d.resolve("model.onnx"));
        Saliency.Result lib = new Saliency(g, Backend.select("simd", 2)).vanilla(Npy.read(d.resolve("x.npy")), -1);
        Tensor grad = Npy.read(tmp.resolve("npy/saliency.npy")), map = Npy.read(tmp.resolve("npy/saliency_map.npy"));
        assertArrayEquals(new int[] {1, 3, 224, 224}, grad.shape());
        assertArrayEquals(new int[] {224, 224}, map.shape());
        assertArrayEquals(lib.gradient().data, grad.data);
        assertArrayEquals(lib.map().data, map.data);
    }

    @Test
    void deconvWritesTheProjection(@TempDir Path tmp) throws Exception {
        Path d = net();
        Result r = run("deconv", "--model", d.resolve("model.onnx").toString(), "--input", d.resolve("x.npy").toString(),
                "--layer", "layer1", "--channel", "5", "--unit", "10,20", "--rule", "guided", "--threads", "2",
                "--out", tmp.toString(), "--save", tmp.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("channel 5, unit (10,20)"), r.out());
        assertFiles(tmp, List.of("projection.png", "projection.npy"));

        Graph g = OnnxImporter.load(d.resolve("model.onnx"));
        Deconvnet.Projection lib = new Deconvnet(g, Backend.select("simd", 2))
                .project(Npy.read(d.resolve("x.npy")), "layer1", Deconvnet.Unit.at(5, 10, 20), Relu.Rule.GUIDED);
        assertArrayEquals(lib.projection().data, Npy.read(tmp.resolve("projection.npy")).data);
    }

    @Test
    void usageErrorsExitWith2(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("m.onnx"), x = tmp.resolve("x.npy");
        Files.writeString(model, "not read: the flags fail first");
        Npy.write(x, Tensor.zeros(1, 3, 8, 8));
        String m = model.toString(), in = x.toString();
        assertEquals(2, run("saliency", "--model", m, "--input", in, "--method", "gradcam").code(), "gradcam needs --layer");
        assertEquals(2, run("saliency", "--model", m, "--input", in, "--method", "occlusion").code());
        assertEquals(2, run("saliency", "--model", m, "--input", in, "--rule", "sideways").code());
        assertEquals(2, run("deconv", "--model", m, "--input", in, "--layer", "layer1", "--unit", "1,2").code(), "--unit needs --channel");
        assertEquals(2, run("deconv", "--model", m, "--input", in, "--layer", "layer1", "--channel", "1", "--unit", "x").code());
        assertEquals(2, run("deconv", "--model", m, "--input", in).code(), "--layer is required");
    }

    @Test
    void anUnknownLayerIsAUsageErrorNamingCloseOnes() {
        Path d = net();
        Result r = run("deconv", "--model", d.resolve("model.onnx").toString(), "--input", d.resolve("x.npy").toString(),
                "--layer", "layer5", "--threads", "2");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("layer5") && r.err().contains("layer4"), r.err());
    }
}
