package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.Preprocess;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.proto.Onnx.AttributeProto;
import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.models.onnx.proto.Onnx.TensorShapeProto;
import dev.convlens.models.onnx.proto.Onnx.TypeProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Backend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code convlens predict} run in-process ({@link Main#run} returns the exit code) on a small ONNX
 * classifier built here: Conv(3->4, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten ->
 * Gemm(4->10), with a free spatial size so a 224x224 photo and an 8x8 tensor both fit.
 */
class PredictTest {
    static final int CLASSES = 10;
    /** softmax probabilities over all classes sum to 1 up to double rounding of 10 terms. */
    static final double PROB_SUM_TOL = 1e-9;

    static final Path PHOTO = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("../models/src/test/resources/photos/chelsea.png");

    @TempDir static Path dir;
    static Path model, input;

    /** The output of one run. */
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void files() throws Exception {
        model = Files.write(dir.resolve("tiny.onnx"), tinyModel("Relu").toByteArray());
        input = dir.resolve("x.npy");
        Npy.write(input, Tensor.uniform(3, -1, 1, 1, 3, 8, 8));
    }

    // ---------------------------------------------------------------- results

    @Test
    void npyInputPrintsTheTopClasses() {
        Result r = run("predict", "--model", model.toString(), "--input", input.toString(), "--top", "3");
        assertEquals(0, r.code, r.err);
        List<String> lines = r.out.lines().toList();
        assertEquals(4, lines.size(), r.out);
        assertTrue(lines.get(0).contains("prob"), r.out);
        int argmax = argmax(expectedLogits(readInput(), "simd"));
        assertTrue(lines.get(1).matches("\\s+1\\s+" + argmax + "\\s+0\\.\\d{4}\\s+-"), lines.get(1));
    }

    @Test
    void jsonHasTheLogitsAndTopWithProbabilitiesThatSumToOne() {
        Result r = run("predict", "--model", model.toString(), "--input", input.toString(), "--json", "--top", "10",
                "--backend", "reference");
        assertEquals(0, r.code, r.err);
        Json j = Json.parse(r.out.strip());
        assertArrayEquals(expectedLogits(readInput(), "reference"), j.logits);
        assertEquals(CLASSES, j.index.size());
        double sum = 0;
        for (double p : j.prob) sum += p;
        assertEquals(1.0, sum, PROB_SUM_TOL);
        assertEquals(argmax(j.logits), (int) j.index.get(0));
        for (int i = 1; i < CLASSES; i++) assertTrue(j.prob.get(i) <= j.prob.get(i - 1), "top is sorted");
        for (String label : j.label) assertEquals(null, label);
    }

    @Test
    void saveWritesTheLogitsPrinted() throws Exception {
        Path out = dir.resolve("saved/run1");
        Result r = run("predict", "--model", model.toString(), "--input", input.toString(), "--json", "--save", out.toString());
        assertEquals(0, r.code, r.err);
        Tensor saved = Npy.read(out.resolve("logits.npy"));
        assertArrayEquals(new int[] {1, CLASSES}, saved.shape());
        assertArrayEquals(Json.parse(r.out.strip()).logits, saved.data);
    }

    @Test
    void imageGoesThroughPreprocess() {
        Result r = run("predict", "--model", model.toString(), "--image", PHOTO.toString(), "--json", "--backend", "reference");
        assertEquals(0, r.code, r.err);
        Tensor x = Preprocess.imagenet(PHOTO, Preprocess.RESIZE, Preprocess.CROP, null);
        assertArrayEquals(expectedLogits(x, "reference"), Json.parse(r.out.strip()).logits);
    }

    @Test
    void labelsFromAFile() throws Exception {
        StringBuilder names = new StringBuilder();
        for (int i = 0; i < CLASSES; i++) names.append("thing \"").append(i).append("\"\n");
        Path labels = Files.writeString(dir.resolve("labels.txt"), names);
        Result r = run("predict", "--model", model.toString(), "--input", input.toString(), "--json", "--labels", labels.toString());
        assertEquals(0, r.code, r.err);
        Json j = Json.parse(r.out.strip());
        for (int i = 0; i < j.index.size(); i++) assertEquals("thing \"" + j.index.get(i) + "\"", j.label.get(i));
        Result text = run("predict", "--model", model.toString(), "--input", input.toString(), "--labels", labels.toString());
        assertTrue(text.out.contains("thing \"" + j.index.get(0) + "\""), text.out);
    }

    @Test
    void helpTeaches() {
        Result r = run("predict", "--help");
        assertEquals(0, r.code);
        for (String s : List.of("--model", "--image", "--input", "--json", "--save", "--labels", "--backend", "reference, simd",
                "Examples:", "Exit codes:", "unsupported model")) {
            assertTrue(r.out.contains(s), "help lacks '" + s + "':\n" + r.out);
        }
        Result top = run("--help");
        assertEquals(0, top.code);
        assertTrue(top.out.contains("predict"), top.out);
    }

    // ---------------------------------------------------------------- exit codes

    @Test
    void badFlagsAreUsageErrors() {
        String m = model.toString(), x = input.toString();
        for (String[] args : List.of(
                new String[] {"predict", "--model", m, "--input", x, "--bogus"},
                new String[] {"predict", "--input", x},
                new String[] {"predict", "--model", m},
                new String[] {"predict", "--model", m, "--input", x, "--image", x},
                new String[] {"predict", "--model", m, "--input", x, "--top", "0"},
                new String[] {"predict", "--model", m, "--input", x, "--top", "many"},
                new String[] {"predict", "--model", m, "--input", x, "--backend", "gpu"},
                new String[] {"predict", "--model", m, "--input", x, "--threads", "0"},
                new String[] {},
                new String[] {"transmogrify"})) {
            Result r = run(args);
            assertEquals(Main.USAGE, r.code, String.join(" ", args) + "\n" + r.err);
            assertTrue(r.err.contains("Usage"), r.err);
            assertEquals("", r.out);
        }
    }

    @Test
    void missingFilesAreInputErrorsNamingTheFile() {
        Path none = dir.resolve("absent.onnx");
        Result r = run("predict", "--model", none.toString(), "--input", input.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(none.toString()), r.err);

        Path noInput = dir.resolve("absent.npy");
        r = run("predict", "--model", model.toString(), "--input", noInput.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(noInput.toString()), r.err);

        Path noLabels = dir.resolve("absent.txt");
        r = run("predict", "--model", model.toString(), "--input", input.toString(), "--labels", noLabels.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(noLabels.toString()), r.err);

        Path noImage = dir.resolve("absent.png");
        r = run("predict", "--model", model.toString(), "--image", noImage.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(noImage.toString()), r.err);
    }

    @Test
    void garbageModelIsAnInputErrorWithTraceOnlyWhenVerbose() throws Exception {
        byte[] junk = new byte[300];
        new Random(5).nextBytes(junk);
        Path garbage = Files.write(dir.resolve("garbage.onnx"), junk);
        Result r = run("predict", "--model", garbage.toString(), "--input", input.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(garbage.toString()), r.err);
        assertFalse(r.err.contains("\tat "), r.err);
        Result v = run("predict", "--model", garbage.toString(), "--input", input.toString(), "--verbose");
        assertEquals(Main.INPUT, v.code);
        assertTrue(v.err.contains("\tat "), v.err);
    }

    @Test
    void inputThatDoesNotFitIsAnInputError() throws Exception {
        Path two = dir.resolve("two_channels.npy");
        Npy.write(two, Tensor.uniform(1, -1, 1, 1, 2, 8, 8));
        Result r = run("predict", "--model", model.toString(), "--input", two.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains("(1,2,8,8)") || r.err.contains("1, 2, 8, 8") || r.err.contains("does not fit"), r.err);

        Path text = Files.writeString(dir.resolve("text.npy"), "not numpy");
        r = run("predict", "--model", model.toString(), "--input", text.toString());
        assertEquals(Main.INPUT, r.code);
        assertTrue(r.err.contains(text.toString()), r.err);
    }

    @Test
    void unsupportedOperatorIsExitFour() throws Exception {
        Path sigmoid = Files.write(dir.resolve("sigmoid.onnx"), tinyModel("Sigmoid").toByteArray());
        Result r = run("predict", "--model", sigmoid.toString(), "--input", input.toString());
        assertEquals(Main.UNSUPPORTED, r.code, r.err);
        assertTrue(r.err.contains("Sigmoid") && r.err.contains(sigmoid.toString()), r.err);

        ModelProto.Builder same = tinyModel("Relu").toBuilder();
        same.getGraphBuilder().getNodeBuilder(0).addAttribute(AttributeProto.newBuilder().setName("auto_pad")
                .setType(AttributeProto.AttributeType.STRING).setS(com.google.protobuf.ByteString.copyFromUtf8("SAME_UPPER")));
        Path autoPad = Files.write(dir.resolve("auto_pad.onnx"), same.build().toByteArray());
        r = run("predict", "--model", autoPad.toString(), "--input", input.toString());
        assertEquals(Main.UNSUPPORTED, r.code, r.err);
        assertTrue(r.err.contains("auto_pad=SAME_UPPER") && r.err.contains(autoPad.toString()), r.err);
    }

    // ---------------------------------------------------------------- helpers

    static Tensor readInput() {
        try {
            return Npy.read(input);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static float[] expectedLogits(Tensor x, String backend) {
        Graph g = OnnxImporter.load(model);
        return g.infer(Backend.select(backend, 1), Map.of("x", x)).output().data;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** What predict --json printed, read with a pattern for exactly the format it promises. */
    record Json(float[] logits, List<Integer> index, List<String> label, List<Double> prob) {
        static final Pattern WHOLE = Pattern.compile("\\{\"logits\":\\[([^\\]]*)\\],\"top\":\\[(.*)\\]\\}");
        static final Pattern ENTRY = Pattern.compile(
                "\\{\"index\":(\\d+),\"label\":(null|\"((?:[^\"\\\\]|\\\\.)*)\"),\"prob\":([-+.eE0-9]+)\\}");

        static Json parse(String s) {
            Matcher m = WHOLE.matcher(s);
            assertTrue(m.matches(), "not the promised JSON: " + s);
            String[] parts = m.group(1).split(",");
            float[] logits = new float[parts.length];
            for (int i = 0; i < parts.length; i++) logits[i] = Float.parseFloat(parts[i]);
            List<Integer> index = new ArrayList<>();
            List<String> label = new ArrayList<>();
            List<Double> prob = new ArrayList<>();
            Matcher e = ENTRY.matcher(m.group(2));
            int end = 0;
            while (e.find()) {
                assertTrue(e.start() == end || (e.start() == end + 1 && m.group(2).charAt(end) == ','), "junk in top: " + s);
                end = e.end();
                index.add(Integer.parseInt(e.group(1)));
                label.add(e.group(3) == null ? null : e.group(3).replace("\\\"", "\"").replace("\\\\", "\\"));
                prob.add(Double.parseDouble(e.group(4)));
            }
            assertEquals(m.group(2).length(), end, "junk at the end of top: " + s);
            return new Json(logits, index, label, prob);
        }
    }

    /** Conv(3->4, 3x3, pad 1) -> {activation} -> GlobalAveragePool -> Flatten -> Gemm(4->10), input x (N,3,H,W). */
    static ModelProto tinyModel(String activation) {
        Random rnd = new Random(11);
        TypeProto.Tensor.Builder type = TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE)
                .setShape(TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(3))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("H"))
                        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("W")));
        GraphProto g = GraphProto.newBuilder().setName("tiny")
                .addInput(ValueInfoProto.newBuilder().setName("x").setType(TypeProto.newBuilder().setTensorType(type)))
                .addOutput(ValueInfoProto.newBuilder().setName("logits"))
                .addInitializer(floats("conv.w", rnd, 4, 3, 3, 3))
                .addInitializer(floats("conv.b", rnd, 4))
                .addInitializer(floats("fc.w", rnd, CLASSES, 4))
                .addInitializer(floats("fc.b", rnd, CLASSES))
                .addNode(NodeProto.newBuilder().setName("conv").setOpType("Conv").addInput("x").addInput("conv.w")
                        .addInput("conv.b").addOutput("c")
                        .addAttribute(ints("kernel_shape", 3, 3)).addAttribute(ints("pads", 1, 1, 1, 1)))
                .addNode(NodeProto.newBuilder().setName("act").setOpType(activation).addInput("c").addOutput("a"))
                .addNode(NodeProto.newBuilder().setName("gap").setOpType("GlobalAveragePool").addInput("a").addOutput("p"))
                .addNode(NodeProto.newBuilder().setName("flat").setOpType("Flatten").addInput("p").addOutput("f"))
                .addNode(NodeProto.newBuilder().setName("fc").setOpType("Gemm").addInput("f").addInput("fc.w")
                        .addInput("fc.b").addOutput("logits")
                        .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1)))
                .build();
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("PredictTest")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13)).setGraph(g).build();
    }

    static TensorProto floats(String name, Random rnd, int... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        int n = 1;
        for (int d : dims) {
            t.addDims(d);
            n *= d;
        }
        for (int i = 0; i < n; i++) t.addFloatData((float) rnd.nextGaussian() * 0.5f);
        return t.build();
    }

    static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }
}
