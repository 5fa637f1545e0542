package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxTensors;
import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, proof 3: every documented CLI error, across the subcommands that load a model
 * ({@code predict}, {@code saliency}, {@code deconv}, {@code occlusion}, {@code visualize},
 * {@code filters}) and {@code train}: the exit code (2 usage, 3 input, 4 unsupported model) and a
 * message naming the flag, the file or the operator; a stack trace only with {@code --verbose}.
 * (PredictTest, VizCommandsTest, OcclusionTop9FiltersTest, VisualizeCommandTest and
 * TrainCommandTest cover further command-specific cases.)
 */
class CliErrorsTest {
    @TempDir static Path dir;
    static Path model, input, sigmoid, garbage, nanWeights, nanInput, cutPng, emptyPng, cutJpg;

    @BeforeAll
    static void files() throws Exception {
        model = Files.write(dir.resolve("tiny.onnx"), PredictTest.tinyModel("Relu").toByteArray());
        sigmoid = Files.write(dir.resolve("sigmoid.onnx"), PredictTest.tinyModel("Sigmoid").toByteArray());
        byte[] junk = new byte[300];
        new Random(5).nextBytes(junk);
        garbage = Files.write(dir.resolve("garbage.onnx"), junk);
        ModelProto good = PredictTest.tinyModel("Relu");
        GraphProto.Builder g = good.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getName().equals("conv.w")) {
                Tensor w = OnnxTensors.toTensor(t, null, "conv.w");
                w.data[3] = Float.NaN;
                g.setInitializer(i, OnnxTensors.fromTensor("conv.w", w));
            }
        }
        nanWeights = Files.write(dir.resolve("nan_weights.onnx"), good.toBuilder().setGraph(g).build().toByteArray());
        input = dir.resolve("x.npy");
        Npy.write(input, Tensor.uniform(3, -1, 1, 1, 3, 16, 16));
        Tensor bad = Tensor.uniform(3, -1, 1, 1, 3, 16, 16);
        bad.data[17] = Float.POSITIVE_INFINITY;
        nanInput = dir.resolve("inf.npy");
        Npy.write(nanInput, bad);
        byte[] png = Files.readAllBytes(PredictTest.PHOTO);
        cutPng = Files.write(dir.resolve("cut.png"), Arrays.copyOf(png, png.length / 3));
        emptyPng = Files.write(dir.resolve("empty.png"), new byte[0]);
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(64, 64, java.awt.image.BufferedImage.TYPE_INT_RGB);
        java.io.ByteArrayOutputStream jpg = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "jpeg", jpg);
        cutJpg = Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(jpg.toByteArray(), jpg.size() / 2));
    }

    /** A model-loading command: the args before and after {@code --model M}, and whether it takes --image/--input. */
    record Cmd(String name, List<String> extra, boolean takesInput) {
        String[] args(Path m, String... more) {
            List<String> a = new ArrayList<>(List.of(name, "--model", m.toString()));
            a.addAll(extra);
            a.addAll(List.of(more));
            return a.toArray(String[]::new);
        }

        String[] withInput(Path m, String flag, Path in, String... more) {
            List<String> a = new ArrayList<>(List.of(args(m, more)));
            a.addAll(List.of(flag, in.toString()));
            return a.toArray(String[]::new);
        }
    }

    static List<Cmd> commands() {
        String out = dir.resolve("out").toString();
        return List.of(
                new Cmd("predict", List.of(), true),
                new Cmd("saliency", List.of("--out", out), true),
                new Cmd("deconv", List.of("--layer", "act", "--out", out), true),
                new Cmd("occlusion", List.of("--size", "8", "--stride", "8", "--out", out), true),
                new Cmd("visualize", List.of("--target", "1", "--steps", "1", "--size", "16", "--out", out), false),
                new Cmd("filters", List.of("--out", out), false));
    }

    private static String[] runnable(Cmd c, Path m, String... more) {
        return c.takesInput() ? c.withInput(m, "--input", input, more) : c.args(m, more);
    }

    private static PredictTest.Result expect(int code, String[] args, String... mentions) {
        PredictTest.Result r = PredictTest.run(args);
        String cmd = String.join(" ", args);
        assertEquals(code, r.code(), cmd + "\n" + r.err());
        for (String m : mentions) assertTrue(r.err().contains(m), cmd + ": the message should name " + m + ":\n" + r.err());
        return r;
    }

    @Test
    void usageErrorsExit2NamingTheFlag() {
        for (Cmd c : commands()) {
            PredictTest.Result r = expect(Main.USAGE, runnable(c, model, "--bogus"), "--bogus");
            assertTrue(r.err().contains("Usage"), r.err());
            expect(Main.USAGE, new String[] {c.name(), "--out", dir.resolve("o").toString()}, "--model");
            expect(Main.USAGE, runnable(c, model, "--max-tensor-mb", "0"), "--max-tensor-mb");
            expect(Main.USAGE, runnable(c, model, "--max-tensor-mb", "lots"), "--max-tensor-mb");
        }
        expect(Main.USAGE, new String[] {"train", "--arch", "alexnet-small", "--data", "d", "--out", "o", "--bogus"}, "--bogus");
        expect(Main.USAGE, new String[] {"train", "--arch", "alexnet-small", "--data", "d", "--out", "o", "--epochs", "many"}, "--epochs");
    }

    @Test
    void missingAndCorruptModelsExit3NamingTheFileWithATraceOnlyWhenVerbose() {
        Path none = dir.resolve("absent.onnx");
        for (Cmd c : commands()) {
            expect(Main.INPUT, runnable(c, none), none.toString());
            PredictTest.Result r = expect(Main.INPUT, runnable(c, garbage), garbage.toString());
            assertFalse(r.err().contains("\tat "), "no stack trace without --verbose:\n" + r.err());
            PredictTest.Result v = expect(Main.INPUT, runnable(c, garbage, "--verbose"), garbage.toString());
            assertTrue(v.err().contains("\tat "), "a stack trace with --verbose:\n" + v.err());
        }
    }

    @Test
    void unsupportedOperatorExits4NamingTheOp() {
        for (Cmd c : commands()) expect(Main.UNSUPPORTED, runnable(c, sigmoid), "Sigmoid", sigmoid.toString());
    }

    @Test
    void missingAndCorruptInputsExit3NamingTheFile() {
        Path absentNpy = dir.resolve("absent.npy"), absentPng = dir.resolve("absent.png");
        for (Cmd c : commands()) {
            if (!c.takesInput()) continue;
            expect(Main.INPUT, c.withInput(model, "--input", absentNpy), absentNpy.toString());
            expect(Main.INPUT, c.withInput(model, "--image", absentPng), absentPng.toString());
            for (Path img : List.of(cutPng, emptyPng, cutJpg)) {
                PredictTest.Result r = expect(Main.INPUT, c.withInput(model, "--image", img), img.toString());
                assertFalse(r.err().contains("\tat "), r.err());
            }
        }
    }

    @Test
    void checkFiniteExits3NamingTheTensorAndIndex() {
        for (Cmd c : commands()) {
            expect(Main.INPUT, runnable(c, nanWeights, "--check-finite"), nanWeights.toString(), "conv.w", "NaN", "flat index 3");
            if (c.takesInput()) {
                expect(Main.INPUT, c.withInput(model, "--input", nanInput, "--check-finite"), nanInput.toString(), "Infinity", "flat index 17");
            }
        }
        // without the flag the NaN weight is not looked for: predict runs and prints
        assertEquals(Main.OK, PredictTest.run("predict", "--model", nanWeights.toString(), "--input", input.toString()).code());
        assertEquals(Main.OK, PredictTest.run("predict", "--model", model.toString(), "--input", input.toString(),
                "--check-finite", "--max-tensor-mb", "1").code());
    }
}
