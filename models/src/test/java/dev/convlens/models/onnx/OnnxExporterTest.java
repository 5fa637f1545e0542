package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.convlens.models.zoo.AlexNet;
import dev.convlens.models.zoo.ResNet18;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.Lrn;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.testing.Oracle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Export, then import: the same graph (nodes, op records, parameters by name) and the same outputs,
 * bitwise (the same ops run in the same order on the same numbers). Each exported file is then
 * given to ONNX's own checker (check_onnx.py under the PyTorch oracle's interpreter, which has the
 * onnx package); skipped without the oracle, a failure when CONVLENS_ORACLE=required.
 */
class OnnxExporterTest {
    @TempDir
    Path dir;

    private final Kernels k = Backend.select("simd", 2);

    @Test
    void resnet18RoundTrip() {
        Graph g = ResNet18.build(10, 5);
        roundTrip(g, "resnet18.onnx", Tensor.uniform(3, -2, 2, 2, 3, 64, 64));
    }

    @Test
    void alexnetRoundTrip() {
        Graph g = AlexNet.build(7, 5);
        roundTrip(g, "alexnet.onnx", Tensor.uniform(3, -2, 2, 1, 3, 224, 224));
    }

    /**
     * Every other op of the exporter's table: LRN, a padded ceil-mode max pool, Pad with a value,
     * Concat, Reshape with 0 and -1, Identity, a float Constant, MatMul, a training-mode BN and a
     * training-mode Dropout with a ratio other than ONNX's default, Softmax and LogSoftmax.
     */
    @Test
    void everyOpRoundTrips() {
        List<Node> nodes = new ArrayList<>();
        nodes.add(new Node("lrn", new Layers.LrnOp(new Lrn(3, 2e-4f, 0.7f, 1.5f)), List.of("x"), List.of("a")));
        nodes.add(new Node("pool", new Layers.MaxPool(new MaxPool2d(2, 3, 2, 2, 1, 0, 0, 1, 1, 1, true), false), List.of("a"), List.of("b")));
        nodes.add(new Node("pad", new Layers.Pad(new int[] {0, 0, 1, 0, 0, 0, 0, 2}, 0.25f), List.of("b"), List.of("c")));
        // momentum 0.25: ONNX stores 1 - momentum, and 1 - (1 - m) is exact in float only for some m (0.2 comes back 0.19999999)
        nodes.add(new Node("bn", new Layers.BatchNorm(new BatchNorm2d(1e-3f, 0.25f), true),
                List.of("c", "gamma", "beta", "mean", "var"), List.of("d")));
        nodes.add(new Node("cat", new Layers.ConcatOp(1), List.of("c", "d"), List.of("e")));
        nodes.add(new Node("reshape", new Layers.ReshapeOp(new int[] {0, -1}), List.of("e"), List.of("f")));
        nodes.add(new Node("id", new Layers.Identity(), List.of("f"), List.of("g")));
        nodes.add(new Node("drop", new Layers.DropoutOp(new Dropout(0.25f, 11), true), List.of("g"), List.of("h")));
        nodes.add(new Node("const", new Layers.Constant(Tensor.uniform(4, -1, 1, 1, 5)), List.of(), List.of("bias")));
        nodes.add(new Node("mm", new Layers.MatMul(), List.of("h", "w"), List.of("i")));
        nodes.add(new Node("add", new Layers.AddOp(), List.of("i", "bias"), List.of("j")));
        nodes.add(new Node("gemm", new Layers.Gemm(0.5f, 2f, false, true), List.of("j", "w2", "b2"), List.of("l")));
        nodes.add(new Node("softmax", new Layers.SoftmaxOp(-1, false), List.of("l"), List.of("p")));
        nodes.add(new Node("logsoftmax", new Layers.LogSoftmaxOp(1, false), List.of("l"), List.of("q")));
        // x (2,3,6,6) -> pool (2,3,4,3) (ceil mode adds a last row whose window starts inside the input:
        // PyTorch and ONNX agree there) -> pad (2,3,5,5) -> cat (2,6,5,5) -> reshape (2,150)
        int c = 3, flat = 150;
        Map<String, Tensor> params = Map.of("gamma", Tensor.uniform(1, 0.5f, 1.5f, c), "beta", Tensor.uniform(2, -1, 1, c),
                "mean", Tensor.uniform(3, -1, 1, c), "var", Tensor.uniform(4, 0.5f, 2, c), "w", Tensor.uniform(5, -1, 1, flat, 5),
                "w2", Tensor.uniform(6, -1, 1, 4, 5), "b2", Tensor.uniform(7, -1, 1, 4));
        Graph g = new Graph(nodes, new java.util.LinkedHashMap<>(new java.util.TreeMap<>(params)), List.of("x"), List.of("p", "q"));
        Graph back = roundTrip(g, "ops.onnx", Tensor.uniform(8, -2, 2, 2, 3, 6, 6),
                Map.of("x", new int[] {-1, 3, 6, 6}, "q", new int[] {-1, 4}));
        for (int i = 0; i < nodes.size(); i++) {
            Node a = nodes.get(i), b = back.nodes.get(i);
            assertEquals(a.inputs(), b.inputs(), a.name());
            assertEquals(a.outputs(), b.outputs().subList(0, a.outputs().size()), a.name()); // BN training: + running stats
            if (a.op() instanceof Layers.Constant ca) {
                assertArrayEquals(ca.value().data, ((Layers.Constant) b.op()).value().data);
            } else if (a.op() instanceof Layers.DropoutOp da) {
                Layers.DropoutOp db = (Layers.DropoutOp) b.op();
                assertEquals(da.dropout(), db.dropout());
                assertEquals(da.trainingMode(), db.trainingMode());
            } else if (a.op() instanceof Layers.ReshapeOp ra) {
                assertArrayEquals(ra.shape(), ((Layers.ReshapeOp) b.op()).shape());
            } else if (a.op() instanceof Layers.Pad pa) {
                assertArrayEquals(pa.pads(), ((Layers.Pad) b.op()).pads());
                assertEquals(pa.value(), ((Layers.Pad) b.op()).value());
            } else {
                assertEquals(a.op(), b.op(), a.name()); // records: every hyperparameter came back
            }
        }
    }

