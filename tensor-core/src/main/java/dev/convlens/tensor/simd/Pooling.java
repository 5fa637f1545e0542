package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling on planes p0..p1 for {@link SimdKernels}, the reference's bits (first maximum in
 * row-major window order wins, a NaN always takes the place). Three paths, by window:
 * <ul>
 *   <li>3x3 windows of stride 2 inside the input (ResNet's stem pool): VL outputs at once. Each
 *       input row is split into its even and odd columns, so the window taps of VL consecutive
 *       outputs are VL consecutive values of one of the two; the nine taps are taken in window
 *       order with a compare and two blends (value and switch, the switch as a float) each. A
 *       row's last outputs that do not fill a vector are one more vector ending at the last
 *       inside window, overlapping the previous one (its outputs written twice, the same values):
 *       done one at a time they took 40% of the pool's time (56 outputs a row, 7 of them left);</li>
 *   <li>other 3x3 windows inside the input: one output at a time, each tap a select;</li>
 *   <li>windows touching the padding, and other shapes: the reference window.</li>
 * </ul>
 */
final class Pooling {
    private Pooling() {}

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int VL = Gemm.VL;

    /** Rows split into even and odd columns, for one task; sized for a plane width on first use. */
    static final class Rows {
        float[][] e = new float[3][0], o = new float[3][0];
        int[] ey = {-1, -1, -1};                            // the input row each slot holds
        final float[][] taps = new float[9][];              // stemRow: each window tap's split row,
        final int[] shift = new int[9], rel = new int[9];   // its offset in it, and its index in the plane (less 2 ox)
        final float[] lanes = new float[VL];                // stemRow: a vector of switches before they become ints

        void fit(int n) {
            if (e[0].length >= n) return;
            for (int i = 0; i < 3; i++) {
                e[i] = new float[n];
                o[i] = new float[n];
            }
        }
    }

    static void maxPool(PoolGeom g, float[] x, float[] y, int[] switches, int p0, int p1, Rows rows) {
        int h = g.h(), w = g.w(), oh = g.oh(), ow = g.ow(), kh = g.kernelH(), dh = g.dilH();
        boolean three = g.kernelW() == 3 && g.dilW() == 1;
        boolean stem = three && kh == 3 && dh == 1 && g.strideW() == 2 && (long) h * w < 1 << 24;
        int pl = g.padLeft();
        // outputs whose window lies inside the row: x0 = 2 ox - pl >= 0 and x0 + 2 < w
        int oxLo = stem ? (pl + 1) / 2 : 0, oxHi = stem ? Math.min(ow, (w - 3 + pl) / 2 + 1) : 0;
        if (stem) rows.fit((w + 1) / 2 + VL + 1);
        for (int p = p0; p < p1; p++) {
            int xOff = p * h * w, o = p * oh * ow;
            java.util.Arrays.fill(rows.ey, -1);
            for (int oy = 0; oy < oh; oy++, o += ow) {
                int y0 = oy * g.strideH() - g.padTop();
                boolean rowsInside = three && y0 >= 0 && y0 + (kh - 1) * dh < h;
                int vecEnd = oxLo;
                if (rowsInside && stem && oxHi - oxLo >= VL) {
                    vecEnd = oxLo + (oxHi - oxLo) / VL * VL;
                    stemRow(x, xOff, w, y0, pl, oxLo, vecEnd, y, switches, o, rows);
                    if (vecEnd < oxHi) {                   // the rest as one more vector, overlapping: the same values again
                        stemRow(x, xOff, w, y0, pl, oxHi - VL, oxHi, y, switches, o, rows);
                        vecEnd = oxHi;
                    }
                }
                for (int ox = 0; ox < ow; ox++) {
                    if (ox == oxLo && vecEnd > oxLo) {
                        ox = vecEnd - 1;
                        continue;
                    }
                    int x0 = ox * g.strideW() - pl;
                    if (!(rowsInside && x0 >= 0 && x0 + 2 < w)) {
                        Kernels.maxPoolWindow(g, x, xOff, oy, ox, y, switches, o + ox);
                        continue;
                    }
                    int arg = xOff + y0 * w + x0;
                    float max = x[arg];
                    for (int i = 0, row = arg; i < kh; i++, row += dh * w) {
                        float v0 = x[row], v1 = x[row + 1], v2 = x[row + 2];
                        boolean t0 = v0 > max || v0 != v0;
                        max = t0 ? v0 : max;
                        arg = t0 ? row : arg;
                        boolean t1 = v1 > max || v1 != v1;
                        max = t1 ? v1 : max;
                        arg = t1 ? row + 1 : arg;
                        boolean t2 = v2 > max || v2 != v2;
                        max = t2 ? v2 : max;
                        arg = t2 ? row + 2 : arg;
                    }
                    y[o + ox] = max;
                    switches[o + ox] = arg;
                }
            }
        }
    }

    /** 0, 2, 4, ... as floats: the columns of VL stride-2 windows' first taps. */
    private static final FloatVector LANE2 = FloatVector.fromArray(S, evens(), 0);

    private static float[] evens() {
        float[] v = new float[VL];
        for (int l = 0; l < VL; l++) v[l] = 2 * l;
        return v;
    }

    /**
     * Outputs ox0..ox1-1 (a multiple of VL, windows inside the input) of the output row at o, VL at a
     * time. The switches are carried as floats, indices within the plane (exact below 2^24, which
     * maxPool checks), so the value and the switch take the same float mask: Vector API calls that
     * C2 on JDK 17 compiles to single instructions (an int vector blended with a cast mask, and
     * {@code test(IS_NAN)}, ran as boxed library code there: 10% of a ResNet-18 forward, JFR).
     */
    private static void stemRow(float[] x, int xOff, int w, int y0, int pl, int ox0, int ox1, float[] y, int[] switches,
                                int o, Rows rows) {
        int s0 = slot(rows, y0, x, xOff, w), s1 = slot(rows, y0 + 1, x, xOff, w), s2 = slot(rows, y0 + 2, x, xOff, w);
        float[][] taps = rows.taps;
        int[] shift = rows.shift, rel = rows.rel;
        for (int t = 0; t < 9; t++) {
            int i = t / 3, j = t % 3, s = i == 0 ? s0 : i == 1 ? s1 : s2;
            int parity = ((j - pl) % 2 + 2) % 2;          // column 2 ox - pl + j: even columns from e, odd from o
            taps[t] = parity == 0 ? rows.e[s] : rows.o[s];
            shift[t] = (j - pl - parity) / 2;
            rel[t] = (y0 + i) * w - pl + j;               // its index in the plane, less 2 ox
        }
        float[] lanes = rows.lanes;
        for (int ox = ox0; ox < ox1; ox += VL) {
            // tap (0, 0) starts the maximum; then the other eight in window order
            FloatVector max = FloatVector.fromArray(S, taps[0], ox + shift[0]);
            FloatVector arg = LANE2.add(rel[0] + 2 * ox);
            for (int t = 1; t < 9; t++) {
                FloatVector v = FloatVector.fromArray(S, taps[t], ox + shift[t]);
                VectorMask<Float> take = v.compare(VectorOperators.GT, max).or(v.compare(VectorOperators.NE, v));
                max = max.blend(v, take);
                arg = arg.blend(LANE2.add(rel[t] + 2 * ox), take);
            }
            max.intoArray(y, o + ox);
            arg.intoArray(lanes, 0);
            for (int l = 0; l < VL; l++) switches[o + ox + l] = xOff + (int) lanes[l];
        }
    }

    /** The slot of rows holding input row iy split into even and odd columns, splitting it now if none does. */
    private static int slot(Rows rows, int iy, float[] x, int xOff, int w) {
        for (int s = 0; s < 3; s++) if (rows.ey[s] == iy) return s;
        int s = 0;                                            // replace the slot with the lowest row
        for (int t = 1; t < 3; t++) if (rows.ey[t] < rows.ey[s]) s = t;
        float[] e = rows.e[s], o = rows.o[s];
        int at = xOff + iy * w;
        Elementwise.splitEvenOdd(x, at, w / 2, e, o);
        if (w % 2 != 0) {                                     // the last column has no odd partner
            e[w / 2] = x[at + w - 1];
            o[w / 2] = 0f;
        }
        rows.ey[s] = iy;
        return s;
    }
}
