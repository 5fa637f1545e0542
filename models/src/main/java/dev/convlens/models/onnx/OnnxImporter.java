package dev.convlens.models.onnx;

import dev.convlens.models.onnx.proto.Onnx.AttributeProto;
import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Op;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.ops.AvgPool2d;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.Lrn;
import dev.convlens.tensor.ops.MaxPool2d;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * ONNX graph to convlens {@link Graph}: one table entry per ONNX operator, mapping ONNX's
 * attribute names ({@code kernel_shape}, {@code pads}, {@code strides}, ...) onto the ops of
 * {@code dev.convlens.tensor.ops}. ONNX words live here and nowhere else.
 *
 * <p>Float initializers become the graph's parameters (by their ONNX names). Integer tensors
 * (Reshape's shape, Pad's pads) must be constants, from initializers or Constant nodes; they are
 * resolved here. Anything else is refused with the op type, the node name, the opset and the list
 * of supported operators.
 */
public final class OnnxImporter {
    /** The ONNX operators convlens maps, in the default domain. */
    public static final Set<String> SUPPORTED = new TreeSet<>(List.of("Add", "AveragePool", "BatchNormalization",
            "Concat", "Constant", "Conv", "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "Identity", "LRN",
            "LogSoftmax", "MatMul", "MaxPool", "Pad", "Relu", "Reshape", "Softmax"));
    /** Opsets accepted (torch.onnx exports 7 to 17; ONNX's pytorch-converted tests use 6). */
    public static final int MIN_OPSET = 6, MAX_OPSET = 17;

    private final OnnxModel model;
    private final Path file;
    private final Map<String, long[]> ints = new HashMap<>();
    private final Map<String, Tensor> floats = new LinkedHashMap<>();

    private OnnxImporter(OnnxModel model) {
        this.model = model;
        this.file = model.file();
    }

    /** Reads and converts an ONNX file. */
    public static Graph load(Path file) {
        return toGraph(OnnxModel.read(file));
    }

    /** Converts a parsed model. */
    public static Graph toGraph(OnnxModel model) {
        return new OnnxImporter(model).convert();
    }

