package dev.convlens.tensor.ops;

import static dev.convlens.tensor.testing.GradCheck.assertGradient;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** MaxPool2d: unpooling against central differences, and the switch conventions (padding, ties, flat indices). */
class MaxPool2dTest {
    /** Relative L2 tolerance: no switch flips, so y moves exactly with x and only float storage of L's difference remains. */
    static final double TOL = 1e-5;
    /** Step: inputs are spaced SPACING apart, so a step of a tenth of that cannot change which input is the max. */
    static final double EPS = 1e-2;
    static final float SPACING = 0.1f;

    /** A random permutation of the values (i - size/2) * SPACING: no ties, every max beats the runner-up by >= SPACING. */
    static Tensor distinct(long seed, int... shape) {
        int size = Shapes.numel("distinct", shape);
        int[] perm = new int[size];
        for (int i = 0; i < size; i++) perm[i] = i;
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = size - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        Tensor x = Tensor.zeros(shape);
        for (int i = 0; i < size; i++) x.data[i] = (perm[i] - size / 2) * SPACING;
        return x;
    }

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of("k3 s2 overlapping", new int[] {2, 3, 7, 7}, MaxPool2d.of(3, 2, 0)),
                Arguments.of("k3 s2 pad 1 ceil", new int[] {1, 2, 6, 6},
                        new MaxPool2d(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true)),
                Arguments.of("k2 s2 pad 1 ceil, last window dropped", new int[] {1, 2, 5, 5},
                        new MaxPool2d(2, 2, 2, 2, 1, 1, 1, 1, 1, 1, true)),
                Arguments.of("k3 dilation 2 pad 1", new int[] {1, 2, 7, 7},
                        new MaxPool2d(3, 3, 1, 1, 1, 1, 1, 1, 2, 2, false)),
                Arguments.of("rectangular asymmetric pads", new int[] {2, 2, 6, 5},
                        new MaxPool2d(3, 2, 2, 1, 1, 0, 0, 1, 1, 1, false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void unpoolingIsTheGradient(String name, int[] xs, MaxPool2d pool) {
        Tensor x = distinct(1, xs);
        MaxPool2d.Result r = pool.forward(x);
        Tensor u = Tensor.uniform(4, -1, 1, r.y().shape());
        Tensor dx = pool.backward(u, r.switches(), xs);
        assertGradient(name + " dx", () -> pool.forward(x).y(), x, dx, u, EPS, TOL);
    }

    @Test
    void ceilModeShapes() {
        assertArrayEquals(new int[] {1, 2, 4, 4},
                new MaxPool2d(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true).forward(distinct(1, 1, 2, 6, 6)).y().shape());
        assertArrayEquals(new int[] {1, 2, 3, 3},
                new MaxPool2d(2, 2, 2, 2, 1, 1, 1, 1, 1, 1, true).forward(distinct(1, 1, 2, 5, 5)).y().shape());
    }

    @Test
    void paddingNeverWins() {
        // all inputs negative: a zero-padded max would return 0 at the border
        float[] v = {-9, -8, -7, -6, -5, -4, -3, -2, -1};
        MaxPool2d.Result r = MaxPool2d.of(3, 1, 1).forward(Tensor.of(v, 1, 1, 3, 3));
        assertArrayEquals(new float[] {-5, -4, -4, -2, -1, -1, -2, -1, -1}, r.y().data);
        assertArrayEquals(new int[] {4, 5, 5, 7, 8, 8, 7, 8, 8}, r.switches());
    }

    @Test
    void tiesGoToTheFirstMaxInRowMajorOrder() {
        Tensor x = Tensor.zeros(1, 1, 4, 4);
        java.util.Arrays.fill(x.data, 1f);
        x.data[5] = 2f; // window (0,0) is {0,1,4,5}: 5 is the only max there
        x.data[14] = 2f; // window (1,1) is {10,11,14,15}
        x.data[15] = 2f; // tied with 14, later in row-major order
        MaxPool2d.Result r = MaxPool2d.of(2, 2, 0).forward(x);
        assertArrayEquals(new int[] {5, 2, 8, 14}, r.switches());
    }

    @Test
    void switchesAreFlatOverAllPlanes() {
        int[] xs = {2, 3, 4, 4};
        MaxPool2d.Result r = MaxPool2d.of(2, 2, 0).forward(distinct(7, xs));
        int hw = 16, ohw = 4;
        for (int o = 0; o < r.switches().length; o++) {
            int plane = o / ohw;
            int s = r.switches()[o];
            assertTrue(s >= plane * hw && s < (plane + 1) * hw, "switch " + s + " of output " + o);
        }
    }

    @Test
    void overlappingWindowsAccumulate() {
        // the centre is the max of all four 2x2 windows of a 3x3 input: it receives the sum of their gradients
        float[] v = {1, 2, 3, 4, 9, 5, 6, 7, 8};
        MaxPool2d pool = MaxPool2d.of(2, 1, 0);
        MaxPool2d.Result r = pool.forward(Tensor.of(v, 1, 1, 3, 3));
        assertArrayEquals(new int[] {4, 4, 4, 4}, r.switches());
        Tensor dx = pool.backward(Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2), r.switches(), new int[] {1, 1, 3, 3});
        assertArrayEquals(new float[] {0, 0, 0, 0, 10, 0, 0, 0, 0}, dx.data);
    }

    /**
     * The 3x3 windows that lie inside the input take a path without bounds tests in the SIMD kernels: on inputs full of
     * ties (values 0, 1, 2) and some NaNs, with and without padding, stride 1 and 2, y and the switches
     * equal those of the definition (first max in row-major order, a NaN always takes the place).
     */
    @Test
    void interiorWindowsFollowTheTieAndNanConventions() {
        SplittableRandom r = new SplittableRandom(3);
        Tensor x = Tensor.zeros(2, 3, 9, 8);
        for (int i = 0; i < x.size(); i++) x.data[i] = r.nextInt(40) == 0 ? Float.NaN : r.nextInt(3);
        for (MaxPool2d pool : new MaxPool2d[] {MaxPool2d.of(3, 1, 0), MaxPool2d.of(3, 2, 1), MaxPool2d.of(3, 1, 1),
                new MaxPool2d(2, 3, 1, 2, 1, 1, 0, 1, 1, 1, false)}) {
            MaxPool2d.Result res = pool.forward(dev.convlens.tensor.kernels.Backend.select("simd", 1), x);
            var g = pool.geometry(x.shape());
            for (int p = 0, o = 0; p < g.n() * g.c(); p++)
                for (int oy = 0; oy < g.oh(); oy++)
                    for (int ox = 0; ox < g.ow(); ox++, o++) {
                        int arg = -1;
                        for (int i = 0; i < pool.kernelH(); i++)
                            for (int j = 0; j < pool.kernelW(); j++) {
                                int iy = oy * pool.strideH() - pool.padTop() + i, ix = ox * pool.strideW() - pool.padLeft() + j;
                                if (iy < 0 || iy >= g.h() || ix < 0 || ix >= g.w()) continue;
                                int idx = (p * g.h() + iy) * g.w() + ix;
                                float v = x.data[idx];
                                if (arg < 0 || v > x.data[arg] || Float.isNaN(v)) arg = idx;
                            }
                        assertEquals(arg, res.switches()[o], pool + ": switch of output " + o);
                        assertEquals(x.data[arg], res.y().data[o], pool + ": value of output " + o);
                    }
        }
    }

    @Test
    void nanPropagates() {
        float[] v = {1, Float.NaN, 3, 4};
        MaxPool2d.Result r = MaxPool2d.of(2, 2, 0).forward(Tensor.of(v, 1, 1, 2, 2));
        assertTrue(Float.isNaN(r.y().data[0]));
        assertEquals(1, r.switches()[0]);
    }

    @Test
    void refusesBadShapesNamingThem() {
        MaxPool2d pool = MaxPool2d.of(2, 2, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pool.forward(Tensor.zeros(3, 4, 4)));
        assertTrue(e.getMessage().startsWith("MaxPool2d: ") && e.getMessage().contains("(3,4,4)"), e.getMessage());
        MaxPool2d.Result r = pool.forward(distinct(1, 1, 1, 4, 4));
        e = assertThrows(IllegalArgumentException.class,
                () -> pool.backward(Tensor.zeros(1, 1, 3, 3), r.switches(), new int[] {1, 1, 4, 4}));
        assertTrue(e.getMessage().contains("(1,1,3,3)") && e.getMessage().contains("(1,1,2,2)"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> pool.backward(Tensor.zeros(1, 1, 2, 2), new int[] {0, 1, 2, 99}, new int[] {1, 1, 4, 4}));
        assertThrows(IllegalArgumentException.class, () -> MaxPool2d.of(2, 2, 2).forward(Tensor.zeros(1, 1, 4, 4)));
    }
}
