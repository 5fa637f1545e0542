package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.ConvGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Winograd's minimal filtering F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016), the forwards' (a backward-data runs
 * {@link Winograd4}'s F(4x4, 3x3) where that applies: faster, and accurate enough there but not in a
 * forward, see its Javadoc): each 2x2 block of outputs of one channel
 * pair comes from a 4x4 input tile d and the 3x3 filter g as
 * <pre>
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 *
 *   Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
 *        | 0  1  1  0 |        | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
 *        | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *        | 0  1  0 -1 |        | 0    0    1  |
 * </pre>
 * 16 multiplications for 4 outputs instead of 36. Summed over the input channels, the product
 * {@code ⊙} becomes 16 independent matrix products, one per position ξ of the 4x4 transformed tile:
 * {@code M_ξ (K, tiles) = U_ξ (K, C) · V_ξ (C, tiles)} with {@code U = G g Gᵀ} (the transformed
 * weights) and {@code V = Bᵀ d B} (the transformed input tiles), which run on the GEMM engine
 * ({@link Gemm}); then {@code Y = Aᵀ M A} per tile. 2.25x fewer multiply-adds than the direct
 * convolution, and the transformed input (16 floats per 4 outputs per channel) is smaller than
 * im2col's columns (36 per 4). The transforms are additions only (G's halves are exact), so the
 * result differs from the direct sum by rounding, a few units in the last place more.
 *
 * <p>This class holds the three transforms; {@link SimdKernels} schedules them and the 16 products.
 * A chunk is a few rows of tiles of one image ({@code th = ceil(oh/2)} rows of
 * {@code tw = ceil(ow/2)} tiles); tiles reaching past the output are computed on zero padding and
 * not stored.
 * Layouts: U as packed A panels per ξ ({@code (16, ceil(K/MR), C, MR)}, {@link Gemm#packA}'s);
 * V as packed B panels per ξ ({@code (16, ceil(T/NR), C, NR)}); M row-major {@code (16, K, ldm)}.
 */
final class Winograd {
    private Winograd() {}

    /**
     * Tiles per image from which the transforms pay off (U is recomputed on every call, C*K*16
     * floats): ResNet-18's layer1 (784) and layer2 (196) at 224x224. Not 49: measured at batch 1
     * (JMH, 2026-11-26, with rows of tiles packed densely and V kept resident, code since removed),
     * ResNet-18's layer3 ran 5-20% faster per layer (two runs) but no faster within the network's
     * noise, and AlexNet's 13x13 layers (14x14 computed for 13x13) made its forward 22 -> 25 ms and
     * its saliency 54 -> 64 ms. Not layer4 (16: half a B panel, 8x8 outputs for 7x7).
     * Per image, not per call, so an image gives the same bits alone or in a batch.
     */
    static final int MIN_TILES = 128;

    /**
     * Input channels from which the transforms pay off: the output transform and the 16 products'
     * stores cost per output channel and tile whatever C is, while the products shrink with C. Ad hoc,
     * 3x3 to 64 channels at batch 16 over 112x112 (2 threads, medians of 30 calls), Winograd against
     * direct: 3 input channels 15.3 against 5.7 ms, 8 15.9 / 15.2, 16 19.5 / 22.4, 32 29.8 / 40.7; VGG-16's
     * conv1_1 at batch 1 (3 channels, 224x224) 5.9 against 1.7 ms.
     */
    static final int MIN_CHANNELS = 16;

    /**
     * True for the convolutions F(2x2, 3x3) computes here: 3x3, stride 1, no dilation, one group, padding at
     * most 2, at least {@value #MIN_CHANNELS} input channels and {@value #MIN_TILES} tiles per image.
     */
    static boolean applies(ConvGeom g) {
        return shapeFits(g) && g.c() >= MIN_CHANNELS && tilesH(g) * tilesW(g) >= MIN_TILES;
    }

    /** 3x3, stride 1, no dilation, one group, padding at most 2, an output of at least 2x2: what both Winograd variants compute. */
    static boolean shapeFits(ConvGeom g) {
        return g.groups() == 1 && g.r() == 3 && g.s() == 3 && g.strideH() == 1 && g.strideW() == 1 && g.dilH() == 1
                && g.dilW() == 1 && g.padTop() <= 2 && g.padLeft() <= 2 && g.padBottom() <= 2 && g.padRight() <= 2
                && g.oh() >= 2 && g.ow() >= 2;
    }

    static int tilesH(ConvGeom g) {
        return (g.oh() + 1) / 2;
    }

    static int tilesW(ConvGeom g) {
        return (g.ow() + 1) / 2;
    }

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int VL = Gemm.VL;
    /**
     * {@code U_ξ = G g Gᵀ} for the output channels of packed panels p0..p1-1 (all input channels),
     * into packed A panels: ξ's panels start at {@code ξ * uStride}, element (k, c) at
     * {@code (k/MR)*C*MR + c*MR + k%MR}; rows past K are zero. Scalar: per filter 9 loads and 16
     * stores, each ξ's stores running along its panel.
     *
     * <p>{@code flipped}: g is the forward form of a backward-data (SimdKernels.backwardDataAsForward)
     * and w the weights of the convolution it differentiates, {@code (C_g, K_g, 3, 3)}: filter (k, c)
     * of g is w's filter (c, k) with its nine taps reversed, read from there instead of from a
     * flipped copy (one pass over the weights fewer; the same values, so the same bits).
     */
    static void transformWeights(ConvGeom g, float[] w, boolean flipped, int p0, int p1, float[] u, int uStride) {
        int c = g.c(), k = g.k(), mr = Gemm.MR;
        // filter (k, c) at (k*kStride + c*cStride)*9; its tap 0 at first, the taps step apart
        int kStride = flipped ? 1 : c, cStride = flipped ? k : 1, first = flipped ? 8 : 0, step = flipped ? -1 : 1;
        for (int panel = p0; panel < p1; panel++) {
            int k0 = panel * mr;
            for (int ci = 0; ci < c; ci++) {
                int at = k0 * c + ci * mr;
                for (int lane = 0; lane < mr; lane++) {
                    int d = at + lane;
                    if (k0 + lane >= k) {
                        for (int xi = 0; xi < 16; xi++) u[d + xi * uStride] = 0f;
                        continue;
                    }
                    int o = ((k0 + lane) * kStride + ci * cStride) * 9 + first;
                    float g00 = w[o], g01 = w[o + step], g02 = w[o + 2 * step], g10 = w[o + 3 * step], g11 = w[o + 4 * step];
                    float g12 = w[o + 5 * step], g20 = w[o + 6 * step], g21 = w[o + 7 * step], g22 = w[o + 8 * step];
                    // G g: rows (g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2); then each row (a, b, c) Gᵀ = (a, (a+b+c)/2, (a-b+c)/2, c)
                    float h0 = 0.5f * (g00 + g10 + g20), h1 = 0.5f * (g01 + g11 + g21), h2 = 0.5f * (g02 + g12 + g22);
                    float l0 = 0.5f * (g00 - g10 + g20), l1 = 0.5f * (g01 - g11 + g21), l2 = 0.5f * (g02 - g12 + g22);
                    u[d] = g00;
                    u[d + uStride] = 0.5f * (g00 + g01 + g02);
                    u[d + 2 * uStride] = 0.5f * (g00 - g01 + g02);
                    u[d + 3 * uStride] = g02;
                    u[d + 4 * uStride] = h0;
                    u[d + 5 * uStride] = 0.5f * (h0 + h1 + h2);
                    u[d + 6 * uStride] = 0.5f * (h0 - h1 + h2);
                    u[d + 7 * uStride] = h2;
                    u[d + 8 * uStride] = l0;
                    u[d + 9 * uStride] = 0.5f * (l0 + l1 + l2);
                    u[d + 10 * uStride] = 0.5f * (l0 - l1 + l2);
                    u[d + 11 * uStride] = l2;
                    u[d + 12 * uStride] = g20;
                    u[d + 13 * uStride] = 0.5f * (g20 + g21 + g22);
                    u[d + 14 * uStride] = 0.5f * (g20 - g21 + g22);
                    u[d + 15 * uStride] = g22;
                }
            }
        }
    }

    /** Per-task rows of the input transform: the even and odd columns of the four input rows (VL of slack: lanes past tw feed only tile places no output reads). */
    static final class Scratch {
        final float[][] e = new float[4][], o = new float[4][];
        final float[] lanes = new float[2 * VL];
        /** One zero-padded input row: room for the vectors that split it (2 VL per VL tiles, tw + 1 of them). */
        final float[] r;

        Scratch(int tw) {
            int n = (tw + 1 + VL - 1) / VL * VL;   // tile places rounded up to vectors
            for (int i = 0; i < 4; i++) {
                e[i] = new float[n + VL];
                o[i] = new float[n + VL];
            }
            r = new float[2 * n];
        }
    }

    /**
     * {@code V = Bᵀ d B} of the tiles in rows ty0..ty1-1 of input channel {@code ci} of image
     * {@code img}, written into the packed B panels of each ξ ({@code vStride} apart): the chunk's
     * tile t at panel {@code t/NR}, element (ci, t%NR), panel size {@code C*NR}. Tiles are numbered
     * {@code t = (ty - ty0) * rowTiles + tx}, rows padded to {@link #rowTiles} so VL tiles never
     * straddle a panel.
     *
     * <p>Per row of tiles: the four input rows, zero-padded, split into even and odd columns
     * ({@code E[x] = row[2x - padLeft]}, {@code O[x] = row[2x + 1 - padLeft]}), so tile x reads the
     * columns {@code (E[x], O[x], E[x+1], O[x+1])}; then VL tiles at once: Bᵀ d combines the rows
     * {@code (r0 - r2, r1 + r2, r2 - r1, r1 - r3)}, {@code (·) B} the columns the same way. (One
     * method with no vector crossing a call, so C2 keeps every vector in registers.)
     */
    static void transformInput(ConvGeom g, float[] x, int img, int ci, int ty0, int ty1, float[] v, int vStride, Scratch s) {
        int th = tilesH(g), tw = tilesW(g), rt = rowTiles(g), h = g.h(), wd = g.w(), pl = g.padLeft(), nr = Gemm.NR;
        int xOff = (img * g.c() + ci) * h * wd, panelSize = g.c() * nr;
        for (int ty = ty0; ty < ty1; ty++) {
            // rows 2ty-padTop .. +3; the first two are the last two of the previous row of tiles
            for (int i = 0; i < 4; i++) {
                if (ty > ty0 && i < 2) {
                    float[] te = s.e[i], to = s.o[i];
                    s.e[i] = s.e[i + 2];
                    s.o[i] = s.o[i + 2];
                    s.e[i + 2] = te;
                    s.o[i + 2] = to;
                    continue;
                }
                split(x, xOff, 2 * ty - g.padTop() + i, h, wd, pl, tw, s.r, s.e[i], s.o[i]);
            }
            int t0 = (ty - ty0) * rt;
            for (int q = 0; q < tw; q += VL) {
                int t = t0 + q, d = (t / nr) * panelSize + ci * nr + t % nr;
                for (int i = 0; i < 4; i++) {
                    // row i of Bᵀ d is row P ± row Q: (r0 - r2, r1 + r2, r2 - r1, r1 - r3). The rows are
                    // chosen as arrays, not as vectors: vectors merged from branches (phis) sometimes
                    // kept C2 from intrinsifying the stores below (then they ran as Java loops).
                    int pr = i == 0 ? 0 : i == 2 ? 2 : 1, qr = i == 0 || i == 1 ? 2 : i == 2 ? 1 : 3;
                    FloatVector sign = FloatVector.broadcast(S, i == 1 ? 1f : -1f);
                    float[] ep = s.e[pr], eq = s.e[qr], op = s.o[pr], oq = s.o[qr];
                    // the tiles' columns: A = E[x], B = O[x], C = E[x+1], D = O[x+1]
                    FloatVector a = FloatVector.fromArray(S, eq, q).fma(sign, FloatVector.fromArray(S, ep, q));
                    FloatVector b = FloatVector.fromArray(S, oq, q).fma(sign, FloatVector.fromArray(S, op, q));
                    FloatVector c = FloatVector.fromArray(S, eq, q + 1).fma(sign, FloatVector.fromArray(S, ep, q + 1));
                    FloatVector dd = FloatVector.fromArray(S, oq, q + 1).fma(sign, FloatVector.fromArray(S, op, q + 1));
                    // (·) B: (a - c, b + c, c - b, b - d) as ξ = 4i .. 4i+3
                    int at = 4 * i * vStride + d;
                    a.sub(c).intoArray(v, at);
                    b.add(c).intoArray(v, at + vStride);
                    c.sub(b).intoArray(v, at + 2 * vStride);
                    b.sub(dd).intoArray(v, at + 3 * vStride);
                }
            }
        }
    }

    /**
     * Input row iy of the plane at xOff, zero-padded ({@code r[j] = row[j - padLeft]}), split into its
     * even and odd columns {@code e[q] = r[2q]}, {@code o[q] = r[2q + 1]} for q = 0..tw ({@link Elementwise#splitEvenOdd}).
     */
    private static void split(float[] x, int xOff, int iy, int h, int wd, int pl, int tw, float[] r, float[] e, float[] o) {
        java.util.Arrays.fill(r, 0f);
        if (iy >= 0 && iy < h) System.arraycopy(x, xOff + iy * wd, r, pl, Math.min(wd, r.length - pl));
        Elementwise.splitEvenOdd(r, 0, tw + 1, e, o);
    }

    /**
     * Tile places per row of tiles: {@code tilesW} rounded up to VL, so a vector of VL tiles stays
     * inside one B panel (NR = 2 VL). The places past tilesW hold values of no tile, which the
     * products carry to columns of M that no output reads.
     */
    static int rowTiles(ConvGeom g) {
        return (tilesW(g) + VL - 1) / VL * VL;
    }

    /**
     * {@code Y = Aᵀ M A} for output channel k of image {@code img}, tile rows ty0..ty1-1, from
     * {@code M_ξ[k][t]} at {@code m[ξ*mStride + k*ldm + t]}, VL tiles at once: Aᵀ M combines
     * the rows {@code (m0 + m1 + m2, m1 - m2 - m3)}, {@code (·) A} the columns the same way; each
     * output row's even and odd columns are interleaved and
     * {@code y = act(fma(Y + b, scale, shift) + res)} applied as {@link Gemm#storeTile} does (a
     * row's short tail through {@code lanes}, scalar).
     */
    static void transformOutput(ConvGeom g, float[] m, int mStride, int ldm, int img, int k, int ty0, int ty1, float[] b,
                                Gemm.Epilogue ep, float[] y, float[] lanes) {
        int th = tilesH(g), tw = tilesW(g), rt = rowTiles(g), oh = g.oh(), ow = g.ow();
        float bias = b == null ? 0f : b[k];
        float[] scale = ep == null ? null : ep.scale(), shift = ep == null ? null : ep.shift();
        float[] res = ep == null ? null : ep.res();
        boolean relu = ep != null && ep.relu(), affine = scale != null;
        float sc = scale == null ? 1f : scale[k], sh = scale == null ? 0f : shift[k];
        int yOff = (img * g.k() + k) * oh * ow;
        for (int ty = ty0; ty < ty1; ty++) {
            int t0 = (ty - ty0) * rt, rows = Math.min(2, oh - 2 * ty);
            for (int q = 0; q < tw; q += VL) {
                int at = k * ldm + t0 + q, col = 2 * q, row0 = yOff + 2 * ty * ow;
                for (int hr = 0; hr < rows; hr++) {
                    // m_ij = M_ξ for ξ = 4i + j. Aᵀ M row 0 = m0j + m1j + m2j, row 1 = m1j - m2j - m3j:
                    // row hr = m_hr,j + sign * (m_hr+1,j + m_hr+2,j), the rows chosen by offset, not as
                    // vectors merged from branches (phis), which sometimes kept C2 from intrinsifying the stores
                    FloatVector sign = FloatVector.broadcast(S, hr == 0 ? 1f : -1f);
                    int a0 = at + 4 * hr * mStride, a1 = a0 + 4 * mStride, a2 = a1 + 4 * mStride;
                    FloatVector r0 = FloatVector.fromArray(S, m, a1).add(FloatVector.fromArray(S, m, a2))
                            .fma(sign, FloatVector.fromArray(S, m, a0));
                    FloatVector r1 = FloatVector.fromArray(S, m, a1 + mStride).add(FloatVector.fromArray(S, m, a2 + mStride))
                            .fma(sign, FloatVector.fromArray(S, m, a0 + mStride));
                    FloatVector r2 = FloatVector.fromArray(S, m, a1 + 2 * mStride).add(FloatVector.fromArray(S, m, a2 + 2 * mStride))
                            .fma(sign, FloatVector.fromArray(S, m, a0 + 2 * mStride));
                    FloatVector r3 = FloatVector.fromArray(S, m, a1 + 3 * mStride).add(FloatVector.fromArray(S, m, a2 + 3 * mStride))
                            .fma(sign, FloatVector.fromArray(S, m, a0 + 3 * mStride));
                    // then (·) A: even r0 + r1 + r2, odd r1 - r2 - r3
                    store(r0.add(r1).add(r2), r1.sub(r2).sub(r3), y, row0 + hr * ow + col, ow - col, lanes);
                }
            }
            epilogue(y, yOff + 2 * ty * ow, ow, bias, affine, sc, sh, res, relu);
            if (2 * ty + 1 < oh) epilogue(y, yOff + (2 * ty + 1) * ow, ow, bias, affine, sc, sh, res, relu);
        }
    }

    /** Interleaves the even and odd output columns into y at {@code at}, n of them room left in the row (the rest through lanes). */
    private static void store(FloatVector even, FloatVector odd, float[] y, int at, int n, float[] lanes) {
        FloatVector lo = even.rearrange(Elementwise.INTERLEAVE_LO).blend(odd.rearrange(Elementwise.INTERLEAVE_LO), Elementwise.ODD_LANES);
        FloatVector hi = even.rearrange(Elementwise.INTERLEAVE_HI).blend(odd.rearrange(Elementwise.INTERLEAVE_HI), Elementwise.ODD_LANES);
        boolean whole = n >= 2 * VL;                     // one pair of store sites for both cases: fewer C2 nodes
        float[] dst = whole ? y : lanes;
        int off = whole ? at : 0;
        lo.intoArray(dst, off);
        hi.intoArray(dst, off + VL);
        if (!whole) System.arraycopy(lanes, 0, y, at, n);
    }

    /** {@code y = act(fma(y + b, scale, shift) + res)} over one output row of n values at {@code at}, as {@link Gemm#storeTile} applies it. */
    private static void epilogue(float[] y, int at, int n, float bias, boolean affine, float sc, float sh, float[] res, boolean relu) {
        int i = 0;
        for (; i + VL <= n; i += VL) {
            FloatVector v = FloatVector.fromArray(S, y, at + i).add(bias);
            if (affine) v = v.fma(sc, sh);
            if (res != null) v = v.add(FloatVector.fromArray(S, res, at + i));
            if (relu) v = v.max(0f);
            v.intoArray(y, at + i);
        }
        for (; i < n; i++) {
            float v = y[at + i] + bias;
            if (affine) v = Math.fma(v, sc, sh);
            if (res != null) v += res[at + i];
            y[at + i] = relu ? Math.max(v, 0f) : v;
        }
    }
}
