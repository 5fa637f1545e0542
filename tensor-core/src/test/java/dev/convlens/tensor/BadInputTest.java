package dev.convlens.tensor;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.ops.Add;
import dev.convlens.tensor.ops.Concat;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.Linear;
import dev.convlens.tensor.ops.LogSoftmax;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.ops.Reshape;
import dev.convlens.tensor.ops.Softmax;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input, for every op: wrong ranks, mismatched channels or features, kernels larger than
 * the padded input, zero or negative sizes, shapes whose element count overflows {@code int}.
 * Each must be an {@link IllegalArgumentException} whose message names the op and the offending
 * shape, thrown before anything is allocated (the overflow cases would otherwise need many GB).
 */
class BadInputTest {
    static final Kernels K = new ReferenceKernels();

    static Tensor t(int... shape) {
        return Tensor.zeros(shape);
    }

    static Arguments bad(String what, String op, String shape, Executable e) {
        return Arguments.of(what, op, shape, e);
    }

    static Stream<Arguments> cases() {
        Conv2d c3 = Conv2d.of(1, 1);
        Tensor x4 = t(1, 3, 5, 5), w4 = t(8, 3, 3, 3);
        Tensor tall = t(65536, 1); // 256 KiB; with itself as weight the output (65536,65536) overflows int
        Tensor[] many = new Tensor[32769];
        Arrays.fill(many, tall); // joined along axis 1: (65536,32769), more than 2^31 elements
        return Stream.of(
                // Tensor
                bad("zero dimension", "Tensor.zeros", "(0,3)", () -> Tensor.zeros(0, 3)),
                bad("negative dimension", "Tensor.zeros", "(2,-1)", () -> Tensor.zeros(2, -1)),
                bad("int overflow", "Tensor.zeros", "(65536,65536)", () -> Tensor.zeros(65536, 65536)),
                bad("int overflow, just past", "Tensor.zeros", "(46341,46341)", () -> Tensor.zeros(46341, 46341)),
                bad("data length", "Tensor.of", "(2,3)", () -> Tensor.of(new float[5], 2, 3)),
                bad("view count", "reshape", "(2,4)", () -> t(2, 3).reshape(2, 4)),
                // Conv2d
                bad("input rank 3", "Conv2d", "(3,5,5)", () -> c3.forward(K, t(3, 5, 5), w4, null)),
                bad("weight rank 2", "Conv2d", "(8,27)", () -> c3.forward(K, x4, t(8, 27), null)),
                bad("channels", "Conv2d", "(8,4,3,3)", () -> c3.forward(K, x4, t(8, 4, 3, 3), null)),
                bad("kernel > padded input", "Conv2d", "(4,3,9,9)",
                        () -> Conv2d.of(1, 1).forward(K, x4, t(4, 3, 9, 9), null)),
                bad("stride 0", "Conv2d", "stride 0x0", () -> Conv2d.of(0, 1).forward(K, x4, w4, null)),
                bad("negative pad", "Conv2d", "(-1,-1,-1,-1)", () -> Conv2d.of(1, -1).forward(K, x4, w4, null)),
                bad("dilation 0", "Conv2d", "dilation 0x1",
                        () -> new Conv2d(1, 1, 1, 1, 1, 1, 0, 1, 1).forward(K, x4, w4, null)),
                bad("groups", "Conv2d", "(1,3,5,5)",
                        () -> new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 2).forward(K, x4, t(8, 1, 3, 3), null)),
                bad("bias", "Conv2d", "(7)", () -> c3.forward(K, x4, w4, t(7))),
                bad("dy", "Conv2d", "(1,8,4,5)", () -> c3.backward(K, x4, w4, t(1, 8, 4, 5), true, true, true)),
                bad("output overflow", "Conv2d", "(1,1,140001,140001)",
                        () -> Conv2d.of(1, 70000).forward(K, t(1, 1, 1, 1), t(1, 1, 1, 1), null)),
                // Linear
                bad("features", "Linear", "input (4,7) has 7 features but weight (3,5) expects 5",
                        () -> Linear.forward(K, t(4, 7), t(3, 5), null)),
                bad("input rank 3", "Linear", "(4,7,1)", () -> Linear.forward(K, t(4, 7, 1), t(3, 7), null)),
                bad("weight rank 1", "Linear", "(7)", () -> Linear.forward(K, t(4, 7), t(7), null)),
                bad("bias", "Linear", "(4)", () -> Linear.forward(K, t(4, 7), t(3, 7), t(4))),
                bad("dy", "Linear", "(4,2)", () -> Linear.backward(K, t(4, 7), t(3, 7), t(4, 2), true, true, true)),
                bad("backward features", "Linear", "(3,5)",
                        () -> Linear.backward(K, t(4, 7), t(3, 5), t(4, 3), true, false, false)),
                bad("output overflow", "Linear", "(65536,65536)", () -> Linear.forward(K, tall, tall, null)),
                // Relu, Add
                bad("dy shape", "Relu", "(2,4)", () -> Relu.backward(Relu.Rule.GRADIENT, t(2, 3), t(2, 4))),
                bad("shapes", "Add", "(2,3,1)", () -> Add.forward(t(2, 3), t(2, 3, 1))),
                // Reshape, Flatten
                bad("count", "Reshape", "(4,2)", () -> Reshape.forward(t(2, 3), 4, 2)),
                bad("not a multiple", "Reshape", "(4,-1)", () -> Reshape.forward(t(2, 3), 4, -1)),
                bad("two -1", "Reshape", "(-1,-1)", () -> Reshape.forward(t(2, 3), -1, -1)),
                bad("zero dimension", "Reshape", "(0,6)", () -> Reshape.forward(t(2, 3), 0, 6)),
                bad("int overflow", "Reshape", "(65536,65536)", () -> Reshape.forward(t(2, 3), 65536, 65536)),
                bad("backward count", "Reshape", "(2,4)", () -> Reshape.backward(t(2, 3), new int[] {2, 4})),
                bad("backward overflow", "Reshape", "(65536,65536)",
                        () -> Reshape.backward(t(2, 3), new int[] {65536, 65536})),
                bad("flatten axis", "Flatten", "(2,3)", () -> Reshape.flatten(t(2, 3), 3)),
                // Concat
                bad("dims", "Concat", "(2,4,5)", () -> new Concat(1).forward(t(2, 3, 6), t(2, 4, 5))),
                bad("ranks", "Concat", "(2,3)", () -> new Concat(0).forward(t(2, 3, 6), t(2, 3))),
                bad("axis", "Concat", "(2,3)", () -> new Concat(2).forward(t(2, 3), t(2, 3))),
                bad("negative axis", "Concat", "(2,3)", () -> new Concat(-3).forward(t(2, 3), t(2, 3))),
                bad("output overflow", "Concat", "(65536,32769)", () -> new Concat(1).forward(many)),
                bad("backward sum", "Concat", "(2,5)",
                        () -> new Concat(1).backward(t(2, 5), new int[] {2, 3}, new int[] {2, 3})),
                bad("backward dims", "Concat", "(3,2)",
                        () -> new Concat(1).backward(t(2, 5), new int[] {2, 3}, new int[] {3, 2})),
                bad("backward zero dim", "Concat", "(2,0)",
                        () -> new Concat(1).backward(t(2, 5), new int[] {2, 5}, new int[] {2, 0})),
                bad("backward overflow", "Concat", "(65536,65536)",
                        () -> new Concat(1).backward(t(2, 5), new int[] {65536, 65536})),
                // Dropout
                bad("p = 1", "Dropout", "1.0", () -> new Dropout(1f, 0)),
                bad("p < 0", "Dropout", "-0.5", () -> new Dropout(-0.5f, 0)),
                bad("mask length", "Dropout", "(2,3)", () -> new Dropout(0.5f, 0).backward(t(2, 3), new float[5])),
                // Softmax, LogSoftmax
                bad("axis", "Softmax", "(2,3)", () -> new Softmax(2).forward(t(2, 3))),
                bad("negative axis", "Softmax", "(2,3)", () -> new Softmax(-3).forward(t(2, 3))),
                bad("backward shapes", "Softmax", "(3,2)", () -> new Softmax(1).backward(t(2, 3), t(3, 2))),
                bad("axis", "LogSoftmax", "(2,3,4)", () -> new LogSoftmax(3).forward(t(2, 3, 4))),
                bad("backward shapes", "LogSoftmax", "(2,4)", () -> new LogSoftmax(1).backward(t(2, 3), t(2, 4))),
                // CrossEntropy
                bad("logits rank 3", "CrossEntropy", "(2,3,1)", () -> CrossEntropy.forward(t(2, 3, 1), new int[] {0, 1})),
                bad("label count", "CrossEntropy", "(2,3)", () -> CrossEntropy.forward(t(2, 3), new int[] {0, 1, 2})),
                bad("label range", "CrossEntropy", "labels[1] = 3", () -> CrossEntropy.forward(t(2, 3), new int[] {0, 3})),
                bad("negative label", "CrossEntropy", "labels[0] = -1",
                        () -> CrossEntropy.backward(t(2, 3), new int[] {-1, 0}, 1f)));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("cases")
    void refusedWithOpAndShapeInMessage(String what, String op, String shape, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, op + ": " + what);
        String m = e.getMessage();
        assertTrue(m.startsWith(op), "message should start with the op name " + op + ": " + m);
        assertTrue(m.contains(shape), "message should contain " + shape + ": " + m);
    }
}
