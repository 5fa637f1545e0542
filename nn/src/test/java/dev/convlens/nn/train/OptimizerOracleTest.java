package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SGD (plain, momentum with weight decay, dampening, Nesterov), Adam and AdamW against
 * {@code torch.optim} (oracle_optim.py): the same parameters and gradients, four steps with a
 * learning rate that changes between steps, the parameters after every step; and StepLR and
 * CosineAnnealingLR over 12 epochs.
 */
class OptimizerOracleTest {
    /**
     * Relative L2 error of the parameters after each step. Both sides do the same float32
     * operations in the same order; what remains is the rounding of a few operations (fused or
     * not, sqrt), ~1e-7 relative.
     */
    static final double TOL = 1e-6;
    /** Schedules: PyTorch's CosineAnnealingLR is recursive in double, ours the closed form. */
    static final double LR_TOL = 1e-6;
    static final int STEPS = 4;
    /** SGD runs its update through the kernels (split over 2 threads where the tensors are long enough). */
    static final Kernels K = Backend.select("simd", 2);

    static Map<String, Supplier<Optimizer>> optimizers() {
        Map<String, Supplier<Optimizer>> m = new LinkedHashMap<>();
        m.put("sgd", () -> new Sgd(0, 0, false));
        m.put("sgd_momentum_wd", () -> new Sgd(0.9, 1e-3, false));
        m.put("sgd_dampening", () -> new Sgd(0.8, 0.3, 0, false));
        m.put("sgd_nesterov_wd", () -> new Sgd(0.9, 5e-4, true));
        m.put("adam", Adam::adam);
        m.put("adam_wd", () -> new Adam(0.8, 0.99, 1e-6, 0.01, false));
        m.put("adamw", Adam::adamW);
        m.put("adamw_wd", () -> new Adam(0.85, 0.995, 1e-7, 0.1, true));
        return m;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgd", "sgd_momentum_wd", "sgd_dampening", "sgd_nesterov_wd", "adam", "adam_wd", "adamw", "adamw_wd"})
    void stepsAgreeWithTorchOptim(String name) {
        Path out = Oracle.get().run("oracle_optim.py");
        Golden gold = new Golden(out.resolve(name));
        Optimizer opt = optimizers().get(name).get();
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("a", gold.tensor("a0"));
        params.put("b", gold.tensor("b0"));
        for (int t = 1; t <= STEPS; t++) {
            Map<String, Tensor> grads = new LinkedHashMap<>();
            grads.put("a", gold.tensor("ga_" + t));
            grads.put("b", gold.tensor("gb_" + t));
            opt.step(K, params, grads, 0.05 / t); // the lr the script set (Python double 0.05 / t)
            assertClose(name + " step " + t + " a", gold.tensor("a_" + t).data, params.get("a").data);
            assertClose(name + " step " + t + " b", gold.tensor("b_" + t).data, params.get("b").data);
        }
        assertEquals(STEPS, opt.steps());
    }

    /** The state moves through a checkpoint: a copy loaded with it continues identically. */
    @ParameterizedTest
    @ValueSource(strings = {"sgd_nesterov_wd", "adamw_wd"})
    void stateRoundTripsThroughLoad(String name) {
        Optimizer a = optimizers().get(name).get(), b = optimizers().get(name).get();
        Map<String, Tensor> pa = Map.of("w", Tensor.uniform(1, -1, 1, 64)), pb = Map.of("w", pa.get("w").copy());
        a.step(K, pa, Map.of("w", Tensor.uniform(2, -1, 1, 64)), 0.1);
        b.load(a.state(), a.steps());
        System.arraycopy(pa.get("w").data, 0, pb.get("w").data, 0, 64);
        Tensor g = Tensor.uniform(3, -1, 1, 64);
        a.step(K, pa, Map.of("w", g), 0.1);
        b.step(K, pb, Map.of("w", g), 0.1);
        for (int i = 0; i < 64; i++) assertEquals(Float.floatToIntBits(pa.get("w").data[i]), Float.floatToIntBits(pb.get("w").data[i]));
    }

    @Test
    void schedulesAgreeWithTorch() {
        Golden gold = new Golden(Oracle.get().run("oracle_optim.py").resolve("schedules"));
        float[] step = gold.floats("step"), cosine = gold.floats("cosine");
        Schedule s = new Schedule.Step(0.1, 3, 0.1), c = new Schedule.Cosine(0.1, 10, 0.001);
        for (int e = 0; e < 12; e++) {
            assertEquals(step[e], s.lr(e), LR_TOL * 0.1, "StepLR epoch " + e);
            assertEquals(cosine[e], c.lr(e), LR_TOL * 0.1, "CosineAnnealingLR epoch " + e);
        }
    }

    static void assertClose(String what, float[] expected, float[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        double rel = Math.sqrt(num / den);
        if (Boolean.getBoolean("convlens.oracle.verbose")) System.err.printf("%s: relative L2 %.3g%n", what, rel);
        assertTrue(rel <= TOL, what + ": relative L2 error " + rel + " > " + TOL);
    }
}
