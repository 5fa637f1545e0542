package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.convlens.models.onnx.proto.Onnx.AttributeProto;
import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.convlens.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.testing.Oracle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, proof 1: a mutation run. Mutants are derived, with a fixed seed, from real models: ONNX's
 * own node-test models for the ops convlens supports (Debian libonnx-testdata), a small
 * Conv/Relu/MaxPool/Gemm model, and (when the PyTorch oracle is present) torchvision's ResNet-18
 * and AlexNet exports. Small models are mutated at the byte level (truncation, bit flips, byte
 * overwrites, splices, corrupted varints: oversized, negative and overlong length prefixes) and at
 * the protobuf level (huge dims and dims whose product overflows, wrong data types, string
 * tensors, raw_data of the wrong length, cyclic and dangling node inputs, a node reading its own
 * output, absurd attributes, external data outside the model's folder: {@code ../}, absolute
 * paths, a symlink pointing outside). The large models get protobuf-level mutants only.
 *
 * <p>Each mutant is loaded and, when it loads, run on its inputs, in a worker thread with a time
 * bound. Allowed endings: an {@link OnnxException} naming the file, an IllegalArgumentException
 * from a shape check at run time, or a model that loads and runs. Anything else (NPE,
 * IndexOutOfBounds, ClassCast, Arithmetic, OOM, StackOverflow, a timeout, or external data read
 * from outside the folder) fails the test. The count is {@code -Dconvlens.mutants=N} (default
 * 10,000), the seed {@code -Dconvlens.mutants.seed} (default 8).
 */
class OnnxMutationTest {
    static final int MUTANTS = Integer.getInteger("convlens.mutants", 10_000);
    static final long SEED = Long.getLong("convlens.mutants.seed", 8L);
    /** Per-mutant bound on load + forward; generous because the test machine is shared. */
    static final long TIMEOUT_MS = 10_000;
    static final Path NODE_TESTS = Path.of("/usr/share/libonnx-testdata/data/node");

    /** A model to mutate: its bytes, parsed proto and the inputs to run it on. */
    record Base(String name, byte[] bytes, ModelProto proto, Map<String, Tensor> feeds) {}

    static ExecutorService pool;

    @BeforeAll
    static void startPool() {
        pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "mutant");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    @TempDir static Path root;

