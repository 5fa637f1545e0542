package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Idx;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens experiment zeiler-fergus --quick} in-process (600 Fashion-MNIST images, 2 epochs, 3
 * channels per layer, 2 occlusion images, 200 digits): every figure and snapshot is written and the
 * numbers hang together. Needs Debian's dataset-fashion-mnist and opencv-doc (skipped without them).
 */
class ZeilerFergusCommandTest {
    @TempDir static Path dir;
    static PredictTest.Result run;
    static String json;

    @BeforeAll
    static void quickRun() throws Exception {
        assumeTrue(Files.isDirectory(Idx.FASHION_MNIST_DIR) && Files.isRegularFile(DigitsSheet.DEFAULT),
                "needs dataset-fashion-mnist and opencv-doc");
        run = PredictTest.run("experiment", "zeiler-fergus", "--quick", "--threads", "2", "--seed", "1", "--out", dir.toString());
        assertEquals(0, run.code(), run.err());
        json = Files.readString(dir.resolve("results.json"));
    }

    static BufferedImage png(String name) throws Exception {
        BufferedImage img = ImageIO.read(dir.resolve(name).toFile());
        assertTrue(img != null, name + " does not decode");
        return img;
    }

    /** The numbers of a JSON array field "key": [a, b, ...], every occurrence, in order. */
    static List<double[]> arrays(String key) {
        List<double[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"" + key + "\": \\[([^\\]]*)\\]").matcher(json);
        while (m.find()) out.add(Arrays.stream(m.group(1).split(",")).mapToDouble(s -> Double.parseDouble(s.trim())).toArray());
        return out;
    }

    static List<Double> numbers(String key) {
        List<Double> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"" + key + "\": ([-0-9.eE+]+)").matcher(json);
        while (m.find()) out.add(Double.parseDouble(m.group(1)));
        return out;
    }

    @Test
    void writesEveryFigureWithTheExpectedLayout() throws Exception {
        for (String f : List.of("curves.png", "top9_conv1.png", "top9_conv2.png", "evolution.png", "filters.png", "occlusion.png")) {
            assertTrue(run.out().contains(dir.resolve(f).toString()), "the paths are printed: " + run.out());
        }
        assertEquals(840, png("curves.png").getWidth());
        // top 9: per channel (3 rows) two 3x3 grids of 40-pixel tiles
        for (String f : List.of("top9_conv1.png", "top9_conv2.png")) {
            BufferedImage t = png(f);
            assertTrue(t.getWidth() >= 2 * (3 * 40 + 12) && t.getHeight() >= 3 * (3 * 40 + 12), f + " " + t.getWidth() + "x" + t.getHeight());
        }
        // evolution: 3 snapshots (init, epochs 1 and 2) as columns, 6 channels as rows, 40-pixel tiles
        BufferedImage e = png("evolution.png");
        assertTrue(e.getWidth() >= 3 * 40 && e.getHeight() >= 6 * 40, e.getWidth() + "x" + e.getHeight());
        // filters: 32 filters of 5x5 enlarged 8 times, 8 per row
        BufferedImage f = png("filters.png");
        assertTrue(f.getWidth() >= 8 * 40 && f.getHeight() >= 4 * 40, f.getWidth() + "x" + f.getHeight());
        // occlusion: 2 images of 28x28 enlarged 4 times, five columns
        BufferedImage o = png("occlusion.png");
        assertTrue(o.getWidth() >= 5 * 112 && o.getHeight() >= 2 * 112, o.getWidth() + "x" + o.getHeight());
    }

    @Test
    void keepsOneLoadableSnapshotPerEpoch() throws Exception {
        Graph init = OnnxImporter.load(dir.resolve("epochs/epoch-0.onnx"));
        Graph last = OnnxImporter.load(dir.resolve("epochs/epoch-2.onnx"));
        assertTrue(Files.isRegularFile(dir.resolve("epochs/epoch-1.onnx")));
        assertFalse(Files.exists(dir.resolve("epochs/epoch-3.onnx")));
        assertEquals(init.params.keySet(), last.params.keySet());
        assertFalse(Arrays.equals(init.params.get("features.0.weight").data, last.params.get("features.0.weight").data),
                "training changed the first layer");
    }

    @Test
    void numbersAreFiniteInRangeAndConsistent() throws Exception {
        assertFalse(json.contains("null") || json.contains("NaN") || json.contains("Infinity"), json);
        double acc = numbers("fashion_test_accuracy").get(0);
        assertTrue(acc > 0.3 && acc <= 1, "Fashion-MNIST accuracy " + acc + " (chance 0.1)");
        assertEquals(2, numbers("test_accuracy").size(), "one history entry per epoch");
        for (String k : List.of("last_layer_accuracy", "finetune_accuracy", "scratch_accuracy")) assertEquals(1, numbers(k).size(), k);
        for (String k : List.of("last_layer_accuracy", "finetune_accuracy", "scratch_accuracy", "clean_prob", "min_prob", "true_label_share")) {
            for (double v : numbers(k)) assertTrue(v >= 0 && v <= 1, k + " = " + v);
        }
        assertEquals(2, numbers("clean_prob").size(), "two occlusion images");
        // top 9: strongest first; each channel's strongest unit in the last snapshot is the top-9's first
        List<double[]> top = arrays("activations"), evo = arrays("top1_per_epoch");
        assertEquals(6, top.size());
        assertEquals(top.size(), evo.size());
        for (int i = 0; i < top.size(); i++) {
            double[] a = top.get(i);
            assertEquals(9, a.length);
            for (int j = 1; j < a.length; j++) assertTrue(a[j] <= a[j - 1], "top 9 not sorted: " + Arrays.toString(a));
            assertTrue(a[0] > 0, "a chosen channel fires");
            assertEquals(3, evo.get(i).length, "init and two epochs");
            assertEquals(a[0], evo.get(i)[2], 1e-5 * Math.abs(a[0]), "the final snapshot's strongest activation is the top-9's first");
        }
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| epoch | lr |") && md.contains("last layer only") && md.contains("| conv2 |"), md);
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertEquals(Main.USAGE, PredictTest.run("experiment", "zeiler-fergus", "--out", dir.resolve("x").toString(), "--threads", "0").code());
        assertEquals(Main.USAGE, PredictTest.run("experiment", "zeiler-fergus").code());
    }
}
