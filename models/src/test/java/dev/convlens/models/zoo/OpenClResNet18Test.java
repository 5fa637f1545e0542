package dev.convlens.models.zoo;

import static dev.convlens.tensor.testing.GradCheck.maxAbsRel;
import static dev.convlens.tensor.testing.GradCheck.relL2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.OpenClTesting;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A whole ResNet-18 (seeded weights, inference mode) on the OpenCL kernels against the SIMD ones:
 * the logits, and the saliency map (the gradient of the top logit with respect to the input), plus
 * the guided-backprop map, which runs the same backward pass with the ReLU rule switched. Every
 * convolution, max-pool, batch norm, ReLU, residual add and the classifier's GEMM run on OpenCL;
 * global average pooling and flatten are host loops.
 */
class OpenClResNet18Test {
    /** The oracle tests' tolerances (ZooAgreementTest): forward max abs error <= FWD * max|ref|; gradients relative L2 <= GRAD. */
    static final double FWD = 1e-4, GRAD = 1e-4;
    /** 1 x 3 x SIZE x SIZE input: 112 keeps the run short on PoCL with two shared cores, and every layer still has a 4x4 or larger map. */
    static final int SIZE = 112;

    @Test
    void forwardAndSaliencyOnOpenClAgreeWithSimd() {
        OpenClKernels cl = OpenClTesting.kernels();
        long before = cl.launches();
        Kernels simd = Backend.select("simd", 2);
        Graph g = ResNet18.build(1000, 7);
        Tensor x = Tensor.uniform(11, -2, 2, 1, 3, SIZE, SIZE);

        Run r0 = g.forward(simd, Map.of("input", x), false);
        long passes = cl.passes();
        Run r1 = g.forward(cl, Map.of("input", x), false);
        assertEquals(passes + 1, cl.passes(), "the forward pass ran as one OpenCL pass");
        float[] y0 = r0.output().data, y1 = r1.output().data;
        double fwd = maxAbsRel(y0, y1);
        assertTrue(fwd <= FWD, "logits: max abs error / max|ref| " + fwd + " > " + FWD);

        int top = 0;
        for (int i = 1; i < y0.length; i++) if (y0[i] > y0[top]) top = i;
        Tensor seed = Tensor.zeros(r0.output().shape());
        seed.data[top] = 1;
        String out = g.outputs.get(0);
        for (Relu.Rule rule : new Relu.Rule[] {Relu.Rule.GRADIENT, Relu.Rule.GUIDED}) {
            Tensor s0 = r0.backward(out, seed, rule, List.of("input")).get("input");
            long before1 = cl.passes();
            Tensor s1 = r1.backward(out, seed, rule, List.of("input")).get("input");
            assertEquals(before1 + 1, cl.passes(), "the backward pass ran as one OpenCL pass");
            double rel = relL2(s0.data, s1.data);
            assertTrue(rel <= GRAD, rule + " saliency: relative L2 error " + rel + " > " + GRAD);
        }
        // the fused inference plan (conv + folded batch norm + residual + ReLU per launch chain)
        long before2 = cl.passes();
        Run f1 = g.infer(cl, Map.of("input", x));
        double fused = maxAbsRel(y0, f1.output().data);
        assertTrue(fused <= FWD, "fused logits: max abs error / max|ref| " + fused + " > " + FWD);
        Tensor sf = f1.backward(out, seed, Relu.Rule.GRADIENT, List.of("input")).get("input");
        Tensor s0 = r0.backward(out, seed, Relu.Rule.GRADIENT, List.of("input")).get("input");
        double relFused = relL2(s0.data, sf.data);
        assertTrue(relFused <= GRAD, "fused saliency: relative L2 error " + relFused + " > " + GRAD);
        assertEquals(before2 + 2, cl.passes(), "fused forward and backward: one OpenCL pass each");
        assertTrue(cl.launches() - before > 100, "the network ran " + (cl.launches() - before) + " OpenCL launches");
        assertTrue(cl.lastRanOnOpenCl(), () -> "last launch did not run on OpenCL:\n" + cl.usageReport());
    }

    /**
     * A training step of the shipped small architectures (batch statistics, dropout, gradients of
     * every trainable parameter): the forward is one OpenCL pass and the backward another, and they
     * agree with simd. Each parameter's gradient error is bounded relative to the whole gradient's
     * norm (a bias feeding a batch norm has an exactly-zero gradient, all rounding noise).
     */
    @Test
    void aTrainingStepOfTheSmallNetsIsOnePassEachWayAndAgreesWithSimd() {
        OpenClKernels cl = OpenClTesting.kernels();
        Kernels simd = Backend.select("simd", 2);
        for (String arch : List.of("resnet-small", "alexnet-small")) {
            Graph g0 = SmallNets.build(arch, 1, 28, 10, 3), g1 = SmallNets.build(arch, 1, 28, 10, 3);
            Tensor x = Tensor.uniform(5, -1, 2, 4, 1, 28, 28);
            Run r0 = g0.forward(simd, Map.of(g0.inputs.get(0), x), true);
            long passes = cl.passes();
            Run r1 = g1.forward(cl, Map.of(g1.inputs.get(0), x), true);
            assertEquals(passes + 1, cl.passes(), arch + ": the training forward is one OpenCL pass");
            double fwd = maxAbsRel(r0.output().data, r1.output().data);
            assertTrue(fwd <= FWD, arch + " logits: " + fwd + " > " + FWD);
            Tensor seed = Tensor.uniform(6, -1, 1, r0.output().shape());
            List<String> wrt = g0.trainable();
            Map<String, Tensor> d0 = r0.backward(g0.outputs.get(0), seed, Relu.Rule.GRADIENT, wrt);
            passes = cl.passes();
            Map<String, Tensor> d1 = r1.backward(g1.outputs.get(0), seed, Relu.Rule.GRADIENT, wrt);
            assertEquals(passes + 1, cl.passes(), arch + ": the backward to " + wrt.size() + " parameters is one OpenCL pass");
            double norm = 0, diff = 0;
            for (String v : wrt) {
                norm += sq(d0.get(v).data, null);
                diff += sq(d0.get(v).data, d1.get(v).data);
            }
            assertTrue(Math.sqrt(diff / norm) <= GRAD, arch + ": relative L2 error of all gradients " + Math.sqrt(diff / norm));
            for (String v : wrt) {
                double e = Math.sqrt(sq(d0.get(v).data, d1.get(v).data) / norm);
                assertTrue(e <= GRAD, arch + " d" + v + ": error / |whole gradient| " + e + " > " + GRAD);
            }
        }
    }

    /** Sum of squares of a, or of a - b. */
    private static double sq(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = b == null ? a[i] : (double) a[i] - b[i];
            s += d * d;
        }
        return s;
    }
}