    @Test
    void smallModelMutantsEndInTypedErrors() throws Exception {
        List<Base> bases = new ArrayList<>();
        bases.add(new Base("fuzz", model().toByteArray(), model(),
                Map.of("x", Tensor.uniform(7, -1, 1, 1, 3, 8, 8))));
        bases.addAll(nodeTestModels());
        Tally tally = new Tally();
        Path dir = Files.createDirectories(root.resolve("small/models"));
        Files.write(root.resolve("small/outside.bin"), new byte[1 << 16]); // what an escaping path would reach
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < MUTANTS; i++) {
            Base b = bases.get(rnd.nextInt(bases.size()));
            runMutant(b, i, rnd, dir, true, tally);
        }
        tally.print("small models (" + bases.size() + " bases: the fuzz model and "
                + (bases.size() - 1) + " ONNX node tests)");
        tally.assertClean();
        assertEquals(MUTANTS, tally.total());
    }

    @Test
    void torchvisionMutantsEndInTypedErrors() throws Exception {
        int count = Integer.getInteger("convlens.mutants.big", 40);
        Path out = Oracle.get().run("oracle_models.py"); // skips (or fails, when required) without PyTorch
        Tally tally = new Tally();
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        for (String net : List.of("resnet18", "alexnet")) {
            Path file = out.resolve(net).resolve("model.onnx");
            assumeTrue(Files.isRegularFile(file), "no " + file);
            ModelProto proto = OnnxModel.read(file).proto();
            Path dir = Files.createDirectories(root.resolve("big/" + net));
            Files.write(root.resolve("big/outside.bin"), new byte[1 << 16]);
            // A small input keeps the forward of a mutant that still loads cheap; a shape error is an allowed end.
            Base b = new Base(net, null, proto, Map.of(proto.getGraph().getInput(0).getName(), Tensor.uniform(3, -1, 1, 1, 3, 32, 32)));
            for (int i = 0; i < count / 2; i++) runMutant(b, i, rnd, dir, false, tally);
        }
        tally.print("ResNet-18 and AlexNet (protobuf-level mutants)");
        tally.assertClean();
    }

    /** The structural mutants, one by one: each message names the file, the node and what is wrong. */
    @Test
    void cyclesAndDanglingInputsNameTheNodeAndTheFile() {
        String[][] cases = {
            {"1", "r", "node 'relu'", "reads 'r', its own output (a cycle)"},
            {"0", "y", "node 'conv'", "reads 'y', which node 'fc'", "computes later"},
            {"2", "ghost", "node 'pool'", "reads 'ghost', which no earlier node, input or initializer defines"},
            {"4", "", "node 'fc' (Gemm): input 0 is required but empty"},
        };
        for (String[] c : cases) {
            GraphProto.Builder g = model().getGraph().toBuilder();
            int k = Integer.parseInt(c[0]);
            g.setNode(k, g.getNode(k).toBuilder().setInput(0, c[1]));
            Path file = Path.of("structure-" + k + ".onnx");
            OnnxException e = org.junit.jupiter.api.Assertions.assertThrows(OnnxException.class,
                    () -> OnnxImporter.toGraph(OnnxModel.parse(file, model().toBuilder().setGraph(g).build().toByteArray())));
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            for (int j = 2; j < c.length; j++) assertTrue(e.getMessage().contains(c[j]), e.getMessage());
        }
    }

    // ---- running one mutant ----

    /** Counts per mutation kind and ending, and the first few failures. */
    static final class Tally {
        final Map<String, Map<String, Integer>> counts = new TreeMap<>();
        final List<String> failures = new ArrayList<>();

        void add(String kind, String end) {
            counts.computeIfAbsent(kind, k -> new TreeMap<>()).merge(end, 1, Integer::sum);
        }

        int total() {
            int n = 0;
            for (Map<String, Integer> m : counts.values()) for (int v : m.values()) n += v;
            return n;
        }

        void print(String what) {
            System.out.println("ONNX mutation run, " + what + ": " + total() + " mutants (seed " + SEED + ")");
            for (Map.Entry<String, Map<String, Integer>> e : counts.entrySet()) {
                System.out.println(String.format("  %-22s %s", e.getKey(), e.getValue()));
            }
        }

        void assertClean() {
            assertTrue(failures.isEmpty(), failures.size() + " mutants ended badly; first: " + failures.subList(0, Math.min(10, failures.size())));
        }
    }

    private void runMutant(Base b, int i, SplittableRandom rnd, Path dir, boolean bytesLevel, Tally tally) throws Exception {
        String fileName = b.name() + "-" + i + ".onnx";
        Path file = dir.resolve(fileName);
        Mutant m = mutate(b, rnd, dir, bytesLevel);
        Future<String> f = pool.submit(() -> {
            Graph g;
            try {
                g = OnnxImporter.toGraph(OnnxModel.parse(file, m.bytes()));
            } catch (OnnxException e) {
                if (!e.getMessage().contains(fileName)) return "FAIL: message does not name the file: " + e.getMessage();
                return "OnnxException";
            }
            if (m.mustFail()) return "FAIL: loaded, so it read " + m.kind() + " data outside " + dir;
            Kernels k = new ReferenceKernels();
            Map<String, Tensor> feeds = new HashMap<>();
            for (String in : g.inputs) {
                Tensor t = b.feeds().get(in);
                if (t != null) feeds.put(in, t);
            }
            try {
                g.forward(k, feeds, false);
                return "loaded+ran";
            } catch (IllegalArgumentException e) {
                if (e.getMessage() == null || e.getMessage().isEmpty()) return "FAIL: IllegalArgumentException without a message";
                return "loaded, IAE at run";
            }
        });
        String end;
        try {
            end = f.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            end = "FAIL: no end within " + TIMEOUT_MS + " ms";
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            StackTraceElement at = c.getStackTrace().length > 0 ? c.getStackTrace()[0] : null;
            end = "FAIL: " + c + " at " + at;
        }
        if (end.startsWith("FAIL")) {
            tally.failures.add(fileName + " [" + m.kind() + "] " + end);
            tally.add(m.kind(), "FAIL");
        } else {
            tally.add(m.kind(), end);
        }
    }

    /** One mutated model; {@code mustFail} when loading it would mean reading outside the folder. */
    record Mutant(String kind, byte[] bytes, boolean mustFail) {}

    private static Mutant mutate(Base b, SplittableRandom rnd, Path dir, boolean bytesLevel) throws IOException {
        int choice = bytesLevel ? rnd.nextInt(12) : 5 + rnd.nextInt(7);
        byte[] good = b.bytes();
        return switch (choice) {
            case 0 -> new Mutant("truncate", Arrays.copyOf(good, rnd.nextInt(good.length)), false);
            case 1 -> {
                byte[] x = good.clone();
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) x[rnd.nextInt(x.length)] ^= (byte) (1 << rnd.nextInt(8));
                yield new Mutant("flip-bits", x, false);
            }
            case 2 -> {
                byte[] x = good.clone();
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) x[rnd.nextInt(x.length)] = (byte) rnd.nextInt(256);
                yield new Mutant("overwrite-bytes", x, false);
            }
            case 3 -> {
                byte[] x = good.clone();
                int from = rnd.nextInt(x.length), to = rnd.nextInt(x.length);
                int n = Math.min(1 + rnd.nextInt(32), Math.min(x.length - from, x.length - to));
                System.arraycopy(good, from, x, to, n);
                yield new Mutant("splice", x, false);
            }
            case 4 -> new Mutant("varint", corruptVarint(good, rnd), false);
            case 5 -> new Mutant("huge-dims", withTensor(b, rnd, t -> hugeDims(t, rnd)), false);
            case 6 -> new Mutant("wrong-type", withTensor(b, rnd, t -> wrongType(t, rnd)), false);
            case 7 -> new Mutant("raw-length", withTensor(b, rnd, t -> rawLength(t, rnd)), false);
            case 8 -> new Mutant("cycle/dangling", badInputs(b.proto(), rnd), false);
            case 9 -> new Mutant("attribute", badAttribute(b.proto(), rnd), false);
            default -> external(b, rnd, dir);
        };
    }

    // ---- byte-level: varints ----

    /** Positions and lengths of the length prefixes of every length-delimited field the scanner can follow. */
    private static void lengthPrefixes(byte[] b, int from, int to, List<int[]> out, int depth) {
        int p = from;
        while (p < to) {
            long[] tag = varint(b, p, to);
            if (tag == null) return;
            int wire = (int) (tag[0] & 7);
            p += (int) tag[1];
            switch (wire) {
                case 0 -> {
                    long[] v = varint(b, p, to);
                    if (v == null) return;
                    p += (int) v[1];
                }
                case 1 -> p += 8;
                case 5 -> p += 4;
                case 2 -> {
                    long[] len = varint(b, p, to);
                    if (len == null || len[0] < 0 || p + len[1] + len[0] > to) return;
                    out.add(new int[] {p, (int) len[1]});
                    int start = p + (int) len[1];
                    if (depth < 8) lengthPrefixes(b, start, start + (int) len[0], out, depth + 1);
                    p = start + (int) len[0];
                }
                default -> { return; }
            }
        }
    }

    /** {value, byte count} of the varint at p, or null. */
    private static long[] varint(byte[] b, int p, int to) {
        long v = 0;
        for (int k = 0; k < 10 && p + k < to; k++) {
            v |= (long) (b[p + k] & 0x7f) << (7 * k);
            if ((b[p + k] & 0x80) == 0) return new long[] {v, k + 1};
        }
        return null;
    }

    private static byte[] encode(long v, int minBytes) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        int n = 0;
        while (true) {
            n++;
            if ((v & ~0x7fL) == 0 && n >= minBytes) {
                o.write((int) v);
                break;
            }
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        return o.toByteArray();
    }

    private static byte[] corruptVarint(byte[] good, SplittableRandom rnd) {
        List<int[]> prefixes = new ArrayList<>();
        lengthPrefixes(good, 0, good.length, prefixes, 0);
        if (prefixes.isEmpty()) return Arrays.copyOf(good, good.length / 2);
        int[] at = prefixes.get(rnd.nextInt(prefixes.size()));
        long old = varint(good, at[0], good.length)[0];
        byte[] repl = switch (rnd.nextInt(6)) {
            case 0 -> encode(0xFFFFFFFFL, 1);                 // 4 GiB
            case 1 -> encode(Integer.MAX_VALUE, 1);           // just inside int
            case 2 -> encode(-1L, 1);                         // negative: ten bytes
            case 3 -> encode(old + 1 + rnd.nextInt(64), 1);   // runs into the next field
            case 4 -> encode(old, 10);                        // overlong encoding of the same value
            default -> {
                byte[] x = new byte[11];                      // a varint that never ends
                Arrays.fill(x, (byte) 0xff);
                yield x;
            }
        };
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(good, 0, at[0]);
        o.write(repl, 0, repl.length);
        o.write(good, at[0] + at[1], good.length - at[0] - at[1]);
        return o.toByteArray();
    }

    // ---- protobuf-level ----

    interface TensorEdit {
        TensorProto apply(TensorProto t) throws IOException;
    }

    /** The model with one initializer edited; a graph input is promoted to an initializer first when there is none. */
    private static byte[] withTensor(Base b, SplittableRandom rnd, TensorEdit edit) throws IOException {
        GraphProto.Builder g = b.proto().getGraph().toBuilder();
        if (g.getInitializerCount() == 0) {
            Map.Entry<String, Tensor> e = b.feeds().entrySet().iterator().next();
            g.addInitializer(OnnxTensors.fromTensor(e.getKey(), e.getValue()));
        }
        int k = rnd.nextInt(g.getInitializerCount());
        g.setInitializer(k, edit.apply(g.getInitializer(k)));
        return b.proto().toBuilder().setGraph(g).build().toByteArray();
    }

    private static TensorProto hugeDims(TensorProto t, SplittableRandom rnd) {
        TensorProto.Builder x = t.toBuilder().clearDims();
        switch (rnd.nextInt(5)) {
            case 0 -> x.addDims(100_000).addDims(100_000);                      // 1e10 elements
            case 1 -> x.addDims(1L << 32).addDims(1L << 32).addDims(1L << 32);  // product overflows 64 bits
            case 2 -> x.addDims(-1).addDims(4);                                 // negative
            case 3 -> x.addDims(1L << 27).addDims(2);                           // at the limit, tiny payload
            default -> x.addDims(Long.MAX_VALUE);
        }
        return x.build();
    }

    private static TensorProto wrongType(TensorProto t, SplittableRandom rnd) {
        TensorProto.Builder x = t.toBuilder();
        switch (rnd.nextInt(5)) {
            case 0 -> x.setDataType(TensorProto.DataType.INT64_VALUE);
            case 1 -> x.setDataType(TensorProto.DataType.STRING_VALUE).clearRawData()
                    .addStringData(ByteString.copyFromUtf8("not a number"));
            case 2 -> x.setDataType(TensorProto.DataType.FLOAT16_VALUE);
            case 3 -> x.setDataType(0);
            default -> x.setDataType(1000 + rnd.nextInt(1000));
        }
        return x.build();
    }

    private static TensorProto rawLength(TensorProto t, SplittableRandom rnd) {
        ByteString raw = t.hasRawData() ? t.getRawData() : ByteString.copyFrom(new byte[16]);
        ByteString bad = switch (rnd.nextInt(3)) {
            case 0 -> raw.substring(0, rnd.nextInt(Math.max(1, raw.size())));
            case 1 -> raw.concat(ByteString.copyFrom(new byte[1 + rnd.nextInt(8)]));
            default -> ByteString.EMPTY;
        };
        if (bad.size() == raw.size()) bad = raw.concat(ByteString.copyFrom(new byte[1]));
        return t.toBuilder().clearFloatData().clearInt64Data().clearInt32Data().clearDoubleData().setRawData(bad).build();
    }

    private static byte[] badInputs(ModelProto p, SplittableRandom rnd) {
        GraphProto.Builder g = p.getGraph().toBuilder();
        if (g.getNodeCount() == 0) return p.toByteArray();
        int k = rnd.nextInt(g.getNodeCount());
        NodeProto.Builder n = g.getNode(k).toBuilder();
        if (n.getInputCount() == 0) n.addInput("");
        int slot = rnd.nextInt(n.getInputCount());
        switch (rnd.nextInt(4)) {
            case 0 -> n.setInput(slot, n.getOutputCount() > 0 ? n.getOutput(0) : "self"); // reads its own output
            case 1 -> { // reads a value computed later: a cycle
                NodeProto last = g.getNode(g.getNodeCount() - 1);
                n.setInput(slot, last.getOutputCount() > 0 ? last.getOutput(0) : "later");
            }
            case 2 -> n.setInput(slot, "nobody_makes_this_" + rnd.nextInt(100)); // dangling
            default -> n.setInput(slot, ""); // an optional slot left empty where the op needs a tensor
        }
        g.setNode(k, n);
        if (rnd.nextBoolean() && g.getOutputCount() > 0) { // sometimes also an output no one computes
            g.setOutput(0, ValueInfoProto.newBuilder().setName("never_" + rnd.nextInt(10)));
        }
        return p.toBuilder().setGraph(g).build().toByteArray();
    }

    private static byte[] badAttribute(ModelProto p, SplittableRandom rnd) {
        GraphProto.Builder g = p.getGraph().toBuilder();
        if (g.getNodeCount() == 0) return p.toByteArray();
        int k = rnd.nextInt(g.getNodeCount());
        NodeProto.Builder n = g.getNode(k).toBuilder();
        String[] names = {"kernel_shape", "strides", "pads", "dilations", "group", "axis", "size", "transB", "perm", "value", "ratio"};
        String name = n.getAttributeCount() > 0 && rnd.nextBoolean() ? n.getAttribute(rnd.nextInt(n.getAttributeCount())).getName()
                : names[rnd.nextInt(names.length)];
        long[] vals = {0, -1, -7, 1L << 31, Long.MIN_VALUE, 1 << 20, 100_000};
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name);
        switch (rnd.nextInt(4)) {
            case 0 -> a.setType(AttributeProto.AttributeType.INT).setI(vals[rnd.nextInt(vals.length)]);
            case 1 -> {
                a.setType(AttributeProto.AttributeType.INTS);
                for (int j = rnd.nextInt(6); j > 0; j--) a.addInts(vals[rnd.nextInt(vals.length)]);
            }
            case 2 -> a.setType(AttributeProto.AttributeType.FLOAT).setF(rnd.nextBoolean() ? Float.NaN : -1e30f);
            default -> a.setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("SAME_UPPER"));
        }
        for (int j = n.getAttributeCount() - 1; j >= 0; j--) if (n.getAttribute(j).getName().equals(name)) n.removeAttribute(j);
        n.addAttribute(a);
        g.setNode(k, n);
        return p.toBuilder().setGraph(g).build().toByteArray();
    }

    /**
     * External data pointing outside the folder. The file outside has enough bytes for any
     * initializer of these models, so a reader that followed the path would load the model:
     * loading is then a failure.
     */
    private static Mutant external(Base b, SplittableRandom rnd, Path dir) throws IOException {
        Path outside = dir.getParent().resolve("outside.bin");
        Path link = dir.resolve("link.bin");
        if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createSymbolicLink(link, outside);
            } catch (UnsupportedOperationException | IOException e) {
                Files.write(link, new byte[0]);
            }
        }
        int how = rnd.nextInt(5);
        String location = switch (how) {
            case 0 -> "../outside.bin";
            case 1 -> outside.toAbsolutePath().toString();
            case 2 -> "link.bin";
            case 3 -> "sub/../../outside.bin";
            default -> "missing-" + rnd.nextInt(10) + ".bin";
        };
        byte[] bytes = withTensor(b, rnd, t -> {
            long n = 1;
            for (long d : t.getDimsList()) n *= d;
            long bytesPerElem = t.getDataType() == TensorProto.DataType.INT64_VALUE || t.getDataType() == TensorProto.DataType.DOUBLE_VALUE ? 8 : 4;
            TensorProto.Builder x = t.toBuilder().clearRawData().clearFloatData().clearInt64Data().clearInt32Data()
                    .clearDoubleData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
            if (n * bytesPerElem > (1 << 16)) { // too big for outside.bin: ask for its first bytes as a shorter tensor
                x.clearDims().addDims(16);
            }
            if (rnd.nextInt(4) == 0) x.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(rnd.nextBoolean() ? "-5" : "99999999999"));
            return x.build();
        });
        return new Mutant("external:" + (how == 4 ? "missing" : how == 2 ? "symlink" : how == 1 ? "absolute" : "dotdot"),
                bytes, how <= 3);
    }

    // ---- the ONNX node tests for our ops ----

    static List<Base> nodeTestModels() throws IOException {
        List<Base> out = new ArrayList<>();
        if (!Files.isDirectory(NODE_TESTS)) {
            System.out.println("ONNX mutation run: no " + NODE_TESTS + " (libonnx-testdata); mutating the built-in model only");
            return out;
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(NODE_TESTS)) {
            dirs = s.sorted().toList();
        }
        for (Path d : dirs) {
            Path model = d.resolve("model.onnx"), data = d.resolve("test_data_set_0");
            if (!Files.isRegularFile(model) || !Files.isDirectory(data)) continue;
            try {
                byte[] bytes = Files.readAllBytes(model);
                OnnxModel m = OnnxModel.parse(model, bytes);
                Graph g = OnnxImporter.toGraph(m);
                Map<String, Tensor> feeds = new LinkedHashMap<>();
                for (int i = 0; i < m.proto().getGraph().getInputCount(); i++) {
                    Path pb = data.resolve("input_" + i + ".pb");
                    String name = m.proto().getGraph().getInput(i).getName();
                    if (Files.isRegularFile(pb) && g.inputs.contains(name)) {
                        feeds.put(name, OnnxTensors.toTensor(OnnxTensors.readProto(pb), pb, "input " + i));
                    }
                }
                if (feeds.isEmpty()) continue;
                out.add(new Base(d.getFileName().toString(), bytes, m.proto(), feeds));
            } catch (RuntimeException e) {
                // not one of ours (unsupported op, integer inputs): the conformance test lists those
            }
        }
        return out;
    }

    // ---- the built-in model (formerly OnnxFuzzTest's) ----

    /** Conv -> Relu -> MaxPool -> Flatten -> Gemm, small enough to fuzz quickly. */
    static ModelProto model() {
        GraphProto.Builder g = GraphProto.newBuilder().setName("fuzz")
                .addInitializer(OnnxTensors.fromTensor("w", Tensor.uniform(1, -1, 1, 4, 3, 3, 3)))
                .addInitializer(OnnxTensors.fromTensor("b", Tensor.uniform(2, -1, 1, 4)))
                .addInitializer(OnnxTensors.fromTensor("fw", Tensor.uniform(3, -1, 1, 5, 64)))
                .addNode(NodeProto.newBuilder().setOpType("Conv").setName("conv").addInput("x").addInput("w").addInput("b").addOutput("c")
                        .addAttribute(ints("pads", 1, 1, 1, 1)))
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu").addInput("c").addOutput("r"))
                .addNode(NodeProto.newBuilder().setOpType("MaxPool").setName("pool").addInput("r").addOutput("p")
                        .addAttribute(ints("kernel_shape", 2, 2)).addAttribute(ints("strides", 2, 2)))
                .addNode(NodeProto.newBuilder().setOpType("Flatten").setName("flat").addInput("p").addOutput("f"))
                .addNode(NodeProto.newBuilder().setOpType("Gemm").setName("fc").addInput("f").addInput("fw").addOutput("y")
                        .addAttribute(AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1)));
        g.addInput(dev.convlens.models.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName("x"));
        g.addOutput(dev.convlens.models.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName("y"));
        return ModelProto.newBuilder().setIrVersion(8).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }
}
