package dev.convlens.tensor.oracle;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.ops.Conv2d;
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
}
