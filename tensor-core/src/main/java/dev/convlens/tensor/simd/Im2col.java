package dev.convlens.tensor.simd;

import static dev.convlens.tensor.simd.Gemm.MR;
import static dev.convlens.tensor.simd.Gemm.NR;
import static dev.convlens.tensor.simd.Gemm.S;
import static dev.convlens.tensor.simd.Gemm.VL;

import dev.convlens.tensor.kernels.ConvGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * The im2col matrix of one image and one group, read and written one GEMM panel at a time,
 * never stored whole.
 *
 * <p>{@code col (cg*r*s, oh*ow)}: row {@code q = (c*r + ry)*s + sx}, column {@code p = oy*ow + ox}
 * holds {@code x[c, oy*strideH - padTop + ry*dilH, ox*strideW - padLeft + sx*dilW]} (0 outside).
 * Convolution forward is {@code y_g = w_g * col}, backward-data is {@code dx_g = col2im(w_g^T * dy_g)},
 * backward-weights is {@code dw_g = dy_g * col^T}. The columns of a panel cover at most a few
 * output rows; along one output row with stride 1 the input pixels are contiguous, so a panel row
 * is copied with whole-vector moves, the padding lanes blended to zero (stride 2: the even lanes
 * of two vectors). Two common cases go further ({@link #shifts}, {@link #phased}): when the output
 * is as wide as the input (stride 1, 3x3 pad 1) a tap shifts the whole plane, so a panel row is
 * one contiguous copy with the padding lanes cleared; with stride 2 and half the width (ResNet's
 * conv1 and layer2.0-4.0) the same holds on the input's four phase planes, split once per call.
 * Backward-data of the stem adds its columns back the same way, into dx's phase planes ({@link #col2imPhased}).
 */
final class Im2col {
    private Im2col() {}

    private static final FloatVector ZERO = FloatVector.zero(S);
    /** Lane l holds the int {@code 1 << l} (as a float's bits): ANDed with a set of lanes as bits, it tells the lanes in the set. */
    private static final IntVector LANE_BIT;

    static {
        float[] bits = new float[VL];
        for (int l = 0; l < VL; l++) bits[l] = Float.intBitsToFloat(1 << l);
        LANE_BIT = (IntVector) FloatVector.fromArray(S, bits, 0).reinterpretAsInts();
    }
    /** (0, 1, ..., VL-1) as floats. */
    private static final FloatVector IOTA = FloatVector.zero(S).addIndex(1);
    /** (0, 2, ..., 2*VL-2) as floats. */
    private static final FloatVector IOTA2 = FloatVector.zero(S).addIndex(2);
    /** 0, 4, 8, ...: input column offsets of stride-4 lanes. */
    private static final FloatVector IOTA4 = FloatVector.zero(S).addIndex(4);
    /** Lane i takes lane 2i mod VL: the even lanes of a vector, in its lower half and again in its upper half. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> (2 * i) % VL);
    /** The upper half of the lanes. */
    private static final VectorMask<Float> UPPER = S.indexInRange(-VL / 2, VL / 2);

    /** 1x1, stride 1, no padding: col is x itself, row q = channel q. */
    static boolean pointwise(ConvGeom g) {
        return g.r() == 1 && g.s() == 1 && g.strideH() == 1 && g.strideW() == 1
                && g.padTop() == 0 && g.padLeft() == 0 && g.padBottom() == 0 && g.padRight() == 0;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(v, hi));
    }

    // ---------------------------------------------------------------- forward: B = col

    /**
     * Packs the B micro-panel {@code col[q0 .. q0+kc)[p0 .. p0+nr)} into {@code dst (kc, NR)}
     * (columns past nr are zero; dst needs VL floats of slack after the panel). {@code xc} is
     * the offset of the group's first channel of the image in {@code x}.
     */
    static void packPanel(ConvGeom g, float[] x, int xc, int q0, int kc, int p0, int nr, float[] dst) {
        packPanel(g, x, xc, q0, kc, p0, nr, dst, 0);
    }

    /**
     * As above, into {@code dst[dOff ..)}. When {@link #phased}, {@code x} holds the phase planes
     * ({@link #splitPhases}) and {@code xc} is the offset of the group's first channel there.
     */
    static void packPanel(ConvGeom g, float[] x, int xc, int q0, int kc, int p0, int nr, float[] dst, int dOff) {
        int h = g.h(), w = g.w(), ow = g.ow(), r = g.r(), s = g.s();
        int sh = g.strideH(), sw = g.strideW(), pt = g.padTop(), pl = g.padLeft(), dh = g.dilH(), dw = g.dilW();
        if (pointwise(g)) {
            for (int q = 0; q < kc; q++) {
                Gemm.copy(x, xc + (q0 + q) * h * w + p0, dst, dOff + q * NR, nr);
                if (nr < NR) Gemm.zero(dst, dOff + q * NR + nr, NR - nr);
            }
            return;
        }
        if (shifts(g) || phased(g)) {
            shiftedPanel(g, x, xc, q0, kc, p0, nr, dst, dOff);
            return;
        }
        int sx = q0 % s, ry = (q0 / s) % r, c = q0 / (r * s);
        int oyStart = p0 / ow, oxStart = p0 % ow;
        for (int q = 0; q < kc; q++) {
            row(g, x, xc + c * h * w, ry, sx, oyStart, oxStart, nr, dst, dOff + q * NR);
            if (nr < NR) Gemm.zero(dst, dOff + q * NR + nr, NR - nr);
            if (++sx == s) {
                sx = 0;
                if (++ry == r) {
                    ry = 0;
                    c++;
                }
            }
        }
    }

    /**
     * {@link #packPanel} of the panel of pixels {@code [p0, p0+nr)} counted over the whole batch
     * (image {@code p / pix}, pixel {@code p % pix}; {@code pix >= nr}, so at most two images), for
     * a batch whose images' pixels do not fill whole panels (ResNet's 14x14 and 7x7 maps: 196 and
     * 49 pixels would take 7 and 2 panels of 32 per image). The first image's part is packed into
     * dst as usual; the second's into {@code scratch} (at its offset NR, with the same slack), and
     * then blended into dst's columns from the first part's width on, each panel row read from
     * scratch shifted by that width (its columns past the second part are zero, as dst's must be).
     * {@code imgFloats} is the floats of one image in x (its channels).
     */
    static void packPanelAcross(ConvGeom g, float[] x, int imgFloats, int q0, int kc, int p0, int nr, float[] dst,
                                float[] scratch) {
        int pix = g.oh() * g.ow(), img = p0 / pix, first = Math.min(nr, pix - p0 % pix);
        packPanel(g, x, img * imgFloats, q0, kc, p0 % pix, first, dst, 0);
        if (first == nr) return;
        packPanel(g, x, (img + 1) * imgFloats, q0, kc, 0, nr - first, scratch, NR);
        VectorMask<Float> lo = IOTA.compare(VectorOperators.GE, (float) first);        // lanes j >= first
        VectorMask<Float> hi = IOTA.compare(VectorOperators.GE, (float) (first - VL));  // lanes VL + j >= first
        for (int q = 0, d = 0, s = NR - first; q < kc; q++, d += NR, s += NR) {
            FloatVector.fromArray(S, dst, d).blend(FloatVector.fromArray(S, scratch, s), lo).intoArray(dst, d);
            FloatVector.fromArray(S, dst, d + VL).blend(FloatVector.fromArray(S, scratch, s + VL), hi).intoArray(dst, d + VL);
        }
    }

    /**
     * One im2col row, {@code len} pixels of it from output pixel (oy0, ox0) on: the kernel tap
     * (ry, sx) over the input plane at {@code xch}, into {@code dst[d .. d+len)}, which needs VL
     * floats of slack after it (whole-vector stores run past, and the caller writes those
     * floats later). The pixels are cut into runs along output rows.
     */
    private static void row(ConvGeom g, float[] x, int xch, int ry, int sx, int oy0, int ox0, int len,
                            float[] dst, int d) {
        int h = g.h(), w = g.w(), ow = g.ow();
        int sh = g.strideH(), sw = g.strideW(), pt = g.padTop(), pl = g.padLeft(), dh = g.dilH(), dw = g.dilW();
        for (int j = 0, oy = oy0, ox = ox0; j < len; oy++, ox = 0) {
            int run = Math.min(ow - ox, len - j);
            int iy = oy * sh - pt + ry * dh;
            if (iy < 0 || iy >= h) {
                for (int t = 0; t < run; t += VL) ZERO.intoArray(dst, d + j + t);
            } else {
                int xrow = xch + iy * w, ix0 = ox * sw - pl + sx * dw;
                if (sw == 1) {
                    copyRow(x, xrow, ix0, w, run, dst, d + j);
                } else if (sw == 2) {
                    copyRowStride2(x, xrow, ix0, w, run, dst, d + j);
                } else if (sw == 4) {
                    copyRowStride4(x, xrow, ix0, w, run, dst, d + j);
                } else {
                    for (int t = 0; t < run; t++) {
                        int ix = ix0 + t * sw;
                        dst[d + j + t] = ix >= 0 && ix < w ? x[xrow + ix] : 0f;
                    }
                }
            }
            j += run;
        }
    }

    /** Stride 1 and an output as wide as the input (3x3 pad 1, 5x5 pad 2): every tap shifts the whole plane (see shiftedPanel). */
    static boolean shifts(ConvGeom g) {
        return g.strideH() == 1 && g.strideW() == 1 && g.ow() == g.w();
    }

    /**
     * Stride 2 with an output as wide as half the input, rounded up (3x3 pad 1, 7x7 pad 3 over even
     * sizes: ResNet's conv1 and layer2.0-4.0; not 1x1, which reads a quarter of x): on the four phase planes
     * {@code P_ab[i][j] = x[2i + a][2j + b]} ({@link #splitPhases}) every tap is a shift of one plane,
     * as with {@link #shifts} (see {@link #shiftedPanel}).
     */
    static boolean phased(ConvGeom g) {
        return g.strideH() == 2 && g.strideW() == 2 && g.ow() == (g.w() + 1) / 2 && g.r() * g.s() > 1;
    }

    /** Floats of one channel's four phase planes, each {@code ceil(h/2) x ceil(w/2)} ({@link Phases#unpadded}). */
    static int phaseFloats(ConvGeom g) {
        return 4 * Phases.unpadded(g).size();
    }

    /**
     * The layout of {@link #phased}'s phase planes, {@code P_ab[i][j] = x[2i+a][2j+b]}, each
     * {@code ceil(h/2) x ceil(w/2)} ({@code 0} past an odd edge) after {@code top} rows and {@code left}
     * columns of zeros, {@code rows x cols} in all. {@link #unpadded}: for im2col, which handles the borders
     * itself ({@link #shiftedPanel}); {@link #of}: borders wide enough that every tap of every output pixel
     * reads inside them, for the forward that reads its B panels there in place ({@link #readsInPlace}).
     */
    record Phases(int top, int left, int rows, int cols) {
        static Phases unpadded(ConvGeom g) {
            return new Phases(0, 0, (g.h() + 1) / 2, (g.w() + 1) / 2);
        }

        static Phases of(ConvGeom g) {
            int top = -(-g.padTop() >> 1), left = -(-g.padLeft() >> 1);   // >> 1 rounds down: the most negative shift
            int rows = top + Math.max((g.h() + 1) / 2, g.oh() + ((g.r() - 1 - g.padTop()) >> 1));
            int cols = left + Math.max((g.w() + 1) / 2, g.ow() + ((g.s() - 1 - g.padLeft()) >> 1));
            return new Phases(top, left, rows, cols);
        }

        /** Floats of one padded plane. */
        int size() {
            return rows * cols;
        }
    }

    /**
     * Whether the forward reads B in place from {@link Phases} ({@link Gemm#kernelColumnsAt}): {@link #phased}
     * with no dilation, one group, and output rows of whole vectors, so each of a panel's two vectors of
     * pixels lies in one output row (ResNet-18's conv1: 112 = 7 VL; its stride-2 3x3 layers have 28, 14, 7).
     */
    static boolean readsInPlace(ConvGeom g) {
        return phased(g) && g.dilH() == 1 && g.dilW() == 1 && g.groups() == 1 && g.ow() % VL == 0;
    }

    /**
     * The phase planes of input planes {@code [pl0, pl1)} (image-major: plane {@code img*c + ch}) in the
     * layout {@code f}: plane pl's four at {@code dst[pl*4*size ..)}, {@code P_ab[i][j]} at
     * {@code (2a+b)*size + (top+i)*cols + left+j}, the borders and what lies past an odd edge zero (written
     * each call: the buffer is shared). A row splits into its even and odd columns with vector shuffles.
     */
    static void splitPhases(ConvGeom g, Phases f, float[] x, int pl0, int pl1, float[] dst) {
        int h = g.h(), w = g.w(), h2 = (h + 1) / 2, w2 = (w + 1) / 2, size = f.size(), cols = f.cols();
        boolean sides = cols > w2;                                                   // columns left or right of the plane
        for (int pl = pl0; pl < pl1; pl++) {
            int d = pl * 4 * size;
            for (int ph = 0; ph < 4; ph++) {
                int at = d + ph * size;
                Gemm.zero(dst, at, f.top() * cols);                                  // the top rows
                for (int i = f.top(); i < f.top() + h2 && sides; i++) {              // each row's borders
                    Gemm.zero(dst, at + i * cols, f.left());
                    Gemm.zero(dst, at + i * cols + f.left() + w2, cols - f.left() - w2);
                }
                Gemm.zero(dst, at + (f.top() + h2) * cols, (f.rows() - f.top() - h2) * cols);   // the bottom rows
                if ((h & 1) != 0 && ph >= 2) Gemm.zero(dst, at + (f.top() + h2 - 1) * cols + f.left(), w2);
                if ((w & 1) != 0 && (ph & 1) != 0)
                    for (int i = 0; i < h2; i++) dst[at + (f.top() + i) * cols + f.left() + w2 - 1] = 0f;
            }
            for (int iy = 0; iy < h; iy++) {
                int at = d + (iy & 1) * 2 * size + (f.top() + (iy >> 1)) * cols + f.left(), row = pl * h * w + iy * w;
                Elementwise.splitEvenOdd(x, row, w / 2, dst, at, dst, at + size);
                if ((w & 1) != 0) dst[at + w2 - 1] = x[row + w - 1];
            }
        }
    }

    /**
     * Where im2col row q (input channel c, tap (ry, sx)) of output pixel 0 lies in {@link Phases}: the plane of
     * the tap's parities, shifted by half the tap's offsets (rounded down), from channel 0's planes.
     * Pixel (oy, ox) of that row is {@code offs[q] + oy*cols + ox}.
     */
    static void tapOffsets(ConvGeom g, Phases f, int[] offs) {
        int r = g.r(), s = g.s(), taps = r * s;
        for (int q = 0; q < g.c() * taps; q++) {
            int dy = q / s % r - g.padTop(), dx = q % s - g.padLeft();
            offs[q] = q / taps * 4 * f.size() + ((dy & 1) * 2 + (dx & 1)) * f.size()
                    + (f.top() + (dy >> 1)) * f.cols() + f.left() + (dx >> 1);
        }
    }

    /**
     * {@link #packPanel} when {@link #shifts} or {@link #phased}: pixel {@code p = oy*ow + ox} of a
     * tap reads {@code plane[p + off]}, {@code off = rowShift*ow + colShift}, where its row and column
     * lie inside the plane. Stride 1: the plane is the channel's, {@code rowShift = ry*dilH - padTop},
     * {@code colShift = sx*dilW - padLeft}; stride 2: the phase plane of the tap's parities, shifted by
     * half of those (rounded down). So a panel row is one contiguous copy of NR floats (with ow = 7 or
     * 14 the run-by-run copy of {@link #row} spends most of its time on one short vector per output
     * row). The lanes to zero depend only on the tap: pixels whose input row is outside the plane,
     * the first or last columns of each output row whose input column is outside (the copy read the
     * neighbouring row there), and the lanes past nr. They are found once per tap, as bits, and
     * cleared after each copy.
     */
    private static void shiftedPanel(ConvGeom g, float[] x, int xc, int q0, int kc, int p0, int nr, float[] dst, int dOff) {
        boolean phased = !shifts(g);
        int ph = phased ? (g.h() + 1) / 2 : g.h(), pw = g.ow(), size = ph * pw;   // the plane: pw == ow either way
        int chan = phased ? 4 * size : size, taps = g.r() * g.s(), q1 = q0 + kc;
        for (int tap = 0; tap < taps; tap++) {
            int first = q0 + Math.floorMod(tap - q0, taps);        // the first row >= q0 of this tap
            if (first >= q1) continue;
            int dy = tap / g.s() * g.dilH() - g.padTop(), dx = tap % g.s() * g.dilW() - g.padLeft();
            int rowShift = phased ? dy >> 1 : dy, colShift = phased ? dx >> 1 : dx;   // >> 1 rounds down
            int off = (phased ? ((dy & 1) * 2 + (dx & 1)) * size : 0) + rowShift * pw + colShift;
            // lane j (pixel p0 + j) is kept if its input row and column are inside the plane
            long keep = lanes((-rowShift) * pw - p0, (ph - rowShift) * pw - p0, nr);
            int left = -colShift, right = colShift;                // columns lost at each end of an output row
            if (left > 0 || right > 0)
                for (int rowStart = -(p0 % pw); rowStart < nr; rowStart += pw)
                    keep &= ~lanes(rowStart, rowStart + left, nr) & ~lanes(rowStart + pw - right, rowStart + pw, nr);
            long zero = ~keep & lanes(0, NR, NR);                   // lane j set: dst lane j is 0
            // a tap with several rows here blends its zero lanes in, one mask per vector (blendRows:
            // layer4 at batch 16, shiftedPanel 8.4% -> 3.8% of samples); with a few rows (conv1: 49
            // taps, 3 rows each per K block) making the masks costs more than a store per lane
            if (q1 - first > 3 * taps && zero != 0) {
                blendRows(x, xc, chan, off, p0, taps, first, q1, q0, zero, dst, dOff);
                continue;
            }
            for (int q = first; q < q1; q += taps) {
                int src = xc + q / taps * chan + off + p0, d = dOff + (q - q0) * NR;
                if (src >= 0 && src + NR <= x.length) {
                    for (int t = 0; t < NR; t += VL) FloatVector.fromArray(S, x, src + t).intoArray(dst, d + t);
                    for (long z = zero; z != 0; z &= z - 1) dst[d + Long.numberOfTrailingZeros(z)] = 0f;
                } else {                                            // the array's first or last floats: lane by lane
                    for (int j = 0; j < NR; j++) dst[d + j] = (zero >>> j & 1) != 0 ? 0f : x[src + j];
                }
            }
        }
    }

    /**
     * {@link #shiftedPanel}'s rows of one tap, {@code q = first, first + taps, ... < q1}, with the
     * lanes set in {@code zero} blended to 0 by two masks made once (a method of its own: masks that
     * may be null in the caller's loop would reach {@code blend} as a phi, which C2 leaves to the
     * lane-by-lane Java fallback: layer4 at batch 16 ran 16 -> 23 ms that way). The masks come from
     * {@link #LANE_BIT} and a compare, on the floats' bits: {@code VectorMask.fromLong} is not compiled
     * to vector instructions on JDK 17 (it fills a boolean array: ~20 ns a mask against ~2.5, ad hoc).
     */
    private static void blendRows(float[] x, int xc, int chan, int off, int p0, int taps, int first, int q1, int q0,
                                  long zero, float[] dst, int dOff) {
        VectorMask<Integer> z0 = LANE_BIT.and((int) zero).compare(VectorOperators.NE, 0),
                z1 = LANE_BIT.and((int) (zero >>> VL)).compare(VectorOperators.NE, 0);
        for (int q = first; q < q1; q += taps) {
            int src = xc + q / taps * chan + off + p0, d = dOff + (q - q0) * NR;
            if (src >= 0 && src + NR <= x.length) {
                ((FloatVector) ((IntVector) FloatVector.fromArray(S, x, src).reinterpretAsInts()).blend(0, z0)
                        .reinterpretAsFloats()).intoArray(dst, d);
                ((FloatVector) ((IntVector) FloatVector.fromArray(S, x, src + VL).reinterpretAsInts()).blend(0, z1)
                        .reinterpretAsFloats()).intoArray(dst, d + VL);
            } else {                                                // the array's first or last floats: lane by lane
                for (int j = 0; j < NR; j++) dst[d + j] = (zero >>> j & 1) != 0 ? 0f : x[src + j];
            }
        }
    }

    /** Bits lo .. hi-1 of a long, the range cut to [0, n) (n <= 64). */
    private static long lanes(int lo, int hi, int n) {
        lo = Math.max(lo, 0);
        hi = Math.min(hi, n);
        if (hi <= lo) return 0;
        return (hi == 64 ? -1L : (1L << hi) - 1) & -(1L << lo);
    }

    /**
     * {@link #row} when {@link #shifts} (see {@link #shiftedPanel}): pixels {@code [p0, p0+len)},
     * {@code p0 = oy0*w + ox0}, of tap (ry, sx) as one contiguous copy of the shifted plane, then
     * the padding zeroed: the pixels whose input row lies outside (a prefix and a suffix) and the
     * border columns of each output row. For the long runs of backward-weights (a K block of pixels).
     */
    private static void shiftedRun(ConvGeom g, float[] x, int xch, int ry, int sx, int oy0, int ox0, int len,
                                   float[] dst, int d) {
        int h = g.h(), w = g.w(), p0 = oy0 * w + ox0;
        int rowShift = ry * g.dilH() - g.padTop(), colShift = sx * g.dilW() - g.padLeft(), off = rowShift * w + colShift;
        // inside the plane's rows, and inside the plane's floats (the border columns may read past it)
        int lo = Math.min(p0 + len, Math.max(p0, Math.max(-rowShift * w, -off)));
        int hi = Math.max(lo, Math.min(p0 + len, Math.min((h - rowShift) * w, h * w - off)));
        Gemm.zero(dst, d, lo - p0);
        if (hi > lo) Gemm.copy(x, xch + lo + off, dst, d + lo - p0, hi - lo);
        Gemm.zero(dst, d + hi - p0, p0 + len - hi);
        int left = Math.max(0, -colShift), right = Math.max(0, colShift);
        if (left + right == 0) return;
        for (int rowStart = oy0 * w; rowStart < hi; rowStart += w) {
            for (int p = Math.max(lo, rowStart), e = Math.min(hi, rowStart + left); p < e; p++) dst[d + p - p0] = 0f;
            for (int p = Math.max(lo, rowStart + w - right), e = Math.min(hi, rowStart + w); p < e; p++) dst[d + p - p0] = 0f;
        }
    }

    /**
     * {@code dst[d+t] = 0 <= ix0+t < w ? x[row+ix0+t] : 0} for {@code t < len}, whole vectors at a
     * time and without branches on the padding: each vector is loaded unmasked (where it lies
     * inside x) and its lanes outside the row are blended to zero by comparing their column with
     * [0, w). The last store may run up to VL-1 floats past {@code d+len} (the caller's buffer
     * has that slack, and overwrites those floats afterwards).
     */
    private static void copyRow(float[] x, int row, int ix0, int w, int len, float[] dst, int d) {
        for (int t = 0; t < len; t += VL) {
            int s = row + ix0 + t;
            VectorMask<Float> inside = inside(IOTA, ix0 + t, w);
            if (s >= 0 && s + VL <= x.length) {
                ZERO.blend(FloatVector.fromArray(S, x, s), inside).intoArray(dst, d + t);
            } else {
                stridedLanes(x, row, ix0 + t, 1, w, dst, d + t);
            }
        }
    }

    /**
     * {@code dst[d+t] = 0 <= ix0+2t < w ? x[row+ix0+2t] : 0} for {@code t < len}: as
     * {@link #copyRow}, reading two vectors of x and keeping their even lanes ({@link #evens}),
     * with the same slack after {@code d+len}.
     */
    private static void copyRowStride2(float[] x, int row, int ix0, int w, int len, float[] dst, int d) {
        for (int t = 0; t < len; t += VL) {
            int s = row + ix0 + 2 * t;
            VectorMask<Float> inside = inside(IOTA2, ix0 + 2 * t, w);
            if (s >= 0 && s + 2 * VL <= x.length) {
                FloatVector even = evens(FloatVector.fromArray(S, x, s), FloatVector.fromArray(S, x, s + VL));
                ZERO.blend(even, inside).intoArray(dst, d + t);
            } else {
                stridedLanes(x, row, ix0 + 2 * t, 2, w, dst, d + t);
            }
        }
    }

    /**
     * The same for stride 4 (AlexNet's 11x11/4 stem): four vectors of x, every fourth lane kept
     * (the evens of the evens). Its own method rather than a stride parameter: no vector value then
     * merges two paths (a merge is where C2 may box a vector); an A/B of the two forms on ResNet's
     * stride-2 layer2.ds could not tell them apart on this host (0.17-0.26 ms either way).
     */
    private static void copyRowStride4(float[] x, int row, int ix0, int w, int len, float[] dst, int d) {
        for (int t = 0; t < len; t += VL) {
            int s = row + ix0 + 4 * t;
            VectorMask<Float> inside = inside(IOTA4, ix0 + 4 * t, w);
            if (s >= 0 && s + 4 * VL <= x.length) {
                FloatVector v = evens(evens(FloatVector.fromArray(S, x, s), FloatVector.fromArray(S, x, s + VL)),
                        evens(FloatVector.fromArray(S, x, s + 2 * VL), FloatVector.fromArray(S, x, s + 3 * VL)));
                ZERO.blend(v, inside).intoArray(dst, d + t);
            } else {
                stridedLanes(x, row, ix0 + 4 * t, 4, w, dst, d + t);
            }
        }
    }

    /** The lanes whose input column {@code first + iota[lane]} lies in {@code [0, w)}. */
    private static VectorMask<Float> inside(FloatVector iota, int first, int w) {
        FloatVector col = iota.add((float) first);
        return col.compare(VectorOperators.GE, 0f).and(col.compare(VectorOperators.LT, (float) w));
    }

    /** One vector's lanes near the end of x, one at a time: {@code dst[d+u] = x[row + ix]}, {@code ix = ix0 + sw*u} inside [0, w), else 0. */
    private static void stridedLanes(float[] x, int row, int ix0, int sw, int w, float[] dst, int d) {
        for (int u = 0; u < VL; u++) {
            int ix = ix0 + sw * u;
            dst[d + u] = ix >= 0 && ix < w ? x[row + ix] : 0f;
        }
    }

    /** The even lanes of {@code lo} then those of {@code hi}: lanes 0, 2, ... of the 2*VL floats lo:hi. */
    private static FloatVector evens(FloatVector lo, FloatVector hi) {
        return lo.rearrange(EVEN).blend(hi.rearrange(EVEN), UPPER);
    }

    /**
     * Whether backward-data adds into dx's phase planes ({@link #col2imPhased}): {@link #phased}, output
     * rows of at least 2 NR pixels (the stem: ResNet's conv1, 112; ConvBench conv1 1 thread 3.9 ->
     * 3.1 ms; on the 28-14-7 pixel rows of layer2.0-4.0 it gained nothing, and the rows' padding would
     * double to octuple the buffer), and the taps' column shifts within the rows' padding: at least
     * -VL, at most VL + 1.
     */
    static boolean phasedCol2im(ConvGeom g) {
        int first = -g.padLeft() >> 1, last = (g.s() - 1) * g.dilW() - g.padLeft() >> 1;
        return phased(g) && g.ow() >= 2 * NR && first >= -VL && last <= VL + 1;
    }

    /** Row length of dx's phase planes in backward-data: {@code ceil(w/2)} floats, VL of padding before them and 2 VL after. */
    private static int paddedRow(ConvGeom g) {
        return (g.w() + 1) / 2 + 3 * VL;
    }

    /** Floats of one channel's four phase planes in backward-data's layout ({@link #col2imPhased}). */
    static int paddedPhaseFloats(ConvGeom g) {
        return 4 * ((g.h() + 1) / 2) * paddedRow(g);
    }

    /**
     * Writes input planes {@code [pl0, pl1)} of {@code dx} from their phase planes in {@code src}
     * (the layout of {@link #col2imPhased}): {@code dx[2i+a][2j+b] = P_ab[i][j]}; what lies past an
     * odd edge, and the padding, is dropped. A row is woven from its even and odd columns with
     * vector shuffles ({@link Elementwise#mergeEvenOdd}).
     */
    static void mergePhases(ConvGeom g, float[] src, int pl0, int pl1, float[] dx) {
        int h = g.h(), w = g.w(), stride = paddedRow(g), size = (h + 1) / 2 * stride;
        for (int pl = pl0; pl < pl1; pl++) {
            int d = pl * 4 * size + VL;
            for (int iy = 0; iy < h; iy++) {
                int at = d + (iy & 1) * 2 * size + (iy >> 1) * stride, row = pl * h * w + iy * w;
                Elementwise.mergeEvenOdd(src, at, src, at + size, w / 2, dx, row);
                if ((w & 1) != 0) dx[row + w - 1] = src[at + w / 2];
            }
        }
    }

    /**
     * {@link #col2imPanel} when {@link #phased}, into dx's phase planes: the transpose of
     * {@link #shiftedPanel}. Tap (ry, sx) adds output pixel {@code (oy, ox)} to its phase plane at
     * {@code (oy + rowShift, ox + colShift)}, so the part of a panel row on one output row is one
     * run of whole-vector adds into one plane row. Each plane row ({@code ceil(w/2)} floats) has VL
     * floats of padding before it and 2 VL after ({@link #paddedPhaseFloats}: channel after channel,
     * the four planes of a channel in phase order): the columns a tap pushes past the edge, and the
     * lanes of the last vector past the run (added as 0), land there or in the run's own row, never
     * in a row another task owns (when {@link #phasedCol2im}). {@code dxc} is the block's first
     * channel in {@code dxp}; {@code col} needs VL floats of slack after its last row.
     */
    static void col2imPhased(ConvGeom g, float[] col, int rows, int p0, int nr, float[] dxp, int dxc) {
        int ow = g.ow(), ph = (g.h() + 1) / 2, stride = paddedRow(g), size = ph * stride, taps = g.r() * g.s();
        int oyStart = p0 / ow, oxStart = p0 % ow, channels = rows / taps;
        // column taps outermost: taps adding into one plane row come 2*r*channels rows apart, not 2, so an
        // add's load does not overlap a store (a column away) still in flight (one ConvBench run: 3.3 -> 3.0 ms, near noise)
        for (int sx = 0; sx < g.s(); sx++)
        for (int ry = 0; ry < g.r(); ry++)
        for (int c = 0; c < channels; c++) {
            int q = (c * g.r() + ry) * g.s() + sx;
            int dy = ry * g.dilH() - g.padTop(), dx = sx * g.dilW() - g.padLeft();
            int rowShift = dy >> 1, colShift = dx >> 1;           // >> 1 rounds down
            int plane = dxc + c * 4 * size + ((dy & 1) * 2 + (dx & 1)) * size + VL + colShift, src = q * NR;
            for (int j = 0, oy = oyStart, ox = oxStart; j < nr; oy++, ox = 0) {
                int len = Math.min(ow - ox, nr - j), iy = oy + rowShift;
                if (iy >= 0 && iy < ph) {
                    int at = plane + iy * stride + ox;
                    for (int t = 0; t < len; t += VL) {      // lanes past the run add 0, without a branch (vectors merged from two branches have kept C2 from intrinsifying stores: Winograd)
                        FloatVector v = ZERO.blend(FloatVector.fromArray(S, col, src + j + t), IOTA.compare(VectorOperators.LT, (float) (len - t)));
                        FloatVector.fromArray(S, dxp, at + t).add(v).intoArray(dxp, at + t);
                    }
                }
                j += len;
            }
        }
    }

    // ---------------------------------------------------------------- backward-weights: B = col^T

    /**
     * Channels {@code [0, nc)} of one image ({@code nc <= NR} planes of {@code h x w}, {@code plane} floats
     * apart from {@code src[off]}) laid channel-last on a grid of {@code gh x gw} cells at
     * {@code dst[dOff ..)}, {@code NR} floats a cell: the pixel (y, x) goes to cell
     * {@code (y + top)*gw + x + left}; cells outside the image, the lanes of channels past nc and
     * {@code extra} cells after the grid are 0. Each image row is one {@link Gemm#packB} (VL x VL
     * transposes, the row's last w % VL pixels one by one: a last block overlapping the one before it
     * measured the same). Backward-weights' shifted grids ({@code SimdKernels.backwardWeightsShifted}).
     */
    static void channelsLast(float[] src, int off, int plane, int nc, int h, int w, int gh, int gw, int top, int left,
                             int extra, float[] dst, int dOff) {
        int right = gw - left - w;
        Gemm.zero(dst, dOff, (top * gw + left) * NR);                                   // rows above, the first row's left pad
        for (int y = 0; y < h; y++) {
            int d = dOff + ((y + top) * gw + left) * NR;
            Gemm.packB(src, off + y * w, 1, plane, w, nc, dst, d);
            Gemm.zero(dst, d + w * NR, (y + 1 < h ? right + left : right) * NR);        // this row's right pad, the next one's left
        }
        int end = (gh * gw + extra) * NR, done = (top + h) * gw * NR;
        Gemm.zero(dst, dOff + done, end - done);                                        // rows below, the extra cells
    }

    /** Lanes [VL/2, VL): the second of two cells of MR floats in a vector (when MR = VL/2). */
    private static final VectorMask<Float> SECOND_CELL = S.indexInRange(-VL / 2, VL / 2);

    /**
     * As {@link #channelsLast} on the grid (h rows, {@code gw >= w} columns, no padding above or left),
     * but in slices of MR channels {@code slice} floats apart, MR floats a cell: the layout of packed A
     * panels ({@link Gemm#packA}), up to NR/MR slices for channels [0, nc). Each VL pixels of a row are
     * transposed into {@code t (VL, NR)} by {@link Gemm#packB}; with MR = VL/2 two cells of a slice go out
     * as one vector (the first cell's lanes blended with the next row of t read MR floats early).
     */
    static void channelSlices(float[] src, int off, int plane, int nc, int h, int w, int gw, int slice,
                              float[] dst, int dOff, float[] t) {
        int slices = (nc + MR - 1) / MR;
        for (int y = 0; y < h; y++) {
            for (int x0 = 0; x0 < w; x0 += VL) {
                int np = Math.min(VL, w - x0), cell = y * gw + x0;
                Gemm.packB(src, off + y * w + x0, 1, plane, np, nc, t, 0);
                int pairs = 2 * MR == VL ? np / 2 : 0;
                for (int sl = 0; sl < slices; sl++) {
                    int d = dOff + sl * slice + cell * MR;
                    for (int j = 0; j < pairs; j++) {
                        int r = 2 * j * NR + sl * MR;
                        FloatVector.fromArray(S, t, r).blend(FloatVector.fromArray(S, t, r + NR - MR), SECOND_CELL)
                                .intoArray(dst, d + 2 * j * MR);
                    }
                    for (int j = 2 * pairs; j < np; j++) System.arraycopy(t, j * NR + sl * MR, dst, d + j * MR, MR);
                }
            }
            for (int sl = 0; sl < slices; sl++) Gemm.zero(dst, dOff + sl * slice + (y * gw + w) * MR, (gw - w) * MR);
        }
    }

    /**
     * Packs the B micro-panel {@code col^T[p0 .. p0+kc)[q0 .. q0+nr)} (pixels down, im2col rows
     * across) into {@code dst[dOff..)} as (kc, NR); columns past nr are zero. The nr im2col rows are first
     * written with vector moves into {@code rows (NR, kc)} (plus VL floats of slack), then
     * transposed with gathers: {@code dst[p][jj] = rows[jj][p]}, VL columns at a time.
     * {@code gather (NR)} is scratch for the lane offsets. Pixels past the image's last run on into
     * the next images ({@code imgFloats} further in x each), so a K block may span the batch.
     */
    static void packPanelTransposed(ConvGeom g, float[] x, int xc, int imgFloats, int p0, int kc, int q0, int nr,
                                    float[] dst, int dOff, float[] rows, int[] gather) {
        int h = g.h(), w = g.w(), ow = g.ow(), r = g.r(), s = g.s(), pix = g.oh() * ow;
        int sx = q0 % s, ry = (q0 / s) % r, c = q0 / (r * s);
        boolean shifts = shifts(g);
        for (int jj = 0; jj < nr; jj++) {
            // the run of this im2col row, one image at a time; row()'s spills land on later pieces or rows
            for (int done = 0, img = 0, at = p0; done < kc; done += Math.min(kc - done, pix - at), img++, at = 0) {
                int len = Math.min(kc - done, pix - at), xch = xc + img * imgFloats + c * h * w;
                if (shifts) shiftedRun(g, x, xch, ry, sx, at / ow, at % ow, len, rows, jj * kc + done);
                else row(g, x, xch, ry, sx, at / ow, at % ow, len, rows, jj * kc + done);
            }
            if (++sx == s) {
                sx = 0;
                if (++ry == r) {
                    ry = 0;
                    c++;
                }
            }
        }
        if (nr < NR) Gemm.zero(rows, nr * kc, (NR - nr) * kc);
        for (int jj = 0; jj < NR; jj++) gather[jj] = jj * kc;
        for (int p = 0; p < kc; p++) {
            FloatVector.fromArray(S, rows, p, gather, 0).intoArray(dst, dOff + p * NR);
            FloatVector.fromArray(S, rows, p, gather, VL).intoArray(dst, dOff + p * NR + VL);
        }
    }

    // ---------------------------------------------------------------- backward-data: col2im

    /**
     * Adds a column panel back into the image: {@code dx[...] += col[q][p0 + j]} for rows
     * {@code q < rows} (row q of the panel is im2col row q counted from channel {@code dxc}'s plane)
     * and {@code j < nr}. {@code col (rows, NR)} is row-major with row length NR. Only the
     * touched floats of dx are read and written (other threads own the neighbouring planes).
     */
    static void col2imPanel(ConvGeom g, float[] col, int rows, int p0, int nr, float[] dx, int dxc) {
        int h = g.h(), w = g.w(), ow = g.ow(), r = g.r(), s = g.s();
        int sh = g.strideH(), sw = g.strideW(), pt = g.padTop(), pl = g.padLeft(), dh = g.dilH(), dw = g.dilW();
        int oyStart = p0 / ow, oxStart = p0 % ow;
        int sx = 0, ry = 0, c = 0;
        for (int q = 0; q < rows; q++) {
            int src = q * NR, xch = dxc + c * h * w;
            for (int j = 0, oy = oyStart, ox = oxStart; j < nr; oy++, ox = 0) {
                int len = Math.min(ow - ox, nr - j);
                int iy = oy * sh - pt + ry * dh;
                if (iy >= 0 && iy < h) {
                    int xrow = xch + iy * w, ix0 = ox * sw - pl + sx * dw;
                    if (sw == 1) {
                        int lo = clamp(-ix0, 0, len), hi = clamp(w - ix0, lo, len);
                        Gemm.addInto(col, src + j + lo, dx, xrow + ix0 + lo, hi - lo);
                    } else {
                        // the t with 0 <= ix0 + t*sw < w, found once: no test per element
                        int lo = ix0 >= 0 ? 0 : (-ix0 + sw - 1) / sw;
                        int hi = ix0 >= w ? 0 : Math.min(len, (w - 1 - ix0) / sw + 1);
                        for (int t = lo, d = xrow + ix0 + lo * sw, e = src + j + lo; t < hi; t++, d += sw, e++) dx[d] += col[e];
                    }
                }
                j += len;
            }
            if (++sx == s) {
                sx = 0;
                if (++ry == r) {
                    ry = 0;
                    c++;
                }
            }
        }
    }
}
