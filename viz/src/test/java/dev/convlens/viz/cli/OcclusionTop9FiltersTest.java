package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code occlusion}, {@code top9} and {@code filters} run in-process on PredictTest's tiny classifier. */
class OcclusionTop9FiltersTest {
    @TempDir static Path dir;
    static Path model, input;

    @BeforeAll
    static void files() throws Exception {
        model = Files.write(dir.resolve("tiny.onnx"), PredictTest.tinyModel("Relu").toByteArray());
        input = dir.resolve("x.npy");
        Npy.write(input, Tensor.uniform(3, -1, 1, 1, 3, 16, 16));
    }

    @Test
    void occlusionWritesTheMapsAndPictures() throws Exception {
        Path out = dir.resolve("occ");
        PredictTest.Result r = PredictTest.run("occlusion", "--model", model.toString(), "--input", input.toString(),
                "--layer", "act", "--size", "8", "--stride", "4", "--batch", "4", "--backend", "reference",
                "--out", out.toString(), "--save", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("3x3 positions"), r.out());
        assertArrayEquals(new int[] {3, 3}, Npy.read(out.resolve("occlusion_prob.npy")).shape());
        assertArrayEquals(new int[] {3, 3}, Npy.read(out.resolve("occlusion_activation.npy")).shape());
        assertEquals(9, Npy.readInts(out.resolve("occlusion_label.npy")).length);
        for (String f : List.of("occlusion_prob.png", "occlusion_prob_overlay.png", "occlusion_activation.png",
                "occlusion_activation_overlay.png", "occlusion_label.png")) {
            assertTrue(Files.size(out.resolve(f)) > 50, f);
        }
    }

    @Test
    void occlusionUsageAndInputErrors() {
        PredictTest.Result bad = PredictTest.run("occlusion", "--model", model.toString(), "--input", input.toString(),
                "--layer", "nonesuch", "--out", dir.resolve("o2").toString());
        assertEquals(Main.USAGE, bad.code(), bad.err());
        assertTrue(bad.err().contains("nonesuch"), bad.err());
        PredictTest.Result big = PredictTest.run("occlusion", "--model", model.toString(), "--input", input.toString(),
                "--size", "40", "--out", dir.resolve("o3").toString());
        assertEquals(Main.INPUT, big.code(), big.err());
        PredictTest.Result missing = PredictTest.run("occlusion", "--model", dir.resolve("none.onnx").toString(),
                "--input", input.toString());
        assertEquals(Main.INPUT, missing.code(), missing.err());
    }

    @Test
    void top9WritesOneFigurePerChannelAndATable() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        BufferedImage p = ImageIO.read(PredictTest.PHOTO.toFile());
        int w = p.getWidth(), h = p.getHeight();
        ImageIO.write(p, "png", images.resolve("1.png").toFile());
        ImageIO.write(p.getSubimage(0, 0, w / 2, h / 2), "png", images.resolve("2.png").toFile());
        ImageIO.write(p.getSubimage(w / 2, h / 2, w / 2, h / 2), "jpg", images.resolve("3.jpg").toFile());
        Path out = dir.resolve("top");
        PredictTest.Result r = PredictTest.run("top9", "--model", model.toString(), "--images", images.toString(),
                "--layer", "act", "--channels", "0,2", "--resize", "40", "--crop", "32", "--threads", "2",
                "--backend", "reference", "--scale", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("3/3 images"), r.err());
        assertTrue(Files.size(out.resolve("top_0000.png")) > 50);
        assertTrue(Files.size(out.resolve("top_0002.png")) > 50);
        List<String> rows = Files.readAllLines(out.resolve("top9.tsv"));
        assertEquals(1 + 2 * 3, rows.size(), String.join("\n", rows)); // three images: three hits per channel

        PredictTest.Result first = PredictTest.run("top9", "--model", model.toString(), "--images", images.toString(),
                "--layer", "conv", "--first", "2", "--resize", "40", "--crop", "32", "--no-projections", "--out", out.toString());
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.exists(out.resolve("top_0001.png")));
        PredictTest.Result empty = PredictTest.run("top9", "--model", model.toString(), "--images", dir.resolve("occ-none").toString(),
                "--layer", "act");
        assertEquals(Main.INPUT, empty.code(), empty.err());
    }

    @Test
    void filtersDrawsTheFirstConvolutionAndActivations() throws Exception {
        Path out = dir.resolve("filters");
        PredictTest.Result r = PredictTest.run("filters", "--model", model.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        BufferedImage f = ImageIO.read(out.resolve("filters.png").toFile());
        assertTrue(f.getWidth() > 3 * 6, "4 filters of 3x3 enlarged 6 times");
        PredictTest.Result a = PredictTest.run("filters", "--model", model.toString(), "--layer", "conv", "--image",
                PredictTest.PHOTO.toString(), "--out", out.toString());
        assertEquals(0, a.code(), a.err());
        assertTrue(Files.size(out.resolve("activations.png")) > 50);
        PredictTest.Result notConv = PredictTest.run("filters", "--model", model.toString(), "--layer", "gap");
        assertEquals(Main.USAGE, notConv.code(), notConv.err());
    }
}
