package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.convlens.models.onnx.proto.Onnx.GraphProto;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.OperatorSetIdProto;
import dev.convlens.models.onnx.proto.Onnx.AttributeProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.ReferenceKernels;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Random corruptions of a valid model (bit flips, byte overwrites, truncations, splices) must each
 * end in one clear, typed error (or a model that still loads and runs), never a
 * NullPointerException, an ArrayIndexOutOfBoundsException, an OutOfMemoryError or a hang.
 */
class OnnxFuzzTest {
    static final int CASES = 3000;

    @Test
    void corruptedModelsGiveTypedErrorsOnly() {
        byte[] good = model().toByteArray();
        SplittableRandom rnd = new SplittableRandom(42);
        int loaded = 0, refused = 0;
        for (int i = 0; i < CASES; i++) {
            byte[] b = mutate(good, rnd);
            try {
                Graph g = OnnxImporter.toGraph(OnnxModel.parse(Path.of("fuzz-" + i + ".onnx"), b));
                loaded++;
                try {
                    g.forward(new ReferenceKernels(), Map.of(g.inputs.get(0), Tensor.uniform(i, -1, 1, 1, 3, 8, 8)), false);
                } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                    // a model that loads but does not fit the input: a clear shape error is fine
                    if (e instanceof IndexOutOfBoundsException) {
                        fail("case " + i + ": forward of a corrupted model threw " + e, e);
                    }
                }
            } catch (OnnxException e) {
                refused++;
                assertTrue(e.getMessage().contains("fuzz-" + i + ".onnx"), "error must name the file: " + e.getMessage());
            } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
                fail("case " + i + ": " + e.getClass().getSimpleName() + " instead of an OnnxException: " + e, e);
            }
        }
        System.out.println("ONNX fuzz: " + CASES + " corrupted models, " + refused + " refused with an OnnxException, " + loaded + " still loaded");
        assertTrue(refused > CASES / 4, "most corruptions should be refused; refused " + refused + ", loaded " + loaded);
    }

    private static byte[] mutate(byte[] good, SplittableRandom rnd) {
        byte[] b = good.clone();
        switch (rnd.nextInt(4)) {
            case 0 -> { // flip a few bits
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> { // overwrite bytes with random values
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            case 2 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length)); // truncate
            default -> { // splice a chunk of the file into another place
                int from = rnd.nextInt(b.length), to = rnd.nextInt(b.length), n = Math.min(1 + rnd.nextInt(32), Math.min(b.length - from, b.length - to));
                System.arraycopy(good, from, b, to, n);
            }
        }
        return b;
    }

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
