package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.UciDigits;
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
 * {@code convlens experiment resnet-init --quick} in-process: every file it promises is written,
 * the figures decode with the sizes their layout gives, and the numbers in results.json are finite
 * and in range (accuracies and CKA in [0, 1]; a network barely changed by two short epochs of
 * fine-tuning keeps its early representation, CKA near 1; the shipped network A, loaded into the
 * code-built graph, classifies Fashion-MNIST well above chance).
 */
class ResnetInitCommandTest {
    /** The quick run takes ~40 s on the loaded 2-core machine; allow slack. */
    private static final double LIMIT_S = 120;
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?|null");

    static void requireData() {
        boolean present = Files.isRegularFile(UciDigits.DEFAULT) && Files.isRegularFile(DigitsSheet.DEFAULT);
        if (!present && "required".equals(System.getenv("CONVLENS_ORACLE"))) {
            throw new AssertionError("CI must install python3-sklearn (" + UciDigits.DEFAULT + ") and opencv-doc (" + DigitsSheet.DEFAULT + ")");
        }
        Assumptions.assumeTrue(present, "python3-sklearn or opencv-doc not installed; skipping");
    }

    /** The numbers of the JSON array that follows {@code "key": [} in {@code json}. */
    private static List<Double> array(String json, String key) {
        int at = json.indexOf("\"" + key + "\": [");
        assertTrue(at >= 0, "results.json lacks " + key);
        String body = json.substring(json.indexOf('[', at) + 1, json.indexOf(']', at));
        List<Double> out = new ArrayList<>();
        Matcher m = NUMBER.matcher(body);
        while (m.find()) out.add(m.group().equals("null") ? Double.NaN : Double.parseDouble(m.group()));
        return out;
    }

    private static List<Double> values(String json, String key) {
        List<Double> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"" + key + "\": (" + NUMBER.pattern() + ")").matcher(json);
        while (m.find()) out.add(m.group(1).equals("null") ? Double.NaN : Double.parseDouble(m.group(1)));
        return out;
    }

    @Test
    void quickRunWritesFiguresAndSaneNumbers(@TempDir Path dir) throws Exception {
        requireData();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = Main.run(new String[] {"experiment", "resnet-init", "--quick", "--out", dir.toString(), "--threads", "2", "--seed", "3"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String stderr = err.toString(StandardCharsets.UTF_8);
        assertEquals(Main.OK, code, stderr);
        assertTrue(seconds < LIMIT_S, "quick run took " + seconds + " s");
        assertTrue(stderr.contains("fine-tuning A") && stderr.contains("CKA after fine-tuning"), "progress on stderr: " + stderr);

        List<String> names = List.of("am-side-by-side.png", "cka.png", "pretrain-b-curves.png", "finetune-a-curves.png",
                "finetune-b-curves.png", "results.md", "results.json");
        List<String> printed = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(names.size(), printed.size(), "stdout lists the files: " + printed);
        for (int i = 0; i < names.size(); i++) {
            assertEquals(dir.resolve(names.get(i)).toString(), printed.get(i));
            assertTrue(Files.size(dir.resolve(names.get(i))) > 0, names.get(i));
        }

        // quick: 2 classes, each a row of 2 x (3 hidden layers + logit) tiles of 28*3 pixels
        int tile = 28 * ResnetInitCommand.SCALE;
        assertSize(dir.resolve("am-side-by-side.png"), 62 + 2 * 4 * (tile + 6) + 24 + 6, 46 + 2 * (tile + 14 + 6) + 6);
        assertSize(dir.resolve("cka.png"), 640, 380);
        for (String c : List.of("pretrain-b-curves.png", "finetune-a-curves.png", "finetune-b-curves.png")) assertSize(dir.resolve(c), 840, 300);

        String json = Files.readString(dir.resolve("results.json"));
        for (String key : List.of("A vs B, after fine-tuning", "A vs B, before fine-tuning", "A before vs A after", "B before vs B after",
                "A after vs untrained")) {
            List<Double> cka = array(json, key);
            assertEquals(ResnetInitCommand.LAYERS.size(), cka.size(), key);
            for (double v : cka) assertTrue(v >= -1e-9 && v <= 1 + 1e-9, key + ": CKA " + v + " outside [0,1]");
        }
        assertTrue(array(json, "A before vs A after").get(0) > 0.9, "two short epochs leave A's stem nearly unchanged: " + json);
        List<Double> acc = values(json, "finetuned_test_accuracy");
        assertEquals(2, acc.size());
        for (double a : acc) assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        List<Double> src = values(json, "source_test_accuracy");
        // B's two quick SGD steps leave it at chance; A is the shipped network, loaded into the code-built graph: well above chance
        for (double a : src) assertTrue(a >= 0 && a <= 1, "accuracy " + a);
        if (!src.get(0).isNaN()) assertTrue(src.get(0) > 0.5, "the shipped Fashion-MNIST net on 64 of its test images: " + src);
        List<Double> probs = values(json, "prob");
        assertEquals(2 * 2 * 4, probs.size());
        for (double p : probs) assertTrue(p >= 0 && p <= 1, "probability " + p);
        for (double v : values(json, "objective_end")) assertTrue(Double.isFinite(v), "AM objective " + v);
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| A vs B, after fine-tuning |") && md.contains("![CKA](cka.png)"), md);
    }

    private static void assertSize(Path png, int w, int h) throws Exception {
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, png + " does not decode");
        assertEquals(w, img.getWidth(), png + " width");
        assertEquals(h, img.getHeight(), png + " height");
    }
}
