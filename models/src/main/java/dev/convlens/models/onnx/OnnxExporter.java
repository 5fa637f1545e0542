package dev.convlens.models.onnx;

import com.google.protobuf.ByteString;
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
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Op;
import dev.convlens.tensor.Tensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * convlens {@link Graph} to an ONNX file: the inverse of {@link OnnxImporter}'s table, one entry per
 * op of {@link Layers}, mapping each op's fields back to ONNX's attribute names.
 *
 * <p>The model is opset 14, IR version 8. Parameters become float initializers (little-endian
 * raw_data) under their own names. Graph inputs and outputs are float tensors whose shape (ONNX's
 * checker requires at least the rank) is given by the caller, -1 for a dim left open (a named
 * {@code dim_param}), or else read off the neighbouring layer: an input read by a Conv is
 * (N, C, H, W) with C from the weight, one read by a Linear (Gemm) is (N, in), an output of a
 * Linear is (N, out), through shape-keeping ops (Relu, Softmax, Identity, Dropout...). Integer operands that ONNX passes as inputs (Reshape's shape, Pad's pads) and
 * Dropout's ratio and training_mode (only where they differ from ONNX's defaults) become extra
 * initializers named after the node ("{node}.shape", ...); a training-mode BatchNormalization gets
 * the running-statistics outputs ONNX requires ("{node}.running_mean_out", ...). Ops with no opset-14 form are refused by
 * name: Softmax/LogSoftmax with the pre-13 2-D coercion.
 *
 * <p>Files must stay below protobuf's 2 GiB (a VGG-16 is 0.55 GB); the file is written to a
 * temporary sibling and moved into place, so a failed export leaves no partial model.
 */
public final class OnnxExporter {
    public static final int OPSET = 14, IR_VERSION = 8;

    private final Graph g;
    private final Map<String, int[]> shapes;
    private final GraphProto.Builder graph = GraphProto.newBuilder();

    private OnnxExporter(Graph g, Map<String, int[]> shapes) {
        this.g = g;
        this.shapes = shapes;
    }

    /** Writes {@code g} to {@code file}, the input and output shapes read off their layers. */
    public static void write(Graph g, Path file) {
        write(g, file, Map.of());
    }

