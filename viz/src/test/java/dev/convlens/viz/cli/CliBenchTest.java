package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens bench} on the shipped Fashion-MNIST ResNet ({@code resnet-small.onnx}, 28x28
 * grey input), run in-process with two timed iterations: the JSON it prints has every promised
 * field with sane values, and bad input gives the documented exit codes with the file named.
 */
class CliBenchTest {
    @TempDir static Path dir;
    static Path model;

    @BeforeAll
    static void copyModel() throws Exception {
        model = dir.resolve("resnet-small.onnx");
        try (InputStream in = CliBenchTest.class.getResourceAsStream(DemoCommand.RESOURCES + "resnet-small.onnx")) {
            Files.copy(in, model);
        }
    }

    static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.eE+-]+)").matcher(json);
        assertTrue(m.find(), key + " missing in " + json);
        return Double.parseDouble(m.group(1));
    }

    static String string(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\"([^\"]*)\"").matcher(json);
        assertTrue(m.find(), key + " missing in " + json);
        return m.group(1);
    }

    @Test
    void forwardJsonHasTheMedianAndTheSpread() {
        PredictTest.Result r = PredictTest.run("bench", "--model", model.toString(), "--what", "forward", "--iterations", "2",
                "--warmup", "1", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        String json = r.out().strip();
        assertTrue(json.startsWith("{") && json.endsWith("}") && json.lines().count() == 1, json);
        assertEquals("forward", string(json, "what"));
        assertEquals("simd", string(json, "backend"));
        assertEquals(1, number(json, "threads"));
        assertEquals(1, number(json, "batch"));
        assertEquals(2, number(json, "iterations"));
        double min = number(json, "min_ms"), median = number(json, "median_ms"), max = number(json, "max_ms");
        assertTrue(min > 0 && min <= median && median <= max, json);
        assertTrue(number(json, "peak_heap_mb") > 0, json);
        assertTrue(json.contains("\"input\":[1,1,28,28]"), json);
    }

    @Test
    void saliencyAndTrainRunOnABatch() {
        for (String what : new String[] {"saliency", "train"}) {
            PredictTest.Result r = PredictTest.run("bench", "--model", model.toString(), "--what", what, "--batch", "2",
                    "--iterations", "2", "--warmup", "0", "--threads", "2", "--json");
            assertEquals(0, r.code(), r.err());
            assertEquals(what, string(r.out(), "what"));
            assertEquals(2, number(r.out(), "batch"));
            assertTrue(number(r.out(), "median_ms") > 0, r.out());
        }
    }

    @Test
    void visualizeRunsOnAnRgbModelWithAGivenShape() throws Exception {
        // PredictTest's tiny classifier: RGB input of free spatial size, so --shape is needed
        Path tiny = Files.write(dir.resolve("tiny-rgb.onnx"), PredictTest.tinyModel("Relu").toByteArray());
        PredictTest.Result r = PredictTest.run("bench", "--model", tiny.toString(), "--what", "visualize", "--shape", "3,32,32",
                "--iterations", "1", "--warmup", "0", "--threads", "1", "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals("visualize", string(r.out(), "what"));
        assertTrue(r.out().contains("\"input\":[1,3,32,32]"), r.out());

        PredictTest.Result noShape = PredictTest.run("bench", "--model", tiny.toString(), "--iterations", "1");
        assertEquals(Main.INPUT, noShape.code(), noShape.err());
        assertTrue(noShape.err().contains("tiny-rgb.onnx") && noShape.err().contains("--shape"), noShape.err());
    }

    @Test
    void withoutJsonOneReadableLine() {
        PredictTest.Result r = PredictTest.run("bench", "--model", model.toString(), "--iterations", "2", "--warmup", "0",
                "--backend", "reference");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("forward") && r.out().contains("median") && r.out().contains("reference"), r.out());
    }

    @Test
    void badInputNamesTheFileAndTheExitCode() {
        PredictTest.Result missing = PredictTest.run("bench", "--model", dir.resolve("nope.onnx").toString());
        assertEquals(Main.INPUT, missing.code());
        assertTrue(missing.err().contains("nope.onnx"), missing.err());

        PredictTest.Result badWhat = PredictTest.run("bench", "--model", model.toString(), "--what", "backward");
        assertEquals(Main.USAGE, badWhat.code());
        assertTrue(badWhat.err().contains("--what"), badWhat.err());

        PredictTest.Result notAShape = PredictTest.run("bench", "--model", model.toString(), "--shape", "3,x,28");
        assertEquals(Main.USAGE, notAShape.code());
        assertTrue(notAShape.err().contains("--shape"), notAShape.err());

        PredictTest.Result badShape = PredictTest.run("bench", "--model", model.toString(), "--shape", "3,28,28", "--iterations", "1");
        assertEquals(Main.INPUT, badShape.code(), badShape.err());
        assertTrue(badShape.err().contains("resnet-small.onnx"), badShape.err());

        PredictTest.Result grey = PredictTest.run("bench", "--model", model.toString(), "--what", "visualize", "--iterations", "1");
        assertEquals(Main.INPUT, grey.code(), grey.err());
        assertTrue(grey.err().contains("3-channel"), grey.err());
    }
}
