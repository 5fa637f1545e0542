package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Trainer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens train} and {@code convlens finetune} in-process on a tiny image folder (3
 * classes of 12x12 pictures, 16 each): outputs, resume, head surgery and freezing, exit codes.
 */
class TrainCommandTest {
    @TempDir static Path dir;
    static Path data;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void folder() throws Exception {
        data = dir.resolve("data");
        Random r = new Random(1);
        String[] classes = {"circle", "horizontal", "vertical"};
        for (int c = 0; c < 3; c++) {
            Files.createDirectories(data.resolve(classes[c]));
            for (int i = 0; i < 16; i++) {
                BufferedImage im = new BufferedImage(12, 12, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 12; y++) {
                    for (int x = 0; x < 12; x++) {
                        boolean on = c == 0 ? (x - 6) * (x - 6) + (y - 6) * (y - 6) < 12 : c == 1 ? y / 3 % 2 == 0 : x / 3 % 2 == 0;
                        int v = Math.min(255, (on ? 170 : 20) + r.nextInt(80));
                        im.setRGB(x, y, (v << 16) | ((255 - v) << 8) | v);
                    }
                }
                ImageIO.write(im, "png", data.resolve(classes[c]).resolve(i + ".png").toFile());
            }
        }
    }

    static String[] trainArgs(Path out, int epochs, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--arch", "resnet-small", "--data", data.toString(), "--size", "12",
                "--epochs", Integer.toString(epochs), "--batch", "8", "--lr", "0.01", "--optimizer", "adamw", "--seed", "3",
                "--threads", "2", "--flip", "--crop-pad", "1", "--out", out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void trainWritesEverythingAndResumeMatches() throws Exception {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        Result r = run(trainArgs(straight, 2));
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("model.onnx", "classes.txt", "curves.csv", "curves.png", "confusion.csv", "confusion.png", Trainer.CHECKPOINT)) {
            assertTrue(Files.isRegularFile(straight.resolve(f)), f + " missing; " + r.err());
        }
        assertTrue(r.out().contains("test accuracy"), r.out());
        assertTrue(r.err().contains("img/s") && r.err().contains("ETA"), r.err());
        assertEquals(List.of("circle", "horizontal", "vertical"), Files.readAllLines(straight.resolve("classes.txt")));
        assertEquals(2, Trainer.readCurves(straight.resolve("curves.csv")).size());
        BufferedImage png = ImageIO.read(straight.resolve("curves.png").toFile());
        assertTrue(png.getWidth() > 100);

        assertEquals(0, run(trainArgs(resumed, 1)).code());
        Result r2 = run(trainArgs(resumed, 2, "--resume"));
        assertEquals(0, r2.code(), r2.err());
        assertTrue(r2.err().contains("resuming"), r2.err());
        Graph a = OnnxImporter.load(straight.resolve("model.onnx")), b = OnnxImporter.load(resumed.resolve("model.onnx"));
        for (String p : a.params.keySet()) {
            assertTrue(java.util.Arrays.equals(a.params.get(p).data, b.params.get(p).data), "parameter " + p + " differs after --resume");
        }
    }

    @Test
    void finetuneReplacesTheHeadAndFreezesTheBody() throws Exception {
        Path pre = dir.resolve("pre");
        assertEquals(0, run("train", "--arch", "alexnet-small", "--data", data.toString(), "--size", "12", "--channels", "1",
                "--epochs", "1", "--batch", "8", "--out", pre.toString(), "--threads", "1").code());
        Path two = dir.resolve("two");
        Files.createDirectories(two.resolve("a"));
        Files.createDirectories(two.resolve("b"));
        for (int i = 0; i < 6; i++) {
            Files.copy(data.resolve("circle").resolve(i + ".png"), two.resolve("a").resolve(i + ".png"));
            Files.copy(data.resolve("vertical").resolve(i + ".png"), two.resolve("b").resolve(i + ".png"));
        }
        Path ft = dir.resolve("ft");
        Result r = run("finetune", "--model", pre.resolve("model.onnx").toString(), "--data", two.toString(), "--size", "12",
                "--channels", "1", "--replace-head", "2", "--freeze-body", "--epochs", "1", "--batch", "4", "--optimizer", "sgd",
                "--out", ft.toString(), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("[classifier.1.weight, classifier.1.bias, classifier.4.weight, classifier.4.bias]"), r.err());
        Graph before = OnnxImporter.load(pre.resolve("model.onnx")), after = OnnxImporter.load(ft.resolve("model.onnx"));
        assertEquals(2, after.params.get("classifier.4.weight").dim(0));
        assertTrue(java.util.Arrays.equals(before.params.get("features.0.weight").data, after.params.get("features.0.weight").data),
                "a frozen parameter changed");
    }

    @Test
    void errorsHaveTheirExitCodes() {
        Result missing = run("train", "--arch", "alexnet-small", "--data", dir.resolve("nope").toString(), "--out", dir.resolve("o").toString());
        assertEquals(Main.INPUT, missing.code(), missing.err());
        assertTrue(missing.err().contains("nope"), missing.err());
        Result badArch = run("train", "--arch", "lenet", "--data", data.toString(), "--out", dir.resolve("o").toString());
        assertEquals(Main.USAGE, badArch.code(), badArch.err());
        Result badHead = run("finetune", "--model", "x.onnx", "--data", data.toString(), "--replace-head", "3", "--out", "o");
        assertEquals(Main.USAGE, badHead.code(), badHead.err());
    }
}
