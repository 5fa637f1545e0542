package dev.convlens.tensor.oracle;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.ops.Add;
import dev.convlens.tensor.ops.AvgPool2d;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Concat;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.GlobalAvgPool;
import dev.convlens.tensor.ops.Linear;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.ops.Reshape;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every op's forward and backward against PyTorch, case by case, on every kernel backend.
 *
 * <p>The cases (inputs, hyperparameters, outputs, a non-uniform upstream gradient and PyTorch's
 * gradients) are written by {@code src/test/python/oracle_ops.py}; each folder is one case and
 * each test is named by its folder, so a failure names the op, the configuration and the tensor.
 */
class OracleOpsTest {
    /** Forward: max abs error <= 1e-4 * max|ref| (the bound; float32 rounding is ~1e-7 relative). */
    static final double FORWARD_TOL = 1e-4;
    /** Gradients: relative L2 error <= 1e-4 (the bound). */
    static final double GRAD_TOL = 1e-4;

    static List<Kernels> backends() {
        return List.of(new ReferenceKernels(), Backend.select("simd", 2));
    }

    interface KernelCase {
        void run(Golden g, Kernels k);
    }

    interface PlainCase {
        void run(Golden g);
    }

    /** One dynamic test per case folder {@code <op>__*} and backend. */
    static Stream<DynamicTest> withKernels(String op, KernelCase body) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : casesOf(op)) {
            for (Kernels k : backends()) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + " [" + k.name() + "]",
                        () -> body.run(new Golden(dir), k)));
            }
        }
        return tests.stream();
    }

    /** One dynamic test per case folder {@code <op>__*} (ops that use no kernels). */
    static Stream<DynamicTest> plain(String op, PlainCase body) {
        return casesOf(op).stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(),
                () -> body.run(new Golden(dir))));
    }

    private static List<Path> casesOf(String op) {
        List<Path> dirs = Oracle.cases(Oracle.outputs("oracle_ops.py"), op + "__");
        assertFalse(dirs.isEmpty(), "oracle_ops.py wrote no cases for " + op);
        return dirs;
    }

    // ------------------------------------------------------------------ Conv2d

    @TestFactory
    Stream<DynamicTest> conv2d() {
        return withKernels("conv2d", (g, k) -> {
            int[] c = g.ints("cfg");
            Conv2d conv = new Conv2d(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
            boolean bias = c[9] != 0;
            Tensor x = g.tensor("x"), w = g.tensor("w"), b = bias ? g.tensor("b") : null;
            g.assertForward("y", conv.forward(k, x, w, b), FORWARD_TOL);
            Conv2d.Grads d = conv.backward(k, x, w, g.tensor("dy"), true, true, bias);
            g.assertGradient("dx", d.dx(), GRAD_TOL);
            g.assertGradient("dw", d.dw(), GRAD_TOL);
            if (bias) g.assertGradient("db", d.db(), GRAD_TOL);
        });
    }

    // ------------------------------------------------------------------ Linear

    @TestFactory
    Stream<DynamicTest> linear() {
        return withKernels("linear", (g, k) -> {
            boolean bias = g.ints("cfg")[0] != 0;
            Tensor x = g.tensor("x"), w = g.tensor("w"), b = bias ? g.tensor("b") : null;
            g.assertForward("y", Linear.forward(k, x, w, b), FORWARD_TOL);
            Linear.Grads d = Linear.backward(k, x, w, g.tensor("dy"), true, true, bias);
            g.assertGradient("dx", d.dx(), GRAD_TOL);
            g.assertGradient("dw", d.dw(), GRAD_TOL);
            if (bias) g.assertGradient("db", d.db(), GRAD_TOL);
        });
    }

    // ------------------------------------------------------------------ elementwise and shape ops

    @TestFactory
    Stream<DynamicTest> relu() {
        return plain("relu", g -> {
            Tensor x = g.tensor("x");
            g.assertForward("y", Relu.forward(x), FORWARD_TOL);
            g.assertGradient("dx", Relu.backward(Relu.Rule.GRADIENT, x, g.tensor("dy")), GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> add() {
        return plain("add", g -> {
            g.assertForward("y", Add.forward(g.tensor("a"), g.tensor("b")), FORWARD_TOL);
            Tensor[] d = Add.backward(g.tensor("dy"));
            g.assertGradient("da", d[0], GRAD_TOL);
            g.assertGradient("db", d[1], GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> flatten() {
        return plain("flatten", g -> {
            Tensor x = g.tensor("x");
            g.assertForward("y", Reshape.flatten(x, g.ints("cfg")[0]), FORWARD_TOL);
            g.assertGradient("dx", Reshape.backward(g.tensor("dy"), x.shape()), GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> reshape() {
        return plain("reshape", g -> {
            Tensor x = g.tensor("x");
            g.assertForward("y", Reshape.forward(x, g.ints("cfg")), FORWARD_TOL);
            g.assertGradient("dx", Reshape.backward(g.tensor("dy"), x.shape()), GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> concat() {
        return plain("concat", g -> {
            int[] c = g.ints("cfg");
            Tensor[] xs = new Tensor[c[1]];
            int[][] shapes = new int[c[1]][];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = g.tensor("x" + i);
                shapes[i] = xs[i].shape();
            }
            Concat cat = new Concat(c[0]);
            g.assertForward("y", cat.forward(xs), FORWARD_TOL);
            Tensor[] d = cat.backward(g.tensor("dy"), shapes);
            for (int i = 0; i < xs.length; i++) g.assertGradient("dx" + i, d[i], GRAD_TOL);
        });
    }

    // ------------------------------------------------------------------ pooling

    @TestFactory
    Stream<DynamicTest> maxPool2d() {
        return plain("maxpool2d", g -> {
            int[] c = g.ints("cfg");
            MaxPool2d pool = new MaxPool2d(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10] != 0);
            Tensor x = g.tensor("x");
            MaxPool2d.Result r = pool.forward(x);
            g.assertForward("y", r.y(), FORWARD_TOL);
            int plane = x.dim(2) * x.dim(3);
            int[] perPlane = new int[r.switches().length];
            for (int i = 0; i < perPlane.length; i++) perPlane[i] = r.switches()[i] % plane;
            g.assertInts("idx (switches % (H*W))", g.ints("idx"), perPlane);
            g.assertGradient("dx", pool.backward(g.tensor("dy"), r.switches(), x.shape()), GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> avgPool2d() {
        return plain("avgpool2d", g -> {
            int[] c = g.ints("cfg");
            AvgPool2d pool = new AvgPool2d(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8] != 0, c[9] != 0);
            Tensor x = g.tensor("x");
            g.assertForward("y", pool.forward(x), FORWARD_TOL);
            g.assertGradient("dx", pool.backward(g.tensor("dy"), x.shape()), GRAD_TOL);
        });
    }

    @TestFactory
    Stream<DynamicTest> globalAvgPool() {
        return plain("globalavgpool", g -> {
            Tensor x = g.tensor("x");
            g.assertForward("y", GlobalAvgPool.forward(x), FORWARD_TOL);
            g.assertGradient("dx", GlobalAvgPool.backward(g.tensor("dy"), x.shape()), GRAD_TOL);
        });
    }

    // ------------------------------------------------------------------ batch norm

    @TestFactory
    Stream<DynamicTest> batchNorm2d() {
        return plain("batchnorm2d", g -> {
            float[] hp = g.floats("hp");
            BatchNorm2d bn = new BatchNorm2d(hp[0], hp[1]);
            Tensor x = g.tensor("x"), gamma = g.tensor("gamma"), beta = g.tensor("beta"), dy = g.tensor("dy");
            BatchNorm2d.Grads d;
            if (g.has("running_mean")) {
                Tensor rm = g.tensor("running_mean"), rv = g.tensor("running_var");
                BatchNorm2d.TrainResult r = bn.forwardTrain(x, gamma, beta, rm, rv);
                g.assertForward("y", r.y(), FORWARD_TOL);
                g.assertForward("mean", g.floats("mean"), r.mean(), FORWARD_TOL);
                g.assertForward("invstd", g.floats("invstd"), r.invStd(), FORWARD_TOL);
                g.assertForward("running_mean_after", rm, FORWARD_TOL);
                g.assertForward("running_var_after", rv, FORWARD_TOL);
                d = bn.backwardTrain(x, gamma, dy, r.mean(), r.invStd(), true, true, true);
            } else {
                Tensor mean = g.tensor("mean"), var = g.tensor("var");
                g.assertForward("y", bn.forwardInference(x, gamma, beta, mean, var), FORWARD_TOL);
                d = bn.backwardInference(x, gamma, mean, var, dy, true, true, true);
            }
            g.assertGradient("dx", d.dx(), GRAD_TOL);
            g.assertGradient("dgamma", d.dgamma(), GRAD_TOL);
            g.assertGradient("dbeta", d.dbeta(), GRAD_TOL);
        });
    }
}
