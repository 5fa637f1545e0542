package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Trainer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens experiment transfer-saliency --quick} end to end (600 training and 200 test digits,
 * 2 epochs per variant), and the pieces it is made of: what each variant freezes, the random subsets,
 * the choice of saliency examples.
 */
class TransferSaliencyCommandTest {
    @TempDir Path dir;

    /** Chance on ten balanced classes; the quick budget clears it comfortably (0.55-0.81 measured). */
    static final double CHANCE = 0.1;
    /** Trainable values of alexnet-small on 28x28 with ten classes, counted by hand from SmallNets' layer table. */
    static final long LAST1 = 128 * 10 + 10, LAST2 = 3136 * 128 + 128 + LAST1,
            SCRATCH = 32 * 25 + 32 + 64 * 32 * 9 + 64 + LAST2;

    static boolean digitsPresent() {
        boolean present = Files.isRegularFile(DigitsSheet.DEFAULT);
        if (!present && "required".equals(System.getenv("CONVLENS_ORACLE"))) {
            throw new AssertionError("opencv-doc is required in CI but " + DigitsSheet.DEFAULT + " is missing");
        }
        return present;
    }

    @Test
    void quickRunWritesFiguresTablesAndSaneNumbers() throws Exception {
        Assumptions.assumeTrue(digitsPresent(), "opencv-doc (digits sheet) not installed; skipping");
        Path out = dir.resolve("a3");
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"experiment", "transfer-saliency", "--quick", "--threads", "2", "--seed", "1", "--out", out.toString()},
                new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        String stdout = o.toString(StandardCharsets.UTF_8), stderr = e.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, stderr);
        assertTrue(stderr.contains("[3/3] scratch"), "progress on stderr: " + stderr);

        for (String f : new String[] {"results.md", "results.json", "compare.png", "saliency.png"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
            assertTrue(stdout.contains(out.resolve(f).toString()), "stdout names " + f);
        }
        for (String v : TransferSaliencyCommand.VARIANTS) {
            assertSize(out.resolve("curves-" + v + ".png"), 840, 300 + Charts.TITLE_H);
            List<Trainer.Epoch> h = Trainer.readCurves(out.resolve("curves-" + v + ".csv"));
            assertEquals(TransferSaliencyCommand.QUICK_EPOCHS, h.size(), v);
        }
        assertSize(out.resolve("compare.png"), 840, 300);
        BufferedImage sal = ImageIO.read(out.resolve("saliency.png").toFile());
        assertNotNull(sal);
        // Five tiles of two 112-pixel panels per row (the widest row) and margins; at least one row of each kind.
        assertEquals(1262, sal.getWidth());
        assertTrue(sal.getHeight() > 2 * 112, "height " + sal.getHeight());

        String json = Files.readString(out.resolve("results.json"));
        List<Double> acc = numbers(json, "test_acc"), loss = numbers(json, "test_loss");
        assertEquals(3 * (1 + TransferSaliencyCommand.QUICK_EPOCHS), acc.size(), "final + per-epoch accuracies: " + json);
        for (double a : acc) assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        for (double l : loss) assertTrue(Double.isFinite(l) && l >= 0, "loss " + l);
        List<Double> trainAcc = numbers(json, "train_eval_acc"), trainLoss = numbers(json, "train_eval_loss");
        assertEquals(3, trainAcc.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(trainAcc.get(i) >= 0 && trainAcc.get(i) <= 1, "train accuracy " + trainAcc.get(i));
            assertTrue(Double.isFinite(trainLoss.get(i)) && trainLoss.get(i) >= 0, "train loss " + trainLoss.get(i));
        }
        assertEquals(List.of((double) LAST1, (double) LAST2, (double) SCRATCH), numbers(json, "trainable"));
        Matcher best = Pattern.compile("\"best\": \"(\\w+)\"").matcher(json);
        assertTrue(best.find());
        double bestAcc = acc.get(List.of(TransferSaliencyCommand.VARIANTS).indexOf(best.group(1)) * (1 + TransferSaliencyCommand.QUICK_EPOCHS));
        assertTrue(bestAcc > 3 * CHANCE, "best variant " + best.group(1) + " accuracy " + bestAcc);

        Matcher ex = Pattern.compile("\"true\": (\\d), \"pred\": (\\d), \"prob\": ([0-9.]+), \"correct\": (true|false)").matcher(json);
        int shown = 0;
        while (ex.find()) {
            shown++;
            assertEquals(ex.group(1).equals(ex.group(2)), Boolean.parseBoolean(ex.group(4)), ex.group());
            double p = Double.parseDouble(ex.group(3));
            assertTrue(p > 0 && p <= 1, ex.group());
        }
        assertTrue(shown >= 2 && shown <= 2 * TransferSaliencyCommand.QUICK_EACH, "saliency examples: " + shown);
        List<Double> ink = numbers(json, "saliency_on_ink"), area = numbers(json, "ink_area");
        assertEquals(shown, ink.size());
        for (int i = 0; i < shown; i++) {
            assertTrue(ink.get(i) > 0 && ink.get(i) < 1, "saliency on ink " + ink.get(i));
            assertTrue(area.get(i) > 0 && area.get(i) < 0.5, "a digit covers part of its 28x28 image: " + area.get(i));
        }
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| last1 |") && md.contains("| last2 |") && md.contains("| scratch |"), md);
    }

    @Test
    void badThreadsAndMissingOutAreUsageErrors() {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8), err = new PrintStream(e, true, StandardCharsets.UTF_8);
        assertEquals(2, Main.run(new String[] {"experiment", "transfer-saliency", "--threads", "0", "--out", dir.toString()}, out, err));
        assertTrue(e.toString(StandardCharsets.UTF_8).contains("--threads must be at least 1"), e.toString(StandardCharsets.UTF_8));
        assertEquals(2, Main.run(new String[] {"experiment", "transfer-saliency", "--quick"}, out, err));
        assertTrue(e.toString(StandardCharsets.UTF_8).contains("--out"), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void variantsFreezeWhatThePageSays() {
        Graph last1 = TransferSaliencyCommand.build("last1", 10, 3);
        assertEquals(List.of("classifier.4.weight", "classifier.4.bias"), Trainer.learnable(last1));
        Graph last2 = TransferSaliencyCommand.build("last2", 10, 3);
        assertEquals(List.of("classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias"),
                Trainer.learnable(last2));
        assertEquals(List.of(10, 128), List.of(last2.params.get("classifier.4.weight").dim(0), last2.params.get("classifier.4.weight").dim(1)));
        Graph scratch = TransferSaliencyCommand.build("scratch", 10, 3);
        assertEquals(8, Trainer.learnable(scratch).size());
        assertTrue(scratch.frozen.isEmpty());
        // The frozen convolutions are the shipped ones, shared by both transfer variants.
        assertTrue(java.util.Arrays.equals(last1.params.get("features.0.weight").data, last2.params.get("features.0.weight").data));
        assertTrue(!java.util.Arrays.equals(last1.params.get("features.0.weight").data, scratch.params.get("features.0.weight").data));
    }

    @Test
    void quickSubsetsCoverEveryClass() {
        int n = 1000, m = 28 * 28;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = i / 100; // class-major, like the sheet
        Dataset d = new Dataset(new byte[n * m], labels, 1, 28, 28, Dataset.numbered(10));
        Dataset s = d.sample(200, 7);
        assertEquals(200, s.size());
        boolean[] seen = new boolean[10];
        for (int l : s.labels()) seen[l] = true;
        for (int c = 0; c < 10; c++) assertTrue(seen[c], "class " + c + " missing from the random subset");
        assertEquals(java.util.Arrays.toString(s.labels()), java.util.Arrays.toString(d.sample(200, 7).labels()));
    }

    @Test
    void examplesAreOneCorrectPerClassThenTheFirstMistakes() {
        List<TransferSaliencyCommand.Example> all = new ArrayList<>();
        all.add(new TransferSaliencyCommand.Example(0, 2, 2, 0.9));
        all.add(new TransferSaliencyCommand.Example(1, 2, 2, 0.8)); // second correct 2: skipped
        all.add(new TransferSaliencyCommand.Example(2, 0, 0, 0.7));
        all.add(new TransferSaliencyCommand.Example(3, 1, 7, 0.6));
        all.add(new TransferSaliencyCommand.Example(4, 5, 3, 0.5));
        List<TransferSaliencyCommand.Example> c = TransferSaliencyCommand.choose(all, 10, false);
        assertEquals(List.of(2, 0, 3, 4), c.stream().map(TransferSaliencyCommand.Example::index).toList());
        assertEquals(List.of(3, 4), TransferSaliencyCommand.choose(all, 10, true).stream().skip(2)
                .map(TransferSaliencyCommand.Example::index).toList());
    }

    @Test
    void inkShareIsTheSaliencyMassOnBrightPixels() {
        float mean = dev.convlens.nn.train.Loader.Normalize.FASHION_MNIST.mean()[0], std = dev.convlens.nn.train.Loader.Normalize.FASHION_MNIST.std()[0];
        dev.convlens.tensor.Tensor x = dev.convlens.tensor.Tensor.zeros(1, 1, 2, 2), m = dev.convlens.tensor.Tensor.zeros(2, 2);
        float[] grey = {0, 255, 63, 64};
        for (int i = 0; i < 4; i++) x.data[i] = (grey[i] / 255f - mean) / std;
        m.data[0] = 1;
        m.data[1] = 2;
        m.data[2] = 3;
        m.data[3] = 4;
        assertEquals((2 + 4) / 10.0, TransferSaliencyCommand.inkShare(x, m), 1e-12);
    }

    private static List<Double> numbers(String json, String key) {
        List<Double> v = new ArrayList<>();
        Matcher m = Pattern.compile("\"" + key + "\": ([-0-9.eE+NaInfity]+)").matcher(json);
        while (m.find()) v.add(Double.parseDouble(m.group(1)));
        return v;
    }

    private static void assertSize(Path png, int w, int h) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, png + " decodes");
        assertEquals(w, img.getWidth(), png.toString());
        assertEquals(h, img.getHeight(), png.toString());
    }
}
