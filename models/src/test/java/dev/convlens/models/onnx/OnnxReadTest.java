package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading ONNX files: the ONNX project's own test data, and files broken on purpose. */
class OnnxReadTest {
    static final Path NODE_TESTS = Path.of("/usr/share/libonnx-testdata/data/node");
    static final Set<String> OUR_OPS = Set.of("Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool",
            "BatchNormalization", "Gemm", "MatMul", "Add", "Flatten", "Reshape", "Identity", "Dropout", "LRN",
            "Softmax", "LogSoftmax", "Concat");

    static void requireTestData() {
        boolean present = Files.isDirectory(NODE_TESTS);
        if (!present && "required".equals(System.getenv("CONVLENS_ORACLE"))) {
            throw new AssertionError("libonnx-testdata is required (CONVLENS_ORACLE=required) but " + NODE_TESTS + " is missing");
        }
        Assumptions.assumeTrue(present, "libonnx-testdata not installed; skipping");
    }

    /** Every node test for an op we support parses, and each of its float tensors survives a round trip. */
    @Test
    void readsTheOnnxNodeTestsForOurOps() throws IOException {
        requireTestData();
        int models = 0, tensors = 0;
        List<Path> dirs;
        try (Stream<Path> s = Files.list(NODE_TESTS)) {
            dirs = s.sorted().toList();
        }
        for (Path dir : dirs) {
            Path file = dir.resolve("model.onnx");
            if (!Files.exists(file)) continue;
            OnnxModel m = OnnxModel.read(file);
            List<NodeProto> nodes = m.proto().getGraph().getNodeList();
            if (nodes.isEmpty() || !OUR_OPS.contains(nodes.get(0).getOpType())) continue;
            boolean tensorsOnly = Stream.concat(m.proto().getGraph().getInputList().stream(),
                    m.proto().getGraph().getOutputList().stream()).allMatch(v -> v.getType().hasTensorType());
            if (!tensorsOnly) continue; // sequence and optional tests store other protos in their .pb files
            models++;
            assertTrue(m.opset() >= 1, file + " opset");
            try (Stream<Path> pbs = Files.walk(dir)) {
                for (Path pb : pbs.filter(p -> p.toString().endsWith(".pb")).toList()) {
                    TensorProto t = OnnxTensors.readProto(pb);
                    if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) continue;
                    if (t.getDimsList().contains(0L)) {
                        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.toTensor(t, pb, "empty"));
                        assertTrue(e.getMessage().contains("empty tensor"), e.getMessage());
                        continue;
                    }
                    Tensor x = OnnxTensors.toTensor(t, pb, t.getName());
                    long n = t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
                    assertEquals(n, x.size(), pb.toString());
                    Tensor back = OnnxTensors.toTensor(OnnxTensors.fromTensor("t", x), pb, "round trip");
                    assertArrayEquals(x.data, back.data, pb.toString());
                    tensors++;
                }
            }
        }
        assertTrue(models >= 100, "expected at least 100 node tests for our ops, found " + models);
        assertTrue(tensors >= 200, "expected at least 200 float tensors, found " + tensors);
    }

    @Test
    void truncatedModelNamesTheFileAndOffset(@TempDir Path tmp) throws IOException {
        byte[] good = sampleModel();
        Path cut = tmp.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(good, good.length / 2));
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(cut));
        assertTrue(e.getMessage().contains("cut.onnx") && e.getMessage().contains("byte offset"), e.getMessage());
    }

    @Test
    void garbageIsRefused(@TempDir Path tmp) throws IOException {
        Path junk = tmp.resolve("junk.onnx");
        byte[] b = new byte[1000];
        new java.util.Random(7).nextBytes(b);
        Files.write(junk, b);
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(junk));
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
    }

    @Test
    void rawDataOfTheWrongLengthIsRefused() {
        TensorProto t = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(2).addDims(3).setRawData(ByteString.copyFrom(new byte[20])).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.toTensor(t, Path.of("m.onnx"), "initializer w"));
        assertTrue(e.getMessage().contains("raw_data has 20 bytes") && e.getMessage().contains("need 24"), e.getMessage());
    }

    @Test
    void overflowingAndHugeDimsAreRefusedBeforeAllocation() {
        TensorProto overflow = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(1L << 40).addDims(1L << 40).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.toTensor(overflow, Path.of("m.onnx"), "initializer big"));
        assertTrue(e.getMessage().contains("initializer big"), e.getMessage());
        TensorProto huge = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(1L << 20).addDims(1L << 20).build();
        e = assertThrows(OnnxException.class, () -> OnnxTensors.toTensor(huge, Path.of("m.onnx"), "initializer huge"));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
        TensorProto negative = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(-3).build();
        e = assertThrows(OnnxException.class, () -> OnnxTensors.toTensor(negative, Path.of("m.onnx"), "initializer neg"));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());
    }

    @Test
    void externalDataIsReadInsideTheModelFolderOnly(@TempDir Path tmp) throws IOException {
        float[] v = {1.5f, -2f, 3.25f};
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putFloat(99f);
        for (float f : v) b.putFloat(f);
        Files.write(tmp.resolve("w.bin"), b.array());
        Path model = tmp.resolve("model.onnx");
        TensorProto inside = external("w.bin", 4);
        assertArrayEquals(v, OnnxTensors.toTensor(inside, model, "initializer w").data);
        OnnxException e = assertThrows(OnnxException.class,
                () -> OnnxTensors.toTensor(external("../w.bin", 4), model, "initializer w"));
        assertTrue(e.getMessage().contains("outside the model's folder"), e.getMessage());
        e = assertThrows(OnnxException.class,
                () -> OnnxTensors.toTensor(external("w.bin", 8), model, "initializer w"));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    /** A symbolic link inside the folder that leads outside it is refused by its real path; one that stays inside is followed. */
    @Test
    void symlinksAreJudgedByTheirRealPath(@TempDir Path tmp) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : new float[] {0f, 1f, 2f, 3f}) b.putFloat(f);
        Path secret = Files.write(tmp.resolve("secret.bin"), b.array());
        Path folder = Files.createDirectories(tmp.resolve("model"));
        Path model = folder.resolve("model.onnx");
        Path inside = Files.write(folder.resolve("w.bin"), b.array());
        try {
            Files.createSymbolicLink(folder.resolve("out.bin"), secret);
            Files.createSymbolicLink(folder.resolve("in.bin"), inside);
        } catch (UnsupportedOperationException | IOException e) {
            org.junit.jupiter.api.Assumptions.abort("no symbolic links here: " + e);
        }
        OnnxException e = assertThrows(OnnxException.class,
                () -> OnnxTensors.toTensor(external("out.bin", 4), model, "initializer w"));
        assertTrue(e.getMessage().contains("outside the model's folder") && e.getMessage().contains("out.bin")
                && e.getMessage().contains(model.toString()), e.getMessage());
        assertArrayEquals(new float[] {1f, 2f, 3f}, OnnxTensors.toTensor(external("in.bin", 4), model, "initializer w").data);
    }

    private static TensorProto external(String location, long offset) {
        return TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(3)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
                .build();
    }

    /** A small valid model with one initializer, built in memory. */
    private static byte[] sampleModel() {
        var graph = dev.convlens.models.onnx.proto.Onnx.GraphProto.newBuilder().setName("g")
                .addInitializer(OnnxTensors.fromTensor("w", Tensor.uniform(1, -1, 1, 8, 3, 3, 3)))
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("y"));
        return dev.convlens.models.onnx.proto.Onnx.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(dev.convlens.models.onnx.proto.Onnx.OperatorSetIdProto.newBuilder().setVersion(14))
                .setGraph(graph).build().toByteArray();
    }
}
