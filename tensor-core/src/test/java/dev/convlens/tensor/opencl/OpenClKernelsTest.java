package dev.convlens.tensor.opencl;

import static dev.convlens.tensor.testing.KernelChecks.assertClose;
import static dev.convlens.tensor.testing.KernelChecks.geom;
import static dev.convlens.tensor.testing.KernelChecks.nans;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import dev.convlens.tensor.kernels.ReferenceKernels;
import dev.convlens.tensor.testing.OpenClTesting;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every OpenCL kernel against {@link ReferenceKernels}, forward and backward, on awkward shapes
 * (prime channel counts, sizes no multiple of the 64x64 GEMM tile or the 64-wide work-group,
 * stride, dilation, asymmetric pads, groups, depthwise, ceil-mode pooling with overlapping
 * windows). Outputs are pre-filled with NaN, so an element a kernel forgets to write fails. After
 * each test the kernels must report that the last launch ran on the OpenCL device.
 *
 * <p>Tolerances are those of the SIMD layer: the float sums reorder (tiles of 16, Kahan-summed batch
 * statistics), nothing more.
 */
class OpenClKernelsTest {

    final Kernels ref = new ReferenceKernels();
    OpenClKernels cl;
    long launchesBefore;

    @BeforeEach
    void kernels() {
        cl = OpenClTesting.kernels();
        launchesBefore = cl.launches();
    }

    @AfterEach
    void ranOnOpenCl() {
        if (cl == null) return;
        assertTrue(cl.launches() > launchesBefore, "the test launched no OpenCL kernel");
        assertTrue(cl.lastRanOnOpenCl(), () -> "last launch did not run on OpenCL:\n" + cl.usageReport());
    }

