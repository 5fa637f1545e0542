package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ONNX project's own node and pytorch-converted tests (Debian libonnx-testdata) as a
 * conformance suite: every test
 * whose nodes are all ops convlens supports is imported and run, and each output is compared with
 * the expected one. Integer inputs (Reshape's shape, Pad's pads) are bound as constants, since
 * convlens resolves them at import. Tests that use a feature convlens refuses must be refused with
 * an {@link OnnxException} and are listed in {@link #REFUSED} with the reason.
 */
class OnnxNodeConformanceTest {
    /** |y - ref| <= RTOL * max|ref| + ATOL: the forward tolerance, plus an absolute floor for all-zero outputs. */
    static final double RTOL = 1e-4, ATOL = 1e-6;

    /** Tests that convlens refuses on purpose, with why. Anything else must pass. */
    static final Map<String, String> REFUSED = new TreeMap<>(Map.ofEntries(
            Map.entry("test_averagepool_1d_default", "1-D pooling"),
            Map.entry("test_averagepool_3d_default", "3-D pooling"),
            Map.entry("test_maxpool_1d_default", "1-D pooling"),
            Map.entry("test_maxpool_3d_default", "3-D pooling"),
            Map.entry("test_averagepool_2d_same_lower", "auto_pad SAME_*"),
            Map.entry("test_averagepool_2d_same_upper", "auto_pad SAME_*"),
            Map.entry("test_averagepool_2d_precomputed_same_upper", "auto_pad SAME_*"),
            Map.entry("test_maxpool_2d_same_lower", "auto_pad SAME_*"),
            Map.entry("test_maxpool_2d_same_upper", "auto_pad SAME_*"),
            Map.entry("test_maxpool_2d_precomputed_same_upper", "auto_pad SAME_*"),
            Map.entry("test_conv_with_autopad_same", "auto_pad SAME_*"),
            Map.entry("test_maxpool_with_argmax_2d_precomputed_strides", "storage_order=1"),
            Map.entry("test_add_uint8", "uint8 data"),
            Map.entry("test_maxpool_2d_uint8", "uint8 data"),
            Map.entry("test_edge_pad", "Pad mode edge"),
            Map.entry("test_reflect_pad", "Pad mode reflect"),
            Map.entry("test_reshape_allowzero_reordered", "empty tensors (a zero dim)"),
            Map.entry("test_globalaveragepool", "opset 1 model"),
            Map.entry("test_globalaveragepool_precomputed", "opset 1 model"),
            // pytorch-converted
            Map.entry("test_AvgPool3d", "3-D pooling"),
            Map.entry("test_AvgPool3d_stride", "3-D pooling"),
            Map.entry("test_AvgPool3d_stride1_pad0_gpu_input", "3-D pooling"),
            Map.entry("test_MaxPool1d", "1-D pooling"),
            Map.entry("test_MaxPool1d_stride", "1-D pooling"),
            Map.entry("test_MaxPool1d_stride_padding_dilation", "1-D pooling"),
            Map.entry("test_MaxPool3d", "3-D pooling"),
            Map.entry("test_MaxPool3d_stride", "3-D pooling"),
            Map.entry("test_MaxPool3d_stride_padding", "3-D pooling"),
            Map.entry("test_Conv1d", "1-D convolution"),
            Map.entry("test_Conv1d_dilated", "1-D convolution"),
            Map.entry("test_Conv1d_groups", "1-D convolution"),
            Map.entry("test_Conv1d_pad1", "1-D convolution"),
            Map.entry("test_Conv1d_pad1size1", "1-D convolution"),
            Map.entry("test_Conv1d_pad2", "1-D convolution"),
            Map.entry("test_Conv1d_pad2size1", "1-D convolution"),
            Map.entry("test_Conv1d_stride", "1-D convolution"),
            Map.entry("test_Conv3d", "3-D convolution"),
            Map.entry("test_Conv3d_dilated", "3-D convolution"),
            Map.entry("test_Conv3d_dilated_strided", "3-D convolution"),
            Map.entry("test_Conv3d_groups", "3-D convolution"),
            Map.entry("test_Conv3d_no_bias", "3-D convolution"),
            Map.entry("test_Conv3d_stride", "3-D convolution"),
            Map.entry("test_Conv3d_stride_padding", "3-D convolution"),
            Map.entry("test_ReflectionPad2d", "Pad mode reflect"),
            Map.entry("test_ReplicationPad2d", "Pad mode edge")));

    /**
     * Tests whose outputs convlens computes differently on purpose; only the first outputs are
     * compared. BatchNormalization in training mode: ONNX's reference updates the running variance
     * with the biased batch variance, PyTorch (which convlens follows) with the unbiased one, so y
     * and the running mean are compared, the running variance is not. Training-mode dropout with a
     * ratio > 0 draws its mask from numpy's generator, which convlens does not reproduce; nothing
     * is compared there (the mask's statistics are checked in DropoutTest).
     */
    static final Map<String, Integer> COMPARED_OUTPUTS = Map.of(
            "test_batchnorm_epsilon_training_mode", 2,
            "test_batchnorm_example_training_mode", 2,
            "test_training_dropout", 0,
            "test_training_dropout_default", 0,
            "test_training_dropout_default_mask", 0,
            "test_training_dropout_mask", 0);

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"node", "pytorch-converted"})
    void suiteTestsForSupportedOpsPass(String suite) throws IOException {
        OnnxReadTest.requireTestData();
        Kernels k = Backend.select("simd", 2);
        List<String> passed = new ArrayList<>(), failures = new ArrayList<>(), refused = new ArrayList<>();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(OnnxReadTest.NODE_TESTS.resolveSibling(suite))) {
            dirs = s.sorted().toList();
        }
        for (Path dir : dirs) {
            Path file = dir.resolve("model.onnx");
            if (!Files.exists(file)) continue;
            OnnxModel m = OnnxModel.read(file);
            GraphProto g = m.proto().getGraph();
            boolean ours = !g.getNodeList().isEmpty()
                    && g.getNodeList().stream().allMatch(n -> OnnxImporter.SUPPORTED.contains(n.getOpType()) && n.getDomain().isEmpty())
                    && Stream.concat(g.getInputList().stream(), g.getOutputList().stream()).allMatch(v -> v.getType().hasTensorType());
            if (!ours) continue;
            String test = dir.getFileName().toString();
            try {
                String err = runOne(k, dir, m);
                if (err == null) passed.add(test);
                else failures.add(test + ": " + err);
            } catch (OnnxException e) {
                if (REFUSED.containsKey(test)) refused.add(test);
                else failures.add(test + ": refused: " + e.getMessage());
            } catch (RuntimeException e) {
                failures.add(test + ": " + e);
            }
        }
        System.out.println("ONNX " + suite + " tests: " + passed.size() + " passed, " + refused.size()
                + " refused on purpose: " + refused.stream().map(t -> t + " (" + REFUSED.get(t) + ")").toList());
        if (!failures.isEmpty()) fail(failures.size() + " ONNX " + suite + " tests failed:\n" + String.join("\n", failures));
        assertTrue(passed.size() >= (suite.equals("node") ? 100 : 25), "too few passing " + suite + " tests: " + passed.size());
    }

    /** Runs one test directory; returns null on success or a description of the first mismatch. */
    static String runOne(Kernels k, Path dir, OnnxModel m) throws IOException {
        GraphProto g = m.proto().getGraph();
        Path data = dir.resolve("test_data_set_0");
        List<ValueInfoProto> feedsInfo = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (g.getInitializerList().stream().noneMatch(t -> t.getName().equals(v.getName()))) feedsInfo.add(v);
        }
        GraphProto.Builder gb = g.toBuilder();
        Map<String, Tensor> feeds = new HashMap<>();
        for (int i = 0; i < feedsInfo.size(); i++) {
            Path pb = data.resolve("input_" + i + ".pb");
            TensorProto t = OnnxTensors.readProto(pb).toBuilder().setName(feedsInfo.get(i).getName()).build();
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE && t.getDimsCount() > 0) feeds.put(t.getName(), OnnxTensors.toTensor(t, pb, "input " + i));
            else gb.addInitializer(t); // integer and scalar inputs (shapes, pads, ratios) become constants
        }
        ModelProto bound = m.proto().toBuilder().setGraph(gb).build();
        Graph graph = OnnxImporter.toGraph(new OnnxModel(m.file(), bound, m.opset()));
        Run run = graph.forward(k, feeds, false);
        int compared = COMPARED_OUTPUTS.getOrDefault(dir.getFileName().toString(), g.getOutputCount());
        for (int i = 0; i < compared; i++) {
            Path pb = data.resolve("output_" + i + ".pb");
            TensorProto t = OnnxTensors.readProto(pb);
            String name = g.getOutput(i).getName();
            Tensor y = run.value(name);
            if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
                long[] ref = OnnxTensors.toLongs(t, pb, "output " + i);
                for (int j = 0; j < ref.length; j++) if (ref[j] != (long) y.data[j]) return name + "[" + j + "] = " + y.data[j] + ", expected " + ref[j];
                continue;
            }
            Tensor ref = OnnxTensors.toTensor(t, pb, "output " + i);
            if (ref.size() != y.size()) return name + " has " + y.size() + " values, expected " + ref.size() + " " + java.util.Arrays.toString(ref.shape()) + " got " + java.util.Arrays.toString(y.shape());
            double tol = RTOL * ref.maxAbs() + ATOL;
            for (int j = 0; j < ref.size(); j++) {
                if (!(Math.abs(ref.data[j] - y.data[j]) <= tol)) return name + "[" + j + "] = " + y.data[j] + ", expected " + ref.data[j] + " (tol " + tol + ")";
            }
        }
        return null;
    }
}
