package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convlens visualize} in-process, few steps on PredictTest's tiny ONNX classifier (layers "conv", "act"). */
class VisualizeCommandTest {
    @TempDir static Path dir;
    static Path model;

    @BeforeAll
    static void files() throws Exception {
        model = Files.write(dir.resolve("tiny.onnx"), PredictTest.tinyModel("Relu").toByteArray());
    }

    @Test
    void classObjectiveWritesAPng() throws Exception {
        Path out = dir.resolve("out1"), save = dir.resolve("raw1");
        PredictTest.Result r = PredictTest.run("visualize", "--model", model.toString(), "--target", "3", "--steps", "4",
                "--size", "24", "--progress", "2", "--out", out.toString(), "--save", save.toString(), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        Path png = out.resolve("class-3.png");
        assertEquals(png.toString(), r.out().strip());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(24, img.getWidth());
        assertTrue(r.err().contains("step 2/4") && r.err().contains("ms/step"), r.err());
        Tensor saved = Npy.read(save.resolve("image.npy"));
        assertArrayEquals(new int[] {1, 3, 24, 24}, saved.shape());
        assertTrue(Files.exists(save.resolve("param.npy")));
    }

    @Test
    void sameSeedSameImage() throws Exception {
        String[] args = {"visualize", "--model", model.toString(), "--objective", "channel", "--layer", "act", "--channel", "1",
            "--param", "pixel", "--steps", "3", "--size", "16", "--batch", "2", "--diversity", "1", "--seed", "5",
            "--progress", "0", "--threads", "1", "--save", ""};
        args[args.length - 1] = dir.resolve("s1").toString();
        assertEquals(0, PredictTest.run(args).code());
        args[args.length - 1] = dir.resolve("s2").toString();
        PredictTest.Result r = PredictTest.run(args);
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Npy.read(dir.resolve("s1/image.npy")).data, Npy.read(dir.resolve("s2/image.npy")).data);
        assertTrue(r.out().strip().endsWith("channel-act-1.png"), r.out());
    }

    @Test
    void usageAndInputErrors() {
        assertEquals(Main.USAGE, PredictTest.run("visualize", "--model", model.toString()).code(), "class needs --target");
        assertEquals(Main.USAGE, PredictTest.run("visualize", "--model", model.toString(), "--objective", "neuron",
                "--layer", "act", "--channel", "0").code(), "neuron needs --unit");
        PredictTest.Result bad = PredictTest.run("visualize", "--model", model.toString(), "--objective", "channel",
                "--layer", "nope", "--channel", "0", "--steps", "1", "--size", "16");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("nope") && bad.err().contains("act"), bad.err());
        assertEquals(Main.INPUT, PredictTest.run("visualize", "--model", dir.resolve("missing.onnx").toString(),
                "--target", "1").code());
        PredictTest.Result help = PredictTest.run("visualize", "--help");
        assertTrue(help.out().contains("--diversity") && help.out().contains("Exit codes:"), help.out());
    }
}