    /** name, n, c, h, w, k, r, s, strideH, strideW, padTop, padLeft, padBottom, padRight, dilH, dilW, groups. */
    static Stream<Arguments> convs() {
        return Stream.of(
                Arguments.of("3x3 pad 1, primes", new int[] {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}),
                Arguments.of("stride 2, asymmetric pads", new int[] {3, 5, 13, 13, 7, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, 1}),
                Arguments.of("dilation 2", new int[] {2, 7, 17, 5, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1}),
                Arguments.of("groups 2", new int[] {2, 6, 13, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}),
                Arguments.of("depthwise, stride 2", new int[] {2, 7, 13, 13, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 7}),
                Arguments.of("1x1 stride 2", new int[] {2, 5, 13, 13, 7, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1}),
                Arguments.of("7x7 stride 2 pad 3", new int[] {2, 3, 17, 17, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}),
                Arguments.of("depth 333", new int[] {1, 37, 13, 13, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
    }


    static float[] rand(long seed, int n) {
        return Tensor.uniform(seed, -1, 1, n).data;
    }


    @ParameterizedTest(name = "{0}")
    @MethodSource("convs")
    void convForwardAndBothBackwardsMatchTheReference(String name, int[] v) {
        ConvGeom g = geom(v);
        float[] x = rand(1, g.n() * g.c() * g.h() * g.w()), w = rand(2, g.k() * g.cg() * g.r() * g.s());
        float[] b = rand(3, g.k()), dy = rand(4, g.n() * g.k() * g.oh() * g.ow());
        float[] y0 = new float[dy.length], y1 = nans(dy.length);
        ref.convForward(g, x, w, b, y0);
        cl.convForward(g, x, w, b, y1);
        assertClose(name + " forward", y0, y1);
        ref.convForward(g, x, w, null, y0);
        cl.convForward(g, x, w, null, y1);
        assertClose(name + " forward, no bias", y0, y1);

        float[] dx0 = new float[x.length], dx1 = nans(x.length);
        ref.convBackwardData(g, dy, w, dx0);
        cl.convBackwardData(g, dy, w, dx1);
        assertClose(name + " backward data", dx0, dx1);

        float[] dw0 = new float[w.length], dw1 = nans(w.length), db0 = new float[g.k()], db1 = nans(g.k());
        ref.convBackwardWeights(g, x, dy, dw0, db0);
        cl.convBackwardWeights(g, x, dy, dw1, db1);
        assertClose(name + " backward weights", dw0, dw1);
        assertClose(name + " backward bias", db0, db1);
    }

    @Test
    void gemmMatchesTheReferenceForEveryTransposeWithOffsetsAndBeta() {
        int off = 5;
        for (int[] size : new int[][] {{19, 23, 37}, {70, 130, 45}}) // within one 64x64 tile; over several
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true})
                for (float beta : new float[] {0f, 0.5f}) {
                    int m = size[0], n = size[1], kk = size[2];
                    int lda = (ta ? m : kk) + 3, ldb = (tb ? kk : n) + 2, ldc = n + 1;
                    float[] a = rand(5, off + (ta ? kk : m) * lda), b = rand(6, off + (tb ? n : kk) * ldb);
                    float[] c0 = rand(7, off + m * ldc), c1 = c0.clone();
                    ref.gemm(ta, tb, m, n, kk, 1.5f, a, off, lda, b, off, ldb, beta, c0, off, ldc);
                    cl.gemm(ta, tb, m, n, kk, 1.5f, a, off, lda, b, off, ldb, beta, c1, off, ldc);
                    assertClose("gemm " + m + "x" + n + "x" + kk + " transA=" + ta + " transB=" + tb + " beta=" + beta, c0, c1);
                }
    }

    static Stream<Arguments> pools() {
        return Stream.of(
                Arguments.of("3x3 s2 p1 (ResNet), overlapping", PoolGeom.of("t", 2, 3, 11, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false)),
                Arguments.of("2x2 s2", PoolGeom.of("t", 1, 5, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false)),
                Arguments.of("ceil mode, asymmetric pads", PoolGeom.of("t", 2, 3, 7, 10, 3, 2, 2, 3, 1, 0, 0, 1, 1, 1, true)),
                Arguments.of("dilation 2", PoolGeom.of("t", 1, 2, 11, 11, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pools")
    void maxPoolForwardSwitchesAndUnpoolingMatchTheReference(String name, PoolGeom g) {
        int xs = g.n() * g.c() * g.h() * g.w(), ys = g.n() * g.c() * g.oh() * g.ow();
        float[] x = rand(8, xs);
        for (int i = 0; i < xs; i += 7) x[i] = x[i / 2]; // ties
        x[3] = Float.NaN;
        float[] y0 = new float[ys], y1 = nans(ys);
        int[] s0 = new int[ys], s1 = new int[ys];
        ref.maxPoolForward(g, x, y0, s0);
        cl.maxPoolForward(g, x, y1, s1);
        assertArrayEquals(y0, y1, name + " forward: a max is one of the inputs, exactly");
        assertArrayEquals(s0, s1, name + " switches");
        float[] dy = rand(9, ys), dx0 = new float[xs], dx1 = nans(xs);
        ref.maxPoolBackward(g, dy, s0, dx0);
        cl.maxPoolBackward(g, dy, s0, dx1);
        assertClose(name + " unpooling", dx0, dx1);
    }

    @Test
    void reluUnderEachRuleAndAddMatchTheReference() {
        int n = 1000;
        float[] x = rand(10, n), dy = rand(11, n);
        x[0] = 0f;
        x[1] = Float.NaN;
        float[] y0 = new float[n], y1 = nans(n);
        ref.reluForward(x, y0);
        cl.reluForward(x, y1);
        assertArrayEquals(y0, y1, "relu forward");
        boolean[][] rules = {{true, false}, {false, true}, {true, true}}; // gradient, deconvnet, guided
        for (boolean[] r : rules) {
            float[] dx0 = new float[n], dx1 = nans(n);
            ref.reluBackward(x, dy, dx0, r[0], r[1]);
            cl.reluBackward(x, dy, dx1, r[0], r[1]);
            assertArrayEquals(dx0, dx1, "relu backward, forward mask " + r[0] + ", signal mask " + r[1]);
        }
        float[] s0 = new float[n], s1 = nans(n);
        ref.add(x, dy, s0);
        cl.add(x, dy, s1);
        assertArrayEquals(s0, s1, "add");
    }

    @Test
    void batchNormTrainingAndInferenceForwardAndBackwardMatchTheReference() {
        int n = 3, c = 5, hw = 37, size = n * c * hw;
        float[] x = rand(12, size), dy = rand(13, size), gamma = rand(14, c), beta = rand(15, c);
        for (int i = 0; i < size; i++) x[i] = 3f + 2f * x[i]; // mean away from 0
        float[][] r0 = {new float[size], new float[c], new float[c], new float[c]};
        float[][] r1 = {nans(size), nans(c), nans(c), nans(c)};
        ref.batchNormTrainForward(n, c, hw, 1e-5f, x, gamma, beta, r0[0], r0[1], r0[2], r0[3]);
        cl.batchNormTrainForward(n, c, hw, 1e-5f, x, gamma, beta, r1[0], r1[1], r1[2], r1[3]);
        String[] what = {"y", "mean", "invStd", "var"};
        for (int i = 0; i < 4; i++) assertClose("bn train forward " + what[i], r0[i], r1[i]);

        float[] dx0 = new float[size], dx1 = nans(size), dg0 = new float[c], dg1 = nans(c), db0 = new float[c], db1 = nans(c);
        ref.batchNormTrainBackward(n, c, hw, x, gamma, dy, r0[1], r0[2], dx0, dg0, db0);
        cl.batchNormTrainBackward(n, c, hw, x, gamma, dy, r0[1], r0[2], dx1, dg1, db1);
        assertClose("bn train backward dx", dx0, dx1);
        assertClose("bn train backward dgamma", dg0, dg1);
        assertClose("bn train backward dbeta", db0, db1);

        float[] mean = rand(16, c), var = rand(17, c);
        for (int i = 0; i < c; i++) var[i] = 0.5f + var[i] * var[i];
        float[] y0 = new float[size], y1 = nans(size);
        ref.batchNormInferenceForward(n, c, hw, 1e-5f, x, null, beta, mean, var, y0);
        cl.batchNormInferenceForward(n, c, hw, 1e-5f, x, null, beta, mean, var, y1);
        assertClose("bn inference forward (gamma null)", y0, y1);
        Arrays.fill(dx1, Float.NaN);
        Arrays.fill(dg1, Float.NaN);
        Arrays.fill(db1, Float.NaN);
        ref.batchNormInferenceBackward(n, c, hw, 1e-5f, x, gamma, mean, var, dy, dx0, dg0, db0);
        cl.batchNormInferenceBackward(n, c, hw, 1e-5f, x, gamma, mean, var, dy, dx1, dg1, db1);
        assertClose("bn inference backward dx", dx0, dx1);
        assertClose("bn inference backward dgamma", dg0, dg1);
        assertClose("bn inference backward dbeta", db0, db1);
    }

    @Test
    void theKernelsSayWhereTheyRan() {
        float[] y = new float[3];
        cl.add(new float[] {1, 2, 3}, new float[] {4, 5, 6}, y);
        assertArrayEquals(new float[] {5, 7, 9}, y);
        assertTrue(cl.name().startsWith("opencl(") && cl.name().contains(cl.device().getName().trim()), cl.name());
        String report = cl.usageReport();
        assertTrue(report.contains(ClProgram.class.getSimpleName()) && report.contains(cl.device().getShortDescription()),
                "Aparapi's device-usage report names the program and the OpenCL device:\n" + report);
    }
}