    /**
     * Writes {@code g} to {@code file}; {@code shapes} gives the shape of graph inputs or outputs
     * (-1 for an open dim) where the layers do not tell it.
     */
    public static void write(Graph g, Path file, Map<String, int[]> shapes) {
        ModelProto m = toModel(g, file.getFileName().toString().replaceFirst("\\.onnx$", ""), shapes);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                m.writeTo(out);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one to report
            }
            throw new OnnxException(file, "cannot write: " + e, e);
        }
    }

    /** The ModelProto for {@code g}; {@code name} names the graph; shapes as in {@link #write(Graph, Path, Map)}. */
    public static ModelProto toModel(Graph g, String name, Map<String, int[]> shapes) {
        GraphProto graph = new OnnxExporter(g, shapes).convert(name);
        long bytes = 0;
        for (Tensor t : g.params.values()) bytes += 4L * t.size();
        if (bytes > Integer.MAX_VALUE - (1 << 20)) {
            throw new IllegalArgumentException("OnnxExporter: " + bytes + " bytes of parameters exceed protobuf's 2 GiB limit");
        }
        return ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("convlens")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setGraph(graph).build();
    }

    private GraphProto convert(String name) {
        graph.setName(name.isEmpty() ? "convlens" : name);
        synchronized (g.params) {
            for (Map.Entry<String, Tensor> p : g.params.entrySet()) graph.addInitializer(OnnxTensors.fromTensor(p.getKey(), p.getValue()));
        }
        for (Node n : g.nodes) graph.addNode(node(n));
        for (String in : g.inputs) graph.addInput(floatValue(in, shapeOf(in, true)));
        for (String out : g.outputs) graph.addOutput(floatValue(out, shapeOf(out, false)));
        return graph.build();
    }

    private static ValueInfoProto floatValue(String name, int[] shape) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > 0) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(shape[i]));
            else s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(i == 0 ? "N" : name + "_" + i));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }

    /** The declared shape of a graph input or output: given, or read off the layer that reads or writes it. */
    private int[] shapeOf(String value, boolean input) {
        int[] given = shapes.get(value);
        if (given != null) return given;
        int[] s = input ? readBy(value) : writtenBy(value);
        if (s == null) {
            throw new IllegalArgumentException("OnnxExporter: cannot tell the rank of graph " + (input ? "input" : "output")
                    + " '" + value + "' from its layers; give its shape (-1 for open dims) to write(graph, file, shapes)");
        }
        return s;
    }

    private int[] readBy(String value) {
        for (Node n : g.nodes) {
            if (!n.inputs().isEmpty() && n.inputs().get(0).equals(value)) {
                Tensor w = n.inputs().size() > 1 ? g.params.get(n.inputs().get(1)) : null;
                if (n.op() instanceof Layers.Conv c && w != null && w.rank() == 4) return new int[] {-1, w.dim(1) * c.conv().groups(), -1, -1};
                if (n.op() instanceof Layers.Gemm gm && w != null && !gm.transA()) return new int[] {-1, gm.transB() ? w.dim(1) : w.dim(0)};
                return null;
            }
        }
        return null;
    }

    private int[] writtenBy(String value) {
        Node n = g.producer(value);
        if (n == null) return readBy(value);
        Tensor w = n.inputs().size() > 1 ? g.params.get(n.inputs().get(1)) : null;
        if (n.op() instanceof Layers.Gemm gm && w != null && !gm.transA()) return new int[] {-1, gm.transB() ? w.dim(0) : w.dim(1)};
        boolean keepsShape = n.op() instanceof Layers.ReluOp || n.op() instanceof Layers.Identity || n.op() instanceof Layers.DropoutOp
                || n.op() instanceof Layers.SoftmaxOp || n.op() instanceof Layers.LogSoftmaxOp || n.op() instanceof Layers.LrnOp;
        return keepsShape && n.outputs().get(0).equals(value) ? writtenBy(n.inputs().get(0)) : null;
    }

    /** One node: the ONNX op type, its attributes and (where ONNX wants them) constant operands. */
    private NodeProto node(Node n) {
        NodeProto.Builder b = NodeProto.newBuilder().setName(n.name()).addAllInput(n.inputs()).addAllOutput(n.outputs());
        Op op = n.op();
        if (op instanceof Layers.Conv c) {
            var v = c.conv();
            b.setOpType("Conv").addAttribute(ints("strides", v.strideH(), v.strideW()))
                    .addAttribute(ints("pads", v.padTop(), v.padLeft(), v.padBottom(), v.padRight()))
                    .addAttribute(ints("dilations", v.dilationH(), v.dilationW())).addAttribute(i("group", v.groups()));
            Tensor w = n.inputs().size() > 1 ? g.params.get(n.inputs().get(1)) : null;
            if (w != null && w.rank() == 4) b.addAttribute(ints("kernel_shape", w.dim(2), w.dim(3)));
        } else if (op instanceof Layers.ReluOp) {
            b.setOpType("Relu");
        } else if (op instanceof Layers.MaxPool mp) {
            var v = mp.pool();
            b.setOpType("MaxPool").addAttribute(ints("kernel_shape", v.kernelH(), v.kernelW()))
                    .addAttribute(ints("strides", v.strideH(), v.strideW()))
                    .addAttribute(ints("pads", v.padTop(), v.padLeft(), v.padBottom(), v.padRight()))
                    .addAttribute(ints("dilations", v.dilationH(), v.dilationW())).addAttribute(i("ceil_mode", v.ceilMode() ? 1 : 0));
        } else if (op instanceof Layers.AvgPool ap) {
            var v = ap.pool();
            b.setOpType("AveragePool").addAttribute(ints("kernel_shape", v.kernelH(), v.kernelW()))
                    .addAttribute(ints("strides", v.strideH(), v.strideW()))
                    .addAttribute(ints("pads", v.padTop(), v.padLeft(), v.padBottom(), v.padRight()))
                    .addAttribute(i("ceil_mode", v.ceilMode() ? 1 : 0)).addAttribute(i("count_include_pad", v.countIncludePad() ? 1 : 0));
        } else if (op instanceof Layers.GlobalAvg) {
            b.setOpType("GlobalAveragePool");
        } else if (op instanceof Layers.BatchNorm bn) {
            // ONNX: running = momentum*running + (1-momentum)*batch; PyTorch's (and ours) is 1 - ONNX's.
            b.setOpType("BatchNormalization").addAttribute(f("epsilon", bn.bn().eps()))
                    .addAttribute(f("momentum", 1 - bn.bn().momentum())).addAttribute(i("training_mode", bn.trainingMode() ? 1 : 0));
            // ONNX wants the updated running statistics as outputs in training mode (the op returns them as outputs 2 and 3).
            if (bn.trainingMode()) for (int o = n.outputs().size(); o < 3; o++) b.addOutput(n.name() + (o == 1 ? ".running_mean_out" : ".running_var_out"));
        } else if (op instanceof Layers.Gemm gm) {
            b.setOpType("Gemm").addAttribute(f("alpha", gm.alpha())).addAttribute(f("beta", gm.beta()))
                    .addAttribute(i("transA", gm.transA() ? 1 : 0)).addAttribute(i("transB", gm.transB() ? 1 : 0));
        } else if (op instanceof Layers.MatMul) {
            b.setOpType("MatMul");
        } else if (op instanceof Layers.AddOp) {
            b.setOpType("Add");
        } else if (op instanceof Layers.Flatten fl) {
            b.setOpType("Flatten").addAttribute(i("axis", fl.axis()));
        } else if (op instanceof Layers.ReshapeOp r) {
            b.setOpType("Reshape").addInput(intConstant(n.name() + ".shape", r.shape()));
        } else if (op instanceof Layers.Identity) {
            b.setOpType("Identity");
        } else if (op instanceof Layers.Constant c) {
            b.setOpType("Constant").addAttribute(AttributeProto.newBuilder().setName("value")
                    .setType(AttributeProto.AttributeType.TENSOR).setT(OnnxTensors.fromTensor("", c.value())));
        } else if (op instanceof Layers.DropoutOp d) {
            b.setOpType("Dropout").addAttribute(i("seed", d.dropout().seed()));
            if (d.dropout().p() != 0.5f || d.trainingMode()) {
                String ratio = n.name() + ".ratio";
                graph.addInitializer(OnnxTensors.fromTensor(ratio, Tensor.of(new float[] {d.dropout().p()})).toBuilder().clearDims());
                b.addInput(ratio);
            }
            if (d.trainingMode()) {
                String mode = n.name() + ".training_mode";
                graph.addInitializer(TensorProto.newBuilder().setName(mode).setDataType(TensorProto.DataType.BOOL_VALUE)
                        .setRawData(ByteString.copyFrom(new byte[] {1})));
                b.addInput(mode);
            }
        } else if (op instanceof Layers.LrnOp l) {
            var v = l.lrn();
            b.setOpType("LRN").addAttribute(i("size", v.size())).addAttribute(f("alpha", v.alpha()))
                    .addAttribute(f("beta", v.beta())).addAttribute(f("bias", v.bias()));
        } else if (op instanceof Layers.SoftmaxOp s) {
            b.setOpType("Softmax").addAttribute(i("axis", noCoercion(n, s.axis(), s.coerce2d())));
        } else if (op instanceof Layers.LogSoftmaxOp s) {
            b.setOpType("LogSoftmax").addAttribute(i("axis", noCoercion(n, s.axis(), s.coerce2d())));
        } else if (op instanceof Layers.ConcatOp c) {
            b.setOpType("Concat").addAttribute(i("axis", c.axis()));
        } else if (op instanceof Layers.Pad p) {
            b.setOpType("Pad").addAttribute(AttributeProto.newBuilder().setName("mode")
                    .setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("constant")));
            b.addInput(intConstant(n.name() + ".pads", p.pads()));
            if (p.value() != 0) {
                String value = n.name() + ".constant_value";
                graph.addInitializer(OnnxTensors.fromTensor(value, Tensor.of(new float[] {p.value()})).toBuilder().clearDims());
                b.addInput(value);
            }
        } else {
            throw new IllegalArgumentException("OnnxExporter: node '" + n.name() + "' has op " + op.type()
                    + " (" + op.getClass().getName() + "), which has no ONNX form here");
        }
        return b.build();
    }

    private static int noCoercion(Node n, int axis, boolean coerce2d) {
        if (coerce2d) {
            throw new IllegalArgumentException("OnnxExporter: node '" + n.name() + "' is a " + n.op().type()
                    + " with the pre-opset-13 2-D coercion, which opset " + OPSET + " cannot express");
        }
        return axis;
    }

    private String intConstant(String name, int[] v) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(v.length);
        for (int x : v) t.addInt64Data(x);
        graph.addInitializer(t);
        return name;
    }

    private static AttributeProto i(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto f(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    private static AttributeProto ints(String name, int... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (int x : v) a.addInts(x);
        return a.build();
    }
}
