package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.ConvGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Winograd's minimal filtering F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016): each 2x2 block of outputs of one channel
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
     * (JMH, 2026-11-26), ResNet-18's layer3 ran 10-20% faster per layer but no faster within the
     * network's noise, and AlexNet's 13x13 layers (14x14 computed for 13x13) made its forward 22 ->
     * 25 ms and its saliency 54 -> 64 ms. Not layer4 (16: half a B panel, 8x8 outputs for 7x7).
     * Per image, not per call, so an image gives the same bits alone or in a batch.
     */
    static final int MIN_TILES = 128;

    /** True for the convolutions F(2x2, 3x3) computes here: 3x3, stride 1, no dilation, one group, padding at most 2. */
    static boolean applies(ConvGeom g) {
        return g.groups() == 1 && g.r() == 3 && g.s() == 3 && g.strideH() == 1 && g.strideW() == 1
                && g.dilH() == 1 && g.dilW() == 1 && g.padTop() <= 2 && g.padLeft() <= 2 && g.padBottom() <= 2
                && g.padRight() <= 2 && g.oh() >= 2 && g.ow() >= 2
                && tilesH(g) * tilesW(g) >= MIN_TILES;
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
     * Interleaving two vectors (a0 b0 a1 b1 ...): lane L of the low half takes lane L/2 of a or b
     * (b on the odd lanes), of the high half lane VL/2 + L/2. One-vector shuffles and a blend, the
     * forms C2 compiles to single instructions.
     */
    private static final VectorShuffle<Float> HALF_LO = half(0), HALF_HI = half(VL / 2);
    private static final VectorMask<Float> ODD_LANES = oddLanes();

    private static VectorShuffle<Float> half(int from) {
        int[] idx = new int[VL];
        for (int i = 0; i < VL; i++) idx[i] = from + i / 2;
        return VectorShuffle.fromValues(S, idx);
    }

    private static VectorMask<Float> oddLanes() {
        boolean[] odd = new boolean[VL];
        for (int i = 0; i < VL; i++) odd[i] = i % 2 == 1;
        return VectorMask.fromArray(S, odd, 0);
    }

    /**
     * {@code U_ξ = G g Gᵀ} for the output channels of packed panels p0..p1-1 (all input channels),
     * into packed A panels: ξ's panels start at {@code ξ * uStride} with panel {@code uPanel0},
     * element (k, c) at {@code (k/MR - uPanel0)*C*MR + c*MR + k%MR}; rows past K are zero. Per panel, the MR filters' nine taps
     * are first copied into nine planes laid out as the panel ({@code planes[j][c*MR + k%MR]}, rows
     * of w read in order), so VL consecutive values of a plane are VL consecutive places of each
     * U_ξ: the transform then runs on vectors and stores them whole.
     * {@code planes} holds at least {@link #planeFloats} floats.
     */
    static void transformWeights(ConvGeom g, float[] w, int p0, int p1, float[] u, int uStride, int uPanel0, float[] planes,
                                 float[] tmp) {
        int c = g.c(), k = g.k(), mr = Gemm.MR, cm = c * mr, ps = cm + VL;
        for (int panel = p0; panel < p1; panel++) {
            int k0 = panel * mr;
            for (int lane = 0; lane < mr; lane++) {
                if (k0 + lane >= k) {                     // rows past K: zero
                    for (int j = 0; j < 9; j++)
                        for (int ci = 0; ci < c; ci++) planes[j * ps + ci * mr + lane] = 0f;
                    continue;
                }
                // filter row k0+lane read in order; the nine taps written out (linear indices: C2 hoists the range checks)
                for (int ci = 0, o = (k0 + lane) * c * 9, d = lane; ci < c; ci++, o += 9, d += mr) {
                    planes[d] = w[o];
                    planes[ps + d] = w[o + 1];
                    planes[2 * ps + d] = w[o + 2];
                    planes[3 * ps + d] = w[o + 3];
                    planes[4 * ps + d] = w[o + 4];
                    planes[5 * ps + d] = w[o + 5];
                    planes[6 * ps + d] = w[o + 6];
                    planes[7 * ps + d] = w[o + 7];
                    planes[8 * ps + d] = w[o + 8];
                }
            }
            for (int i = 0; i < cm; i += VL) {
                // a last half vector (c odd) goes through tmp: its other lanes belong to the next panel
                boolean whole = i + VL <= cm;
                float[] out = whole ? u : tmp;
                int at = whole ? (panel - uPanel0) * cm + i : 0, stride = whole ? uStride : VL;
                FloatVector g00 = FloatVector.fromArray(S, planes, i), g01 = FloatVector.fromArray(S, planes, ps + i);
                FloatVector g02 = FloatVector.fromArray(S, planes, 2 * ps + i), g10 = FloatVector.fromArray(S, planes, 3 * ps + i);
                FloatVector g11 = FloatVector.fromArray(S, planes, 4 * ps + i), g12 = FloatVector.fromArray(S, planes, 5 * ps + i);
                FloatVector g20 = FloatVector.fromArray(S, planes, 6 * ps + i), g21 = FloatVector.fromArray(S, planes, 7 * ps + i);
                FloatVector g22 = FloatVector.fromArray(S, planes, 8 * ps + i);
                // G g: rows (g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2); then each row (a, b, c) Gᵀ = (a, (a+b+c)/2, (a-b+c)/2, c)
                FloatVector h0 = g00.add(g10).add(g20).mul(0.5f), h1 = g01.add(g11).add(g21).mul(0.5f);
                FloatVector h2 = g02.add(g12).add(g22).mul(0.5f);
                FloatVector l0 = g00.sub(g10).add(g20).mul(0.5f), l1 = g01.sub(g11).add(g21).mul(0.5f);
                FloatVector l2 = g02.sub(g12).add(g22).mul(0.5f);
                g00.intoArray(out, at);
                g00.add(g01).add(g02).mul(0.5f).intoArray(out, at + stride);
                g00.sub(g01).add(g02).mul(0.5f).intoArray(out, at + 2 * stride);
                g02.intoArray(out, at + 3 * stride);
                h0.intoArray(out, at + 4 * stride);
                h0.add(h1).add(h2).mul(0.5f).intoArray(out, at + 5 * stride);
                h0.sub(h1).add(h2).mul(0.5f).intoArray(out, at + 6 * stride);
                h2.intoArray(out, at + 7 * stride);
                l0.intoArray(out, at + 8 * stride);
                l0.add(l1).add(l2).mul(0.5f).intoArray(out, at + 9 * stride);
                l0.sub(l1).add(l2).mul(0.5f).intoArray(out, at + 10 * stride);
                l2.intoArray(out, at + 11 * stride);
                g20.intoArray(out, at + 12 * stride);
                g20.add(g21).add(g22).mul(0.5f).intoArray(out, at + 13 * stride);
                g20.sub(g21).add(g22).mul(0.5f).intoArray(out, at + 14 * stride);
                g22.intoArray(out, at + 15 * stride);
                if (!whole)
                    for (int xi = 0; xi < 16; xi++) System.arraycopy(tmp, xi * VL, u, xi * uStride + (panel - uPanel0) * cm + i, cm - i);
            }
        }
    }

    /** Floats of the planes {@link #transformWeights} needs for C input channels: nine panels of C*MR (+ VL). */
    static int planeFloats(int c) {
        return 9 * (c * Gemm.MR + VL);
    }

    /** Per-task rows of the input transform: the even and odd columns of the four input rows (VL of slack: lanes past tw feed only tile places no output reads). */
    static final class Scratch {
        final float[][] e = new float[4][], o = new float[4][];
        final float[] lanes = new float[2 * VL];
        /** Dense rows of tiles: the 16 transformed vectors of VL tiles before {@link #scatter} places them. */
        final float[] tiles = new float[16 * VL];
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
     * straddle a panel, or dense.
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
        boolean dense = rt % VL != 0;
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
            float[] e0 = s.e[0], e1 = s.e[1], e2 = s.e[2], e3 = s.e[3], o0 = s.o[0], o1 = s.o[1], o2 = s.o[2], o3 = s.o[3];
            int t0 = (ty - ty0) * rt;
            for (int q = 0; q < tw; q += VL) {
                int t = t0 + q, d = (t / nr) * panelSize + ci * nr + t % nr;
                // dense rows: a vector of tiles may cross a panel, so it goes through s.tiles (VL per ξ)
                float[] out = dense ? s.tiles : v;
                int stride = dense ? VL : vStride;
                // the tiles' columns: A = E[x], B = O[x], C = E[x+1], D = O[x+1]; digits are the rows 0..3
                FloatVector a0 = FloatVector.fromArray(S, e0, q), a1 = FloatVector.fromArray(S, e1, q);
                FloatVector a2 = FloatVector.fromArray(S, e2, q), a3 = FloatVector.fromArray(S, e3, q);
                FloatVector b0 = FloatVector.fromArray(S, o0, q), b1 = FloatVector.fromArray(S, o1, q);
                FloatVector b2 = FloatVector.fromArray(S, o2, q), b3 = FloatVector.fromArray(S, o3, q);
                FloatVector c0 = FloatVector.fromArray(S, e0, q + 1), c1 = FloatVector.fromArray(S, e1, q + 1);
                FloatVector c2 = FloatVector.fromArray(S, e2, q + 1), c3 = FloatVector.fromArray(S, e3, q + 1);
                FloatVector d0 = FloatVector.fromArray(S, o0, q + 1), d1 = FloatVector.fromArray(S, o1, q + 1);
                FloatVector d2 = FloatVector.fromArray(S, o2, q + 1), d3 = FloatVector.fromArray(S, o3, q + 1);
                for (int i = 0; i < 4; i++) {
                    // row i of Bᵀ d at the four columns
                    FloatVector a, b, c, dd;
                    if (i == 0) {
                        a = a0.sub(a2); b = b0.sub(b2); c = c0.sub(c2); dd = d0.sub(d2);
                    } else if (i == 1) {
                        a = a1.add(a2); b = b1.add(b2); c = c1.add(c2); dd = d1.add(d2);
                    } else if (i == 2) {
                        a = a2.sub(a1); b = b2.sub(b1); c = c2.sub(c1); dd = d2.sub(d1);
                    } else {
                        a = a1.sub(a3); b = b1.sub(b3); c = c1.sub(c3); dd = d1.sub(d3);
                    }
                    // (·) B: (a - c, b + c, c - b, b - d) as ξ = 4i .. 4i+3
                    int at = 4 * i * stride + (dense ? 0 : d);
                    a.sub(c).intoArray(out, at);
                    b.add(c).intoArray(out, at + stride);
                    c.sub(b).intoArray(out, at + 2 * stride);
                    b.sub(dd).intoArray(out, at + 3 * stride);
                }
                if (dense) scatter(s.tiles, Math.min(VL, tw - q), t, v, vStride, ci, panelSize);
            }
        }
    }

    /**
     * The first n lanes of each ξ's vector in {@code tiles (16, VL)} into V as tiles t..t+n-1 of channel
     * ci (a run that reaches the end of a panel goes on at the start of the next one).
     */
    private static void scatter(float[] tiles, int n, int t, float[] v, int vStride, int ci, int panelSize) {
        int nr = Gemm.NR, first = Math.min(n, nr - t % nr);
        int d = (t / nr) * panelSize + ci * nr + t % nr, d2 = (t / nr + 1) * panelSize + ci * nr;
        for (int xi = 0; xi < 16; xi++) {
            System.arraycopy(tiles, xi * VL, v, xi * vStride + d, first);
            if (first < n) System.arraycopy(tiles, xi * VL + first, v, xi * vStride + d2, n - first);
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
     * inside one B panel (NR = 2 VL) and is stored whole; the places past tilesW hold values of no
     * tile, which the products carry to columns of M that no output reads. When that rounding would
     * waste more than a quarter of the places (7 tiles a row in ResNet-18's layer3: 16 places) the
     * rows are dense instead, {@code tilesW} places, and the input transform places each vector's
     * tiles with {@link #scatter}.
     */
    static int rowTiles(ConvGeom g) {
        int tw = tilesW(g), padded = (tw + VL - 1) / VL * VL;
        return 4 * (padded - tw) > padded ? tw : padded;
    }

    /**
     * {@code Y = Aᵀ M A} for output channel k of image {@code img}, tile rows ty0..ty1-1, from
     * {@code M_ξ[k][t]} at {@code m[ξ*mStride + row*ldm + t]}, VL tiles at once: Aᵀ M combines
     * the rows {@code (m0 + m1 + m2, m1 - m2 - m3)}, {@code (·) A} the columns the same way; each
     * output row's even and odd columns are interleaved and
     * {@code y = act(fma(Y + b, scale, shift) + res)} applied as {@link Gemm#storeTile} does (a
     * row's short tail through {@code lanes}, scalar).
     */
    static void transformOutput(ConvGeom g, float[] m, int mStride, int ldm, int row, int img, int k, int ty0, int ty1, float[] b,
                                Gemm.Epilogue ep, float[] y, float[] lanes) {
        int th = tilesH(g), tw = tilesW(g), rt = rowTiles(g), oh = g.oh(), ow = g.ow();
        float bias = b == null ? 0f : b[k];
        float[] scale = ep == null ? null : ep.scale(), shift = ep == null ? null : ep.shift();
        float[] res = ep == null ? null : ep.res();
        boolean relu = ep != null && ep.relu(), affine = scale != null;
        float sc = scale == null ? 1f : scale[k], sh = scale == null ? 0f : shift[k];
        int yOff = (img * g.k() + k) * oh * ow;
        for (int ty = ty0; ty < ty1; ty++) {
            int t0 = (ty - ty0) * rt;
            for (int q = 0; q < tw; q += VL) {
                int at = row * ldm + t0 + q;
                // m_ij = M_ξ for ξ = 4i + j
                FloatVector m00 = FloatVector.fromArray(S, m, at), m01 = FloatVector.fromArray(S, m, at + mStride);
                FloatVector m02 = FloatVector.fromArray(S, m, at + 2 * mStride), m03 = FloatVector.fromArray(S, m, at + 3 * mStride);
                FloatVector m10 = FloatVector.fromArray(S, m, at + 4 * mStride), m11 = FloatVector.fromArray(S, m, at + 5 * mStride);
                FloatVector m12 = FloatVector.fromArray(S, m, at + 6 * mStride), m13 = FloatVector.fromArray(S, m, at + 7 * mStride);
                FloatVector m20 = FloatVector.fromArray(S, m, at + 8 * mStride), m21 = FloatVector.fromArray(S, m, at + 9 * mStride);
                FloatVector m22 = FloatVector.fromArray(S, m, at + 10 * mStride), m23 = FloatVector.fromArray(S, m, at + 11 * mStride);
                FloatVector m30 = FloatVector.fromArray(S, m, at + 12 * mStride), m31 = FloatVector.fromArray(S, m, at + 13 * mStride);
                FloatVector m32 = FloatVector.fromArray(S, m, at + 14 * mStride), m33 = FloatVector.fromArray(S, m, at + 15 * mStride);
                int col = 2 * q, row0 = yOff + 2 * ty * ow;
                // Aᵀ M row 0 = m0j + m1j + m2j, row 1 = m1j - m2j - m3j; then (·) A: even r0 + r1 + r2, odd r1 - r2 - r3
                FloatVector r0 = m00.add(m10).add(m20), r1 = m01.add(m11).add(m21);
                FloatVector r2 = m02.add(m12).add(m22), r3 = m03.add(m13).add(m23);
                store(r0.add(r1).add(r2), r1.sub(r2).sub(r3), y, row0 + col, ow - col, lanes);
                if (2 * ty + 1 < oh) {
                    r0 = m10.sub(m20).sub(m30);
                    r1 = m11.sub(m21).sub(m31);
                    r2 = m12.sub(m22).sub(m32);
                    r3 = m13.sub(m23).sub(m33);
                    store(r0.add(r1).add(r2), r1.sub(r2).sub(r3), y, row0 + ow + col, ow - col, lanes);
                }
            }
            epilogue(y, yOff + 2 * ty * ow, ow, bias, affine, sc, sh, res, relu);
            if (2 * ty + 1 < oh) epilogue(y, yOff + (2 * ty + 1) * ow, ow, bias, affine, sc, sh, res, relu);
        }
    }

    /** Interleaves the even and odd output columns into y at {@code at}, n of them room left in the row (the rest through lanes). */
    private static void store(FloatVector even, FloatVector odd, float[] y, int at, int n, float[] lanes) {
        FloatVector lo = even.rearrange(HALF_LO).blend(odd.rearrange(HALF_LO), ODD_LANES);
        FloatVector hi = even.rearrange(HALF_HI).blend(odd.rearrange(HALF_HI), ODD_LANES);
        if (n >= 2 * VL) {
            lo.intoArray(y, at);
            hi.intoArray(y, at + VL);
        } else {
            lo.intoArray(lanes, 0);
            hi.intoArray(lanes, VL);
            System.arraycopy(lanes, 0, y, at, n);
        }
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