    private Graph convert() {
        if (model.opset() < MIN_OPSET || model.opset() > MAX_OPSET) {
            throw new OnnxException(file, "opset " + model.opset() + " is not supported (convlens reads opsets "
                    + MIN_OPSET + " to " + MAX_OPSET + ")");
        }
        GraphProto g = model.proto().getGraph();
        for (TensorProto t : g.getInitializerList()) {
            String where = "initializer '" + t.getName() + "'";
            if (isInteger(t)) {
                ints.put(t.getName(), OnnxTensors.toLongs(t, file, where));
            } else {
                floats.put(t.getName(), OnnxTensors.toTensor(t, file, where));
            }
        }
        List<Node> nodes = new ArrayList<>();
        int i = 0;
        for (NodeProto n : g.getNodeList()) {
            String name = n.getName().isEmpty() ? n.getOpType() + "_" + i : n.getName();
            i++;
            if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
                throw unsupported(n, name, "domain '" + n.getDomain() + "'");
            }
            if (n.getOpType().equals("Constant") && constant(n, name)) continue; // an integer constant, resolved here
            requireInputs(n, name);
            Op op;
            try {
                op = op(n, name);
            } catch (IllegalArgumentException | ArithmeticException e) {
                // an op's own check of its hyperparameters (size 0, stride 0, ...), or an attribute beyond int
                throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): bad attribute: " + e.getMessage(), e);
            }
            List<String> inputs = new ArrayList<>(n.getInputList());
            // Integer inputs were resolved into the op; the graph sees only the tensor inputs.
            switch (n.getOpType()) {
                case "Reshape", "Pad", "Dropout" -> inputs = inputs.subList(0, 1);
                default -> { }
            }
            nodes.add(new Node(name, op, inputs, n.getOutputList()));
        }
        List<String> inputs = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!floats.containsKey(v.getName()) && !ints.containsKey(v.getName())) inputs.add(v.getName());
        }
        List<String> outputs = new ArrayList<>();
        for (ValueInfoProto v : g.getOutputList()) outputs.add(v.getName());
        try {
            return new Graph(nodes, floats, inputs, outputs);
        } catch (IllegalArgumentException e) {
            throw new OnnxException(file, e.getMessage(), e);
        }
    }

    /** A Constant node: integer ones go to {@code ints} (returns true); float ones become a node. */
    private boolean constant(NodeProto n, String name) {
        AttributeProto v = attr(n, "value");
        if (v == null) throw unsupported(n, name, "a Constant without a 'value' tensor attribute");
        TensorProto t = v.getT();
        if (isInteger(t)) {
            ints.put(n.getOutput(0), OnnxTensors.toLongs(t, file, "Constant node '" + name + "'"));
            return true;
        }
        return false;
    }

    private Op op(NodeProto n, String name) {
        long opset = model.opset();
        return switch (n.getOpType()) {
            case "Conv" -> {
                requireNotSet(n, name, "auto_pad");
                int[] st = ints(n, "strides", 1, 1), p = ints(n, "pads", 0, 0, 0, 0), d = ints(n, "dilations", 1, 1);
                require2d(n, name, st, p, d);
                window(n, name, "strides", st, true);
                window(n, name, "pads", p, false);
                window(n, name, "dilations", d, true);
                yield new Layers.Conv(new Conv2d(st[0], st[1], p[0], p[1], p[2], p[3], d[0], d[1], (int) i(n, "group", 1)));
            }
            case "Relu" -> new Layers.ReluOp();
            case "MaxPool" -> {
                requireNotSet(n, name, "auto_pad");
                if (i(n, "storage_order", 0) != 0) throw unsupported(n, name, "storage_order=1 (column-major Indices)");
                int[] k = ints(n, "kernel_shape"), st = ints(n, "strides", 1, 1), p = ints(n, "pads", 0, 0, 0, 0),
                        d = ints(n, "dilations", 1, 1);
                require2d(n, name, k, st, p, d);
                window(n, name, "kernel_shape", k, true);
                window(n, name, "strides", st, true);
                window(n, name, "pads", p, false);
                window(n, name, "dilations", d, true);
                yield new Layers.MaxPool(new MaxPool2d(k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3], d[0], d[1],
                        i(n, "ceil_mode", 0) != 0), n.getOutputCount() > 1 && !n.getOutput(1).isEmpty());
            }
            case "AveragePool" -> {
                requireNotSet(n, name, "auto_pad");
                int[] k = ints(n, "kernel_shape"), st = ints(n, "strides", 1, 1), p = ints(n, "pads", 0, 0, 0, 0);
                require2d(n, name, k, st, p);
                window(n, name, "kernel_shape", k, true);
                window(n, name, "strides", st, true);
                window(n, name, "pads", p, false);
                yield new Layers.AvgPool(new AvgPool2d(k[0], k[1], st[0], st[1], p[0], p[1], p[2], p[3],
                        i(n, "ceil_mode", 0) != 0, i(n, "count_include_pad", 0) != 0));
            }
            case "GlobalAveragePool" -> new Layers.GlobalAvg();
            case "BatchNormalization" -> {
                // ONNX: running = momentum*running + (1-momentum)*batch; PyTorch's momentum is 1 - ONNX's.
                float onnxMomentum = f(n, "momentum", 0.9f);
                yield new Layers.BatchNorm(new BatchNorm2d(f(n, "epsilon", 1e-5f), 1 - onnxMomentum),
                        i(n, "training_mode", 0) != 0 || n.getOutputCount() > 1);
            }
            case "Gemm" -> new Layers.Gemm(f(n, "alpha", 1), f(n, "beta", 1), i(n, "transA", 0) != 0, i(n, "transB", 0) != 0);
            case "MatMul" -> new Layers.MatMul();
            case "Add" -> new Layers.AddOp();
            case "Flatten" -> new Layers.Flatten((int) i(n, "axis", 1));
            case "Reshape" -> {
                if (i(n, "allowzero", 0) != 0) throw unsupported(n, name, "allowzero=1");
                yield new Layers.ReshapeOp(toInts(constInput(n, name, 1)));
            }
            case "Identity" -> new Layers.Identity();
            case "Constant" -> new Layers.Constant(OnnxTensors.toTensor(attr(n, "value").getT(), file, "Constant node '" + name + "'"));
            case "Dropout" -> {
                float ratio = opset < 12 ? f(n, "ratio", 0.5f)
                        : n.getInputCount() > 1 && !n.getInput(1).isEmpty() ? constFloat(n, name, 1) : 0.5f;
                boolean trainingMode = opset >= 12 && n.getInputCount() > 2 && !n.getInput(2).isEmpty()
                        && constInput(n, name, 2)[0] != 0;
                yield new Layers.DropoutOp(new Dropout(ratio, (long) i(n, "seed", 0)), trainingMode);
            }
            case "LRN" -> new Layers.LrnOp(new Lrn((int) i(n, "size", -1), f(n, "alpha", 1e-4f), f(n, "beta", 0.75f), f(n, "bias", 1f)));
            case "Softmax" -> new Layers.SoftmaxOp((int) i(n, "axis", opset < 13 ? 1 : -1), opset < 13);
            case "LogSoftmax" -> new Layers.LogSoftmaxOp((int) i(n, "axis", opset < 13 ? 1 : -1), opset < 13);
            case "Concat" -> new Layers.ConcatOp((int) i(n, "axis", 0));
            case "Pad" -> {
                String mode = s(n, "mode", "constant");
                if (!mode.equals("constant")) throw unsupported(n, name, "mode '" + mode + "'");
                int[] pads = opset < 11 ? ints(n, "pads") : toInts(constInput(n, name, 1));
                float value = opset < 11 ? f(n, "value", 0) : n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? constFloat(n, name, 2) : 0;
                yield new Layers.Pad(window(n, name, "pads", pads, false), value);
            }
            default -> throw unsupported(n, name, null);
        };
    }

    /**
     * The PyTorch module path of a node that torch.onnx exported: each scope component repeats its
     * parent's name as a prefix, so {@code "/layer2/layer2.0/downsample/downsample.0/Conv"} is in
     * module {@code "layer2.0.downsample.0"} and {@code "/features/features.8/Conv"} in
     * {@code "features.8"}; a node outside any module ({@code "/Flatten"}, {@code "Flatten_3"}) gives "".
     */
    public static String moduleOf(String nodeName) {
        String[] c = nodeName.split("/");
        StringBuilder path = new StringBuilder();
        String last = null;
        for (int i = 1; i < c.length - 1; i++) {
            if (last == null) path.append(c[i]);
            else if (c[i].startsWith(last + ".")) path.append(c[i].substring(last.length()));
            else path.append('.').append(c[i]);
            last = c[i];
        }
        return path.toString();
    }

    /** How many leading inputs each op needs as tensors (non-empty names); Concat needs all of its inputs. */
    private static int requiredInputs(String opType) {
        return switch (opType) {
            case "Add", "MatMul", "Gemm", "Conv" -> 2;
            case "BatchNormalization" -> 5;
            case "Constant" -> 0;
            default -> 1;
        };
    }

    private void requireInputs(NodeProto n, String name) {
        int need = n.getOpType().equals("Concat") ? Math.max(1, n.getInputCount()) : requiredInputs(n.getOpType());
        if (n.getInputCount() < need) {
            throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): has " + n.getInputCount()
                    + " inputs but needs " + need);
        }
        for (int j = 0; j < need; j++) {
            if (n.getInput(j).isEmpty()) {
                throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): input " + j + " is required but empty");
            }
        }
        if (n.getOutputCount() == 0 || n.getOutput(0).isEmpty()) {
            throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): has no output");
        }
    }

    /** Largest kernel, stride, dilation or pad accepted from a file: real models stay far below; more only allocates. */
    public static final int MAX_WINDOW = 1024;

    private int[] window(NodeProto n, String name, String attr, int[] v, boolean positive) {
        for (int x : v) {
            if (x > MAX_WINDOW || x < (positive ? 1 : 0)) {
                throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): attribute " + attr + " "
                        + java.util.Arrays.toString(v) + " is out of range (" + (positive ? 1 : 0) + " to " + MAX_WINDOW + ")");
            }
        }
        return v;
    }

    // ---- errors ----

    private OnnxException unsupported(NodeProto n, String name, String what) {
        return new OnnxException(file, "node '" + name + "': op " + n.getOpType()
                + (what == null ? "" : " with " + what) + " is not supported (opset " + model.opset()
                + "); convlens supports: " + String.join(", ", SUPPORTED));
    }

    private void requireNotSet(NodeProto n, String name, String attr) {
        String v = s(n, attr, "NOTSET");
        if (!v.equals("NOTSET") && !v.equals("VALID")) throw unsupported(n, name, attr + "=" + v + " (give explicit pads)");
    }

    private void require2d(NodeProto n, String name, int[]... lists) {
        for (int[] l : lists) {
            if (l.length != 2 && l.length != 4) throw unsupported(n, name, "a non-2-D window " + java.util.Arrays.toString(l));
        }
    }

    // ---- attributes and constant inputs ----

    private static AttributeProto attr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) if (a.getName().equals(name)) return a;
        return null;
    }

    private static long i(NodeProto n, String name, long dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getI();
    }

    private static float f(NodeProto n, String name, float dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getF();
    }

    private static String s(NodeProto n, String name, String dflt) {
        AttributeProto a = attr(n, name);
        return a == null ? dflt : a.getS().toStringUtf8();
    }

    private int[] ints(NodeProto n, String name, int... dflt) {
        AttributeProto a = attr(n, name);
        if (a == null) {
            if (dflt.length == 0) throw new OnnxException(file, "node '" + n.getName() + "' (" + n.getOpType() + "): attribute '" + name + "' is required");
            return dflt;
        }
        int[] v = new int[a.getIntsCount()];
        for (int j = 0; j < v.length; j++) v[j] = Math.toIntExact(a.getInts(j));
        return v;
    }

    private long[] constInput(NodeProto n, String name, int idx) {
        if (n.getInputCount() <= idx || n.getInput(idx).isEmpty()) {
            throw new OnnxException(file, "node '" + name + "' (" + n.getOpType() + "): input " + idx + " is required");
        }
        long[] v = ints.get(n.getInput(idx));
        if (v == null) {
            throw unsupported(n, name, "input " + idx + " ('" + n.getInput(idx) + "') computed at run time; it must be an integer initializer or Constant");
        }
        return v;
    }

    private float constFloat(NodeProto n, String name, int idx) {
        Tensor t = floats.get(n.getInput(idx));
        if (t != null) return t.data[0];
        for (NodeProto c : model.proto().getGraph().getNodeList()) {
            if (c.getOpType().equals("Constant") && c.getOutputList().contains(n.getInput(idx)) && attr(c, "value") != null) {
                return OnnxTensors.toTensor(attr(c, "value").getT(), file, "Constant '" + c.getName() + "'").data[0];
            }
        }
        throw unsupported(n, name, "input " + idx + " computed at run time; it must be a constant");
    }

    private static boolean isInteger(TensorProto t) {
        return switch (t.getDataType()) {
            case TensorProto.DataType.INT64_VALUE, TensorProto.DataType.INT32_VALUE, TensorProto.DataType.BOOL_VALUE -> true;
            default -> false;
        };
    }

    private static int[] toInts(long[] v) {
        int[] r = new int[v.length];
        for (int j = 0; j < v.length; j++) r[j] = Math.toIntExact(v[j]);
        return r;
    }
}
