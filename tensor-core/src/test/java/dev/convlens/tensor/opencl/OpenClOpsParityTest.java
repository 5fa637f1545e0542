package dev.convlens.tensor.opencl;

import static dev.convlens.tensor.testing.GradCheck.maxAbsRel;
import static dev.convlens.tensor.testing.GradCheck.relL2;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.ops.Add;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Linear;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.OpenClTesting;
import org.junit.jupiter.api.Test;

/**
 * Every op that takes its kernels as an argument, forward and backward, run through the op (so
 * its shape checks and the wiring to the kernels are covered too) on the reference and on OpenCL.
 * Tolerances as for the kernels (OpenClKernelsTest): float sums reordered, nothing more; pooling
 * and ReLU move values without arithmetic and must agree exactly.
 */
class OpenClOpsParityTest {
    static final double REL_L2 = 1e-5, MAX_ABS_REL = 1e-4;
    final Kernels ref = new ReferenceKernels();

    static void assertClose(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        double rel = relL2(expected.data, actual.data), max = maxAbsRel(expected.data, actual.data);
        assertTrue(rel <= REL_L2, what + ": relative L2 error " + rel + " > " + REL_L2);
        assertTrue(max <= MAX_ABS_REL, what + ": max abs error / max|ref| " + max + " > " + MAX_ABS_REL);
    }

    @Test
    void everyOpForwardAndBackward() {
        OpenClKernels cl = OpenClTesting.kernels();
        Tensor x = Tensor.uniform(1, -1, 1, 2, 6, 11, 9);

        Conv2d conv = new Conv2d(2, 1, 1, 1, 0, 1, 1, 2, 2);
        Tensor w = Tensor.uniform(2, -1, 1, 8, 3, 3, 3), b = Tensor.uniform(3, -1, 1, 8);
        Tensor y0 = conv.forward(ref, x, w, b), y1 = conv.forward(cl, x, w, b);
        assertClose("Conv2d forward", y0, y1);
        Tensor dy = Tensor.uniform(4, -1, 1, y0.shape());
        Conv2d.Grads g0 = conv.backward(ref, x, w, dy, true, true, true), g1 = conv.backward(cl, x, w, dy, true, true, true);
        assertClose("Conv2d dx", g0.dx(), g1.dx());
        assertClose("Conv2d dw", g0.dw(), g1.dw());
        assertClose("Conv2d db", g0.db(), g1.db());

        MaxPool2d pool = MaxPool2d.of(3, 2, 1);
        MaxPool2d.Result p0 = pool.forward(ref, x), p1 = pool.forward(cl, x);
        assertArrayEquals(p0.y().data, p1.y().data, "MaxPool2d forward");
        assertArrayEquals(p0.switches(), p1.switches(), "MaxPool2d switches");
        Tensor dp = Tensor.uniform(5, -1, 1, p0.y().shape());
        assertClose("MaxPool2d backward", pool.backward(ref, dp, p0.switches(), x.shape()),
                pool.backward(cl, dp, p0.switches(), x.shape()));

        Tensor dx = Tensor.uniform(6, -1, 1, x.shape());
        assertArrayEquals(Relu.forward(ref, x).data, Relu.forward(cl, x).data, "Relu forward");
        for (Relu.Rule rule : Relu.Rule.values()) {
            assertArrayEquals(Relu.backward(ref, rule, x, dx).data, Relu.backward(cl, rule, x, dx).data, "Relu " + rule);
        }
        assertArrayEquals(Add.forward(ref, x, dx).data, Add.forward(cl, x, dx).data, "Add forward");

        BatchNorm2d bn = BatchNorm2d.defaults();
        Tensor gamma = Tensor.uniform(7, 0.5f, 1.5f, 6), beta = Tensor.uniform(8, -1, 1, 6);
        Tensor rm0 = Tensor.zeros(6), rv0 = Tensor.uniform(9, 1, 2, 6), rm1 = rm0.copy(), rv1 = rv0.copy();
        BatchNorm2d.TrainResult t0 = bn.forwardTrain(ref, x, gamma, beta, rm0, rv0);
        BatchNorm2d.TrainResult t1 = bn.forwardTrain(cl, x, gamma, beta, rm1, rv1);
        assertClose("BatchNorm2d train forward", t0.y(), t1.y());
        assertClose("BatchNorm2d running mean", rm0, rm1);
        assertClose("BatchNorm2d running var", rv0, rv1);
        BatchNorm2d.Grads b0 = bn.backwardTrain(ref, x, gamma, dx, t0.mean(), t0.invStd(), true, true, true);
        BatchNorm2d.Grads b1 = bn.backwardTrain(cl, x, gamma, dx, t0.mean(), t0.invStd(), true, true, true);
        assertClose("BatchNorm2d train dx", b0.dx(), b1.dx());
        assertClose("BatchNorm2d train dgamma", b0.dgamma(), b1.dgamma());
        assertClose("BatchNorm2d train dbeta", b0.dbeta(), b1.dbeta());
        assertClose("BatchNorm2d inference forward", bn.forwardInference(ref, x, gamma, beta, rm0, rv0),
                bn.forwardInference(cl, x, gamma, beta, rm0, rv0));
        b0 = bn.backwardInference(ref, x, gamma, rm0, rv0, dx, true, true, true);
        b1 = bn.backwardInference(cl, x, gamma, rm0, rv0, dx, true, true, true);
        assertClose("BatchNorm2d inference dx", b0.dx(), b1.dx());
        assertClose("BatchNorm2d inference dgamma", b0.dgamma(), b1.dgamma());
        assertClose("BatchNorm2d inference dbeta", b0.dbeta(), b1.dbeta());

        Tensor v = Tensor.uniform(10, -1, 1, 3, 29), lw = Tensor.uniform(11, -1, 1, 17, 29), lb = Tensor.uniform(12, -1, 1, 17);
        Tensor l0 = Linear.forward(ref, v, lw, lb), l1 = Linear.forward(cl, v, lw, lb);
        assertClose("Linear forward", l0, l1);
        Tensor dl = Tensor.uniform(13, -1, 1, l0.shape());
        Linear.Grads q0 = Linear.backward(ref, v, lw, dl, true, true, true), q1 = Linear.backward(cl, v, lw, dl, true, true, true);
        assertClose("Linear dx", q0.dx(), q1.dx());
        assertClose("Linear dw", q0.dw(), q1.dw());
        assertClose("Linear db", q0.db(), q1.db());
        assertTrue(cl.lastRanOnOpenCl(), () -> "last launch did not run on OpenCL:\n" + cl.usageReport());
    }
}
