package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling on planes p0..p1 for {@link SimdKernels}, the reference's bits (first maximum in
 * row-major window order wins, a NaN always takes the place). Three paths, by window:
 * <ul>
 *   <li>3x3 and 2x2 windows of stride 2 (ResNet's stem pool, AlexNet's and VGG's pools): VL
 *       outputs at once. Each input row is split into its even and odd columns, so the window taps
 *       of VL consecutive outputs are VL consecutive values of one of the two (2x2: one tap from
 *       each); the taps are taken in window order with a compare and
 *       two blends (value and switch, the switch as a float) each. Window rows in the padding are
 *       left out, and one column of left padding is a -inf slot before each split row (see
 *       stridedRow), so only windows cut by the right edge or by more padding go another way (done by
 *       the reference window, the padded first row and column took a quarter of the pool's time). A
 *       row's last outputs that do not fill a vector are one more vector ending at the last
 *       inside window, overlapping the previous one (its outputs written twice, the same values):
 *       done one at a time they took 40% of the pool's time (56 outputs a row, 7 of them left). A
 *       row shorter than a vector (AlexNet's second and third pools: 13 and 6 outputs) is one
 *       vector whose extra lanes the next outputs written overwrite; one at a time, their
 *       data-dependent branches cost about 38 ns an output (10 of a training step's 14 ms of pooling);</li>
 *   <li>other 3x3 windows inside the input: one output at a time, each tap written as a select
 *       (C2 compiles them to branches here: about 38 ns an output on coin-flip data);</li>
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
        final int[] ey = new int[3];                        // the input row each slot holds (maxPool sets them per plane)
        final float[][] taps = new float[9][];              // stridedRow: each window tap's split row,
        final int[] shift = new int[9], rel = new int[9];   // its offset in it, and its index in the plane (less 2 ox)
        final boolean[] odd = new boolean[9];               // whether the tap reads the odd columns (per call)
        final int[] slots = new int[3];                     // stridedRow: the slot of each window row

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
        int pl = g.padLeft(), k = g.kernelW();
        // stride-2 windows of 3x3 (ResNet, AlexNet) or 2x2 (VGG): VL outputs at a time (stridedRow)
        boolean strided = (k == 2 || k == 3) && kh == k && g.dilW() == 1 && dh == 1 && g.strideW() == 2 && pl <= MARGIN
                && (long) h * w < (1 << 23) - 64;
        // the vectors' outputs: windows inside the row (x0 = 2 ox - pl >= 0 and x0 + k - 1 < w), and with
        // one column of left padding the first window too (its padding tap reads -inf, see stridedRow)
        int oxLo = !strided ? 0 : pl == 1 ? 0 : (pl + 1) / 2, oxHi = strided ? Math.min(ow, (w - k + pl) / 2 + 1) : 0;
        if (strided) {
            rows.fit((w + 1) / 2 + 2 * VL + 2);            // room for a whole vector past a short row
            for (int t = 0; t < k * k; t++) {               // column 2 ox - pl + j: even columns from e, odd from o
                int j = t % k, parity = Math.floorMod(j - pl, 2);
                rows.odd[t] = parity == 1;
                rows.shift[t] = (j - pl - parity) / 2 + 1;  // + 1: the split rows start with their -inf slot
            }
        }
        for (int p = p0; p < p1; p++) {
            int xOff = p * h * w, o = p * oh * ow, planeEnd = o + oh * ow;
            java.util.Arrays.fill(rows.ey, Integer.MIN_VALUE);
            for (int oy = 0; oy < oh; oy++, o += ow) {
                int y0 = oy * g.strideH() - g.padTop();
                boolean rowsInside = three && y0 >= 0 && y0 + (kh - 1) * dh < h;
                // strided: the window rows inside the input, [iLo, iHi) (the padding rows are left out)
                int iLo = Math.max(0, -y0), iHi = Math.min(k, h - y0);
                int vecEnd = oxLo;
                if (strided && iLo < iHi && oxHi - oxLo >= VL) {
                    vecEnd = oxLo + (oxHi - oxLo) / VL * VL;
                    stridedRow(x, xOff, w, y0, k, iLo, iHi, pl, oxLo, vecEnd, y, switches, o, rows);
                    if (vecEnd < oxHi) {                   // the rest as one more vector, overlapping: the same values again
                        stridedRow(x, xOff, w, y0, k, iLo, iHi, pl, oxHi - VL, oxHi, y, switches, o, rows);
                        vecEnd = oxHi;
                    }
                } else if (strided && iLo < iHi && oxHi > oxLo && o + oxLo + VL <= planeEnd) {
                    // a row shorter than a vector (AlexNet's 13 and 6): one vector, whose lanes past
                    // oxHi are written over by this row's other outputs (below) and by the next rows
                    // of the plane (in order, after this one); the plane's last rows, whose vector
                    // would reach the next plane (another task's), go one output at a time
                    stridedRow(x, xOff, w, y0, k, iLo, iHi, pl, oxLo, oxLo + VL, y, switches, o, rows);
                    vecEnd = oxHi;
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

    /**
     * stridedRow carries a switch less 2 ox, {@code v >= -pl >= -MARGIN} (maxPool checks), plus 2 lane, as
     * the float {@code 2^23 + MARGIN + v + 2 lane}, below 2^24 for planes under {@code 2^23 - 64} floats
     * (maxPool checks): in [2^23, 2^24) the floats are the integers, and their bits less those of 2^23
     * are the integer less 2^23.
     */
    private static final int MARGIN = 8;
    private static final float BASE = 8388608f + MARGIN;
    private static final int BASE_BITS = Float.floatToRawIntBits(8388608f) + MARGIN;

    /** 0, 2, 4, ... as floats: the columns of VL stride-2 windows' first taps. */
    private static final FloatVector LANE2 = FloatVector.fromArray(S, evens(), 0);

    private static float[] evens() {
        float[] v = new float[VL];
        for (int l = 0; l < VL; l++) v[l] = 2 * l;
        return v;
    }

    /**
     * Outputs ox0..ox1-1 (a multiple of VL; in a row shorter than VL, the lanes past its last inside
     * window are garbage that the caller writes over) of the output row at o, VL at a time, over the window
     * rows [iLo, iHi) (those inside the input; the padding rows above or below take no part). The
     * windows lie inside the row, except the first one when one column of left padding is there
     * ({@code ox0 = 0, pl = 1}): its column -1 reads the split rows' -inf slot, which no value
     * replaces (neither greater nor NaN). Only as the first tap can it hold the place, when every
     * value of the window is -inf; then the first inside tap, next in window order, takes it, as
     * in the reference. The switches are carried as floats ({@link #BASE} plus the index within the
     * plane less 2 ox), so value and switch take the same float mask, and the switch's int is the
     * float's bits less {@link #BASE_BITS}: Vector API calls that C2 on JDK 17 compiles to single
     * instructions (an int vector blended with a cast mask, {@code test(IS_NAN)} and a float-to-int
     * {@code convert} run as boxed library code there: 10% of a ResNet-18 forward, JFR; turning the
     * floats into ints lane by lane through a float array cost a store-forwarding stall per lane).
     */
    private static void stridedRow(float[] x, int xOff, int w, int y0, int k, int iLo, int iHi, int pl, int ox0, int ox1,
                                float[] y, int[] switches, int o, Rows rows) {
        float[][] taps = rows.taps;
        int[] shift = rows.shift, rel = rows.rel;
        int t0 = k * iLo, t1 = k * iHi;
        int[] slots = rows.slots;
        for (int i = iLo; i < iHi; i++) slots[i] = slot(rows, y0 + i, x, xOff, w);
        for (int t = t0; t < t1; t++) {                    // rows.odd and shift: set once per call by maxPool
            int i = t / k, s = slots[i];
            taps[t] = rows.odd[t] ? rows.o[s] : rows.e[s];
            rel[t] = (y0 + i) * w - pl + t % k;           // its index in the plane, less 2 ox
        }
        for (int ox = ox0; ox < ox1; ox += VL) {
            // the first tap starts the maximum; then the others in window order
            FloatVector max = FloatVector.fromArray(S, taps[t0], ox + shift[t0]);
            FloatVector arg = LANE2.add(rel[t0] + BASE);
            for (int t = t0 + 1; t < t1; t++) {
                FloatVector v = FloatVector.fromArray(S, taps[t], ox + shift[t]);
                VectorMask<Float> take = v.compare(VectorOperators.GT, max).or(v.compare(VectorOperators.NE, v));
                max = max.blend(v, take);
                arg = arg.blend(LANE2.add(rel[t] + BASE), take);
            }
            max.intoArray(y, o + ox);
            ((IntVector) arg.reinterpretAsInts()).add(xOff + 2 * ox - BASE_BITS).intoArray(switches, o + ox);
        }
        int pad = xOff + rel[t0];                          // output 0's first tap when it is the padding column
        if (ox0 == 0 && pl == 1 && switches[o] == pad) {   // an all -inf window: its first inside tap
            switches[o] = pad + 1;
            y[o] = x[pad + 1];
        }
    }

    /**
     * The slot of rows holding input row iy split into even and odd columns, splitting it now if
     * none does: {@code e[1 + q] = x[iy][2q]}, {@code o[1 + q] = x[iy][2q + 1]}, and
     * {@code e[0] = o[0] = -inf} (column -1, the left padding).
     */
    private static int slot(Rows rows, int iy, float[] x, int xOff, int w) {
        for (int s = 0; s < 3; s++) if (rows.ey[s] == iy) return s;
        int s = 0;                                            // replace the slot with the lowest row
        for (int t = 1; t < 3; t++) if (rows.ey[t] < rows.ey[s]) s = t;
        float[] e = rows.e[s], o = rows.o[s];
        int at = xOff + iy * w;
        e[0] = o[0] = Float.NEGATIVE_INFINITY;
        // whole vectors, past the row's end where x goes on (the lanes past it are read by no window
        // inside the row); short rows (AlexNet's 27 and 13 columns) had most of their pairs in the scalar tail
        int pairs = w / 2, whole = (pairs + VL - 1) / VL * VL;
        Elementwise.splitEvenOdd(x, at, at + 2 * whole <= x.length ? whole : pairs, e, 1, o, 1);
        if (w % 2 != 0) {                                     // the last column has no odd partner
            e[1 + w / 2] = x[at + w - 1];
            o[1 + w / 2] = 0f;
        }
        rows.ey[s] = iy;
        return s;
    }
}