    /** Exports, checks with ONNX, re-imports, and compares parameters and outputs bitwise. */
    private Graph roundTrip(Graph g, String name, Tensor x) {
        return roundTrip(g, name, x, Map.of());
    }

    private Graph roundTrip(Graph g, String name, Tensor x, Map<String, int[]> shapes) {
        Path file = dir.resolve(name);
        OnnxExporter.write(g, file, shapes);
        Graph back = OnnxImporter.load(file);
        assertEquals(g.inputs, back.inputs);
        assertEquals(g.outputs, back.outputs);
        assertEquals(g.nodes.size(), back.nodes.size());
        for (Map.Entry<String, Tensor> p : g.params.entrySet()) {
            Tensor t = back.params.get(p.getKey());
            assertTrue(t != null, "parameter " + p.getKey() + " did not come back");
            assertArrayEquals(p.getValue().shape(), t.shape(), p.getKey());
            assertArrayEquals(p.getValue().data, t.data, p.getKey());
        }
        for (int i = 0; i < g.nodes.size(); i++) {
            assertEquals(g.nodes.get(i).name(), back.nodes.get(i).name());
            assertEquals(g.nodes.get(i).op().type(), back.nodes.get(i).op().type(), g.nodes.get(i).name());
        }
        // (a graph with training-mode layers runs them here too: same seeds, same dropout masks)
        var a = g.forward(k, Map.of(g.inputs.get(0), x), false);
        var b = back.forward(k, Map.of(back.inputs.get(0), x), false);
        for (String out : g.outputs) assertArrayEquals(a.value(out).data, b.value(out).data, name + " output " + out);
        onnxCheck(file);
        return back;
    }

    /** ONNX's checker (full_check: with strict shape inference) on {@code file}, through the oracle's Python. */
    static void onnxCheck(Path file) {
        Oracle oracle = Oracle.get();
        oracle.require();
        Path script = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")), "src/test/python/check_onnx.py");
        try {
            Process p = new ProcessBuilder(oracle.python().toString(), script.toString(), file.toString())
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("check_onnx.py did not finish in 120 s on " + file);
            }
            assertEquals(0, p.exitValue(), "onnx.checker refused " + file + ":\n" + out);
            assertTrue(out.startsWith("ok "), out);
        } catch (IOException e) {
            fail("cannot run " + script + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }
}
