package dev.convlens.nn;

import static dev.convlens.tensor.testing.GradCheck.maxAbsRel;
import static dev.convlens.tensor.testing.GradCheck.relL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.OpenClTesting;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A whole graph on the device: {@link Graph#forward} (inference) and {@link Run#backward} on
 * {@link OpenClKernels} run as ONE OpenCL pass each ({@link ClGraph}), for every node type that
 * has a device form, and agree with the reference kernels value by value; what has no device form
 * (a broadcasting Add, parameter gradients, training mode) runs op by op with the same results.
 */
class ClGraphTest {
    /** Same float32 maths in another summation order (tiled GEMM, float means) on a 3-conv net: max abs error / max |ref|. */
    static final double FWD = 1e-5;
    /** Gradients: relative L2 error, same reason. */
    static final double GRAD = 1e-5;

    static final List<String> VALUES = List.of("c1", "n1", "r1", "p1", "p1_idx", "c2", "a1", "r2", "id", "g1", "f1",
            "d1", "logits", "out");

    /** conv-BN-ReLU-maxpool, a residual conv, global pooling, flatten, dropout, a Linear layer, reshape. */
    static Graph net(boolean broadcastAdd) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w1", Tensor.uniform(1, -0.5f, 0.5f, 4, 3, 3, 3));
        p.put("b1", Tensor.uniform(2, -0.1f, 0.1f, 4));
        p.put("gamma", Tensor.uniform(3, 0.5f, 1.5f, 4));
        p.put("beta", Tensor.uniform(4, -0.2f, 0.2f, 4));
        p.put("mean", Tensor.uniform(5, -0.1f, 0.1f, 4));
        p.put("var", Tensor.uniform(6, 0.5f, 1.5f, 4));
        p.put("w2", Tensor.uniform(7, -0.3f, 0.3f, 4, 4, 3, 3));
        p.put("wfc", Tensor.uniform(8, -0.5f, 0.5f, 5, 4));
        p.put("bfc", Tensor.uniform(9, -0.1f, 0.1f, 5));
        p.put("chan", Tensor.uniform(10, -0.1f, 0.1f, 1, 4, 1, 1));
        List<Node> nodes = List.of(
                new Node("conv1", new Layers.Conv(Conv2d.of(1, 1)), List.of("x", "w1", "b1"), List.of("c1")),
                new Node("bn1", new Layers.BatchNorm(new BatchNorm2d(1e-5f, 0.1f), false),
                        List.of("c1", "gamma", "beta", "mean", "var"), List.of("n1")),
                new Node("relu1", new Layers.ReluOp(), List.of("n1"), List.of("r1")),
                new Node("pool1", new Layers.MaxPool(MaxPool2d.of(2, 2, 0)), List.of("r1"), List.of("p1", "p1_idx")),
                new Node("conv2", new Layers.Conv(Conv2d.of(1, 1)), List.of("p1", "w2"), List.of("c2")),
                new Node("add", new Layers.AddOp(), List.of("c2", broadcastAdd ? "chan" : "p1"), List.of("a1")),
                new Node("relu2", new Layers.ReluOp(), List.of("a1"), List.of("r2")),
                new Node("id", new Layers.Identity(), List.of("r2"), List.of("id")),
                new Node("gap", new Layers.GlobalAvg(), List.of("id"), List.of("g1")),
                new Node("flat", new Layers.Flatten(1), List.of("g1"), List.of("f1")),
                new Node("drop", new Layers.DropoutOp(new Dropout(0.5f, 1), false), List.of("f1"), List.of("d1")),
                new Node("fc", new Layers.Gemm(1, 1, false, true), List.of("d1", "wfc", "bfc"), List.of("logits")),
                new Node("reshape", new Layers.ReshapeOp(new int[] {0, -1}), List.of("logits"), List.of("out")));
        return new Graph(nodes, p, List.of("x"), List.of("out"));
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static final Tensor X = Tensor.uniform(11, -2, 2, 2, 3, 8, 8);
    static final Tensor SEED = Tensor.uniform(12, -1, 1, 2, 5);

    @Test
    void aWholeInferenceForwardAndEachBackwardAreOnePassAndAgreeWithTheReference() {
        OpenClKernels cl = OpenClTesting.kernels();
        Kernels ref = new ReferenceKernels();
        Graph g = net(false);
        Run r0 = g.forward(ref, Map.of("x", X), false);
        long passes = cl.passes();
        Run r1 = g.forward(cl, Map.of("x", X), false);
        assertEquals(passes + 1, cl.passes(), "the forward pass is one OpenCL pass");
        for (String v : VALUES) {
            assertArrayEquals(r0.value(v).shape(), r1.value(v).shape(), v);
            double err = maxAbsRel(r0.value(v).data, r1.value(v).data);
            assertTrue(err <= FWD, v + ": max abs error / max|ref| " + err + " > " + FWD);
        }
        assertArrayEquals(r0.value("p1_idx").data, r1.value("p1_idx").data, 0f, "switches as ONNX Indices");
        for (Relu.Rule rule : Relu.Rule.values()) {
            Map<String, Tensor> d0 = r0.backward("out", SEED, rule, List.of("x", "r1"));
            long before = cl.passes();
            Map<String, Tensor> d1 = r1.backward("out", SEED, rule, List.of("x", "r1"));
            assertEquals(before + 1, cl.passes(), rule + ": the backward pass is one OpenCL pass");
            for (String v : List.of("x", "r1")) {
                double err = relL2(d0.get(v).data, d1.get(v).data);
                assertTrue(err <= GRAD, rule + " d" + v + ": relative L2 error " + err + " > " + GRAD);
            }
        }
    }

    @Test
    void aTrainingStepIsOnePassForwardAndOneBackwardWithEveryParameterGradient() {
        OpenClKernels cl = OpenClTesting.kernels();
        Graph g0 = net(false), g1 = net(false);
        Run r0 = g0.forward(new ReferenceKernels(), Map.of("x", X), true);
        long passes = cl.passes();
        Run r1 = g1.forward(cl, Map.of("x", X), true);
        assertEquals(passes + 1, cl.passes(), "the training forward is one OpenCL pass");
        for (String v : List.of("n1", "out")) {
            double err = maxAbsRel(r0.value(v).data, r1.value(v).data);
            assertTrue(err <= FWD, v + " (batch statistics): " + err + " > " + FWD);
        }
        for (String v : List.of("mean", "var")) {   // running statistics, updated in place from the batch
            double err = maxAbsRel(g0.params.get(v).data, g1.params.get(v).data);
            assertTrue(err <= FWD, "running " + v + ": " + err + " > " + FWD);
        }
        List<String> wrt = List.of("x", "w1", "b1", "gamma", "beta", "w2", "wfc", "bfc");
        Map<String, Tensor> d0 = r0.backward("out", SEED, Relu.Rule.GRADIENT, wrt);
        passes = cl.passes();
        Map<String, Tensor> d1 = r1.backward("out", SEED, Relu.Rule.GRADIENT, wrt);
        assertEquals(passes + 1, cl.passes(), "the backward to every parameter is one OpenCL pass");
        for (String v : wrt) {
            if (v.equals("b1")) continue;
            double err = relL2(d0.get(v).data, d1.get(v).data);
            assertTrue(err <= GRAD, "d" + v + ": relative L2 error " + err + " > " + GRAD);
        }
        // b1 feeds a batch norm with batch statistics, which subtracts the batch mean: db1 is exactly 0
        // in exact arithmetic, so both sides hold rounding noise; bound it against the size of dw1
        double scale = maxAbs(d0.get("w1").data);
        assertTrue(maxAbs(d0.get("b1").data) <= 1e-5 * scale && maxAbs(d1.get("b1").data) <= 1e-5 * scale,
                "db1 = 0 up to rounding: " + maxAbs(d0.get("b1").data) + " and " + maxAbs(d1.get("b1").data));
    }

    @Test
    void theFusedInferencePlanRunsAsOnePassToo() {
        OpenClKernels cl = OpenClTesting.kernels();
        Graph g = net(false);
        Run r0 = g.forward(new ReferenceKernels(), Map.of("x", X), false);
        long passes = cl.passes();
        Run r1 = g.infer(cl, Map.of("x", X));
        Tensor dx = r1.backward("out", SEED, Relu.Rule.GRADIENT, List.of("x")).get("x");
        assertEquals(passes + 2, cl.passes(), "fused forward and backward: one pass each");
        double fwd = maxAbsRel(r0.output().data, r1.output().data);
        assertTrue(fwd <= FWD, "logits: " + fwd + " > " + FWD);
        double grad = relL2(r0.backward("out", SEED, Relu.Rule.GRADIENT, List.of("x")).get("x").data, dx.data);
        assertTrue(grad <= GRAD, "dx: " + grad + " > " + GRAD);
    }

    @Test
    void whatHasNoDeviceFormRunsOpByOpWithTheSameResults() {
        OpenClKernels cl = OpenClTesting.kernels();
        Kernels ref = new ReferenceKernels();
        Graph g = net(true); // Add with a (1,4,1,1) channel vector: a broadcast
        Run r0 = g.forward(ref, Map.of("x", X), false);
        long passes = cl.passes();
        Run r1 = g.forward(cl, Map.of("x", X), false);
        assertTrue(cl.passes() - passes > 1, "a broadcasting Add sends the graph op by op");
        double fwd = maxAbsRel(r0.output().data, r1.output().data);
        assertTrue(fwd <= FWD, "logits: " + fwd + " > " + FWD);

        passes = cl.passes();
        Map<String, Tensor> d1 = r1.backward("out", SEED, Relu.Rule.GRADIENT, List.of("x", "w1"));
        assertTrue(cl.passes() - passes > 1, "the backward of an op-by-op run with a broadcast Add is op by op");
        Map<String, Tensor> d0 = r0.backward("out", SEED, Relu.Rule.GRADIENT, List.of("x", "w1"));
        for (String v : List.of("x", "w1")) {
            double err = relL2(d0.get(v).data, d1.get(v).data);
            assertTrue(err <= GRAD, "d" + v + ": relative L2 error " + err + " > " + GRAD);
        }

        Graph h = net(false);
        Run t0 = h.forward(ref, Map.of("x", X), false);
        passes = cl.passes();
        Run t1 = h.infer(cl, Map.of("x", X));
        assertEquals(passes + 1, cl.passes());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> t1.backward("out", SEED, Relu.Rule.GRADIENT, List.of("w1")));
        assertTrue(e.getMessage().contains("Graph.infer"), "the folded plan refuses parameter gradients as on the host: " + e.getMessage());
        assertTrue(t0.output().size() == t1.output().size());
    }
}
