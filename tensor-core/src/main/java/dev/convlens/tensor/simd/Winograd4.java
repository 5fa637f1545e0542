package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.ConvGeom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray 2016, interpolation points 0, ±1, ±2, ∞):
 * each 4x4 block of outputs of one channel pair comes from a 6x6 input tile d and the 3x3 filter g as
 * {@code Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A} with
 * <pre>
 *   Bᵀ = | 4  0 -5  0  1  0 |   G = |  1/4    0     0   |   Aᵀ = | 1  1  1  1  1  0 |
 *        | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |        | 0  1 -1  2 -2  0 |
 *        | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |        | 0  1  1  4  4  0 |
 *        | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |        | 0  1 -1  8 -8  1 |
 *        | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
 *        | 0  4  0 -5  0  1 |       |  0     0     1    |
 * </pre>
 * 36 multiplications for 16 outputs instead of 144: 4x fewer multiply-adds than the direct sum.
 * Summed over the input channels, the product {@code ⊙} becomes 36 independent matrix products, one
 * per position ξ of the 6x6 transformed tile: {@code M_ξ (K, tiles) = U_ξ (K, C) · V_ξ (C, tiles)}
 * with {@code U = G g Gᵀ} (the transformed weights) and {@code V = Bᵀ d B} (the transformed input
 * tiles), which run on the GEMM engine ({@link Gemm}); then {@code Y = Aᵀ M A} per tile.
 *
 * <p>Accuracy: G's sixths are not exact in binary and the constants reach 8, so the result differs
 * from the direct sum by more rounding than F(2x2, 3x3)'s: in float32 the relative L2 error against
 * the exact sum is ~1.8e-6 at 64 input channels and ~3e-6 at 256, against ~3e-7 and ~5e-7 for
 * F(2x2, 3x3) (numpy, uniform data in [-1, 1]); the parity tests hold it to 1e-5.
 *
 * <p>Used for backward-data only ({@code SimdKernels.backwardDataAsForward}); forwards run
 * {@link Winograd}'s F(2x2, 3x3). Per layer F(4x4, 3x3) is faster in both (JMH {@code ConvBench}, 2
 * threads, two rounds, ms: ResNet-18's layer1 at batch 16 forward 12.4-13.0 -> 9.9-10.7, backward-data
 * 13.0-14.1 -> 10.4-10.9; layer2 9.7-10.1 -> 8.6-9.3 and 10.1-10.4 -> 8.7-8.9; at batch 1 all four
 * 7-9% faster), but its error in a forward reaches the gradients of a training step amplified: the
 * forward activations decide batch norm's statistics, the ReLU masks and the max-pool switches,
 * and the early layers' gradients are ill-conditioned in them. ResNet-18 against PyTorch
 * ({@code TrainStepOracleTest}): every gradient 1.1-1.5e-2 away with this forward, against 5e-6 with
 * F(2x2, 3x3). In a backward-data the error stays linear: with this backward-data and F(2x2, 3x3)
 * forwards, conv1's weight gradient of a random ResNet-18 lies 4.6e-6 from the direct path's.
 * See bench/README, "Stop 28".
 *
 * <p>Tiles are numbered over the batch, {@code t = (img * th + ty) * tw + tx} ({@code th = ceil(oh/4)}
 * rows of {@code tw = ceil(ow/4)} tiles per image), and a chunk is any range of them: a 28x28 map (7
 * tiles a row, 49 an image) wastes no columns of the products, and a chunk may span images. Each
 * tile's outputs depend on its own column only, so the bits do not depend on the chunks. The transforms
 * run on vectors of VL tiles over that numbering, through tile-major copies: the input transform first
 * gathers the 36 values of every tile into {@code D[i][j][t]} (row i, column j of the tile: its input
 * row split into columns mod 4), the output transform writes {@code O[i][j][t]} and merges each output
 * row back from its four phases. Layouts: U as packed A panels per ξ ({@code (36, ceil(K/MR), C, MR)});
 * V as packed B panels per ξ ({@code (36, ceil(T/NR), C, NR)}); M row-major {@code (36, K, ldm)}.
 */
final class Winograd4 {
    private Winograd4() {}

    /**
     * Tiles per image from which it is used: ResNet-18's layer1 (196) and layer2 (49) at 224x224.
     * Not layer3 (16: 16x16 outputs computed for 14x14) nor layer4 (4: 8x8 for 7x7): ad hoc, their
     * forward shapes, 2 threads, medians, against the direct path: at batch 16 layer3 11.2 against
     * 14.0 ms and layer4 13.5 against 16.4, but at batch 1 2.05 against 1.29 and 7.7 against 1.6 (U is
     * recomputed on every call, 36*C*K floats: 38 MB for layer4; and 16 tiles are one chunk, one
     * thread; at batch 16 the rule below takes layer3).
     */
    static final int MIN_TILES = 32;

    /**
     * Input channels from which the transforms pay off: the output transform costs per output
     * channel and tile whatever C is, while the products shrink with C. Ad hoc, 3x3 from C to C
     * channels over 112x112 at batch 16 (2 threads, medians, forward shapes): 16 channels 10.3 (best 6.4)
     * against 6.4 ms direct (F(2x2, 3x3) 6.6), 32 15.4 against 19.4 (17.4), 48 28.4 against 38.2 (32.1).
     */
    static final int MIN_CHANNELS = 32;

    /** The 36 positions ξ of a transformed tile. */
    static final int XI = 36;

    /**
     * Or, for a whole call, at most this many filters (C*K) per tile of the batch: then U, 36 floats a
     * filter made on every call, is paid for. Ad hoc, backward-data at 2 threads, medians, against the
     * direct path: ResNet-18's layer3 (256 x 256 over 14x14, 16 tiles an image) at batch 8 5.6 against
     * 7.9 ms, at batch 16 9.9 against 14.6, at batch 4 (1024 filters a tile) 4.8 against 4.8; AlexNet's
     * conv3-5 (13x13) at batch 16 12.3 / 13.8 / 9.8 against 14.9 / 18.6 / 12.8; layer4 (512 x 512 over
     * 7x7, 4 tiles an image) at batch 16 (4096 filters a tile) 20.4 against 17.2. Per call, so the bits
     * of such a backward-data depend on the batch around an image (a forward's do not: forwards run
     * {@link Winograd}, chosen per image).
     */
    static final int FILTERS_PER_TILE = 512;

    /**
     * True for the convolutions F(4x4, 3x3) computes here: 3x3, stride 1, no dilation, one group, padding
     * at most 2, at least {@value #MIN_CHANNELS} input channels, and {@value #MIN_TILES} tiles per image
     * or at most {@value #FILTERS_PER_TILE} filters per tile of the call.
     */
    static boolean applies(ConvGeom g) {
        int tiles = tilesH(g) * tilesW(g);
        return Winograd.shapeFits(g) && g.c() >= MIN_CHANNELS
                && (tiles >= MIN_TILES || (long) g.c() * g.k() <= (long) FILTERS_PER_TILE * g.n() * tiles);
    }

    static int tilesH(ConvGeom g) {
        return (g.oh() + 3) / 4;
    }

    static int tilesW(ConvGeom g) {
        return (g.ow() + 3) / 4;
    }

    private static final VectorSpecies<Float> S = Gemm.S;
    private static final int VL = Gemm.VL;

    /**
     * {@code U_ξ = G g Gᵀ} for the output channels of packed panels p0..p1-1 (all input channels),
     * into packed A panels: ξ's panels start at {@code ξ * uStride}, element (k, c) at
     * {@code (k/MR)*C*MR + c*MR + k%MR}; rows past K are zero.
     *
     * <p>g is the forward form of a backward-data (SimdKernels.backwardDataAsForward) and w the
     * weights of the convolution it differentiates, {@code (C_g, K_g, 3, 3)}: filter (k, c) of g is w's
     * filter (c, k) with its nine taps reversed, read from there instead of from a flipped copy.
     */
    static void transformWeights(ConvGeom g, float[] w, int p0, int p1, float[] u, int uStride) {
        int c = g.c(), k = g.k(), mr = Gemm.MR, perVector = VL / mr;
        // filter (k, c) of g at w[(k + c*K_g)*9 + 8], its taps one float back each
        int kStride = 1, cStride = k, first = 8, step = -1;
        int[] lanes = new int[VL];
        for (int l = 0; l < VL; l++) lanes[l] = (l % mr * kStride + l / mr * cStride) * 9;
        float[] taps = new float[9 * VL], h = new float[18 * VL];
        for (int panel = p0; panel < p1; panel++) {
            int k0 = panel * mr, ci = 0;
            if (k0 + mr <= k) {
                for (; ci + perVector <= c; ci += perVector) {
                    int o = (k0 * kStride + ci * cStride) * 9 + first, d = k0 * c + ci * mr;
                    for (int tap = 0; tap < 9; tap++)
                        FloatVector.fromArray(S, w, o + tap * step, lanes, 0).intoArray(taps, tap * VL);
                    for (int col = 0; col < 3; col++) weightRows(taps, col * VL, 3 * VL, h, col * VL, 3 * VL);
                    for (int row = 0; row < 6; row++) weightRows(h, 3 * row * VL, VL, u, d + 6 * row * uStride, uStride);
                }
            }
            for (; ci < c; ci++) {
                int at = k0 * c + ci * mr;
                for (int lane = 0; lane < mr; lane++) {
                    int d = at + lane;
                    if (k0 + lane >= k) {
                        for (int xi = 0; xi < XI; xi++) u[d + xi * uStride] = 0f;
                        continue;
                    }
                    int o = ((k0 + lane) * kStride + ci * cStride) * 9 + first;
                    for (int col = 0; col < 3; col++)
                        gRows(w[o + col * step], w[o + (3 + col) * step], w[o + (6 + col) * step], h, col, 3);
                    for (int row = 0; row < 6; row++)
                        gRows(h[3 * row], h[3 * row + 1], h[3 * row + 2], u, d + 6 * row * uStride, uStride);
                }
            }
        }
    }

    /**
     * G applied to three vectors {@code src[s0 + i*ss]} into six {@code dst[d0 + i*dStride]}: with
     * {@code s = a + c, q = a + 4c} the rows are {@code (a/4, -(s + b)/6, -(s - b)/6, (q + 2b)/24, (q - 2b)/24, c)}.
     * The same operations as {@link #gRows}, so a filter gets the same bits either way.
     */
    private static void weightRows(float[] src, int s0, int ss, float[] dst, int d0, int dStride) {
        FloatVector a = FloatVector.fromArray(S, src, s0), b = FloatVector.fromArray(S, src, s0 + ss);
        FloatVector c = FloatVector.fromArray(S, src, s0 + 2 * ss);
        FloatVector s = a.add(c), q = c.mul(4f).add(a), b2 = b.mul(2f);
        a.mul(0.25f).intoArray(dst, d0);
        s.add(b).neg().div(6f).intoArray(dst, d0 + dStride);
        s.sub(b).neg().div(6f).intoArray(dst, d0 + 2 * dStride);
        q.add(b2).div(24f).intoArray(dst, d0 + 3 * dStride);
        q.sub(b2).div(24f).intoArray(dst, d0 + 4 * dStride);
        c.intoArray(dst, d0 + 5 * dStride);
    }

    /** {@code G (a, b, c)ᵀ}: six values into {@code dst[at + i*stride]}, as {@link #weightRows} computes them. */
    private static void gRows(float a, float b, float c, float[] dst, int at, int stride) {
        float s = a + c, q = c * 4f + a, b2 = b * 2f;
        dst[at] = a * 0.25f;
        dst[at + stride] = -(s + b) / 6f;
        dst[at + 2 * stride] = -(s - b) / 6f;
        dst[at + 3 * stride] = (q + b2) / 24f;
        dst[at + 4 * stride] = (q - b2) / 24f;
        dst[at + 5 * stride] = c;
    }

    /** Per-task buffers of the transforms, for chunks of up to {@code tiles} tiles in rows of up to {@code tw}. */
    static final class Scratch {
        final int tw, tiles, front, ds;
        /**
         * Tile-major copies, the chunk's tile t at {@code front + t}: the input tiles {@code D (36, ds)},
         * then the output blocks {@code O (16, ds)} in the same array. {@code front} (a row of tiles,
         * whole vectors) takes the part of the first row before the chunk, the end the part of the
         * last row after it and the whole vectors a split writes past a row.
         */
        final float[] d;
        /** One half-transformed vector of tiles (36, VL). */
        final float[] half = new float[XI * VL];
        /** A zero-padded input row (4 (tw + 1), whole vectors); on the way out, an output row ({@code r}) and its halves. */
        final float[] r, e, o;

        Scratch(int tw, int tiles) {
            this.tw = tw;
            this.tiles = tiles;
            int p = vectors(tw + 1);
            front = vectors(tw);
            ds = front + vectors(tiles) + p + VL;
            d = new float[XI * ds];
            r = new float[4 * p];                       // whole vectors: splits read 4p, merges write 4 vectors(tw)
            e = new float[2 * p];
            o = new float[2 * p];
        }

        boolean fits(int tw, int tiles) {
            return this.tw >= tw && this.tiles >= tiles;
        }
    }

    /** n rounded up to whole vectors. */
    static int vectors(int n) {
        return (n + VL - 1) / VL * VL;
    }

    /**
     * {@code V = Bᵀ d B} of input channel {@code ci} for the tiles t0..t1-1 of the batch, numbered
     * {@code (img * th + ty) * tw + tx} (a chunk may end and start rows anywhere, and span images),
     * into the packed B panels of each ξ ({@code vStride} apart): tile {@code t0 + t} at panel
     * {@code t/NR}, element (ci, t%NR), panel size {@code C*NR}. Per row of tiles and each of its six
     * input rows: the row zero-padded, split into columns {@code 4x + j}, j = 0..3, straight into
     * {@code D[i][j]} at the row's tiles (each split writes whole vectors, past the row into the next
     * one's places, which that row's splits overwrite), and {@code D[i][4], D[i][5]} (columns 4x+4,
     * 4x+5) as {@code D[i][0], D[i][1]} shifted by one tile. Then per vector of VL tiles: Bᵀ along
     * the rows into {@code half}, then along the columns into V ({@link #inputRows} both times).
     */
    static void transformInput(ConvGeom g, float[] x, int ci, int t0, int t1, float[] v, int vStride, Scratch s) {
        int tw = tilesW(g), th = tilesH(g), h = g.h(), wd = g.w(), pl = g.padLeft(), nr = Gemm.NR, ds = s.ds;
        int panelSize = g.c() * nr, p = vectors(tw + 1), copied = Math.min(wd, 4 * p - pl);
        float[] d = s.d, r = s.r;
        for (int row = t0 / tw; row * tw < t1; row++) {
            int img = row / th, ty = row % th, at = s.front + row * tw - t0, xOff = (img * g.c() + ci) * h * wd;
            for (int i = 0; i < 6; i++) {
                int iy = 4 * ty - g.padTop() + i, di = 6 * i * ds + at;
                if (iy >= 0 && iy < h) {
                    java.util.Arrays.fill(r, 0, pl, 0f);
                    System.arraycopy(x, xOff + iy * wd, r, pl, copied);
                    java.util.Arrays.fill(r, pl + copied, r.length, 0f);
                } else {
                    java.util.Arrays.fill(r, 0f);
                }
                Elementwise.splitFour(r, 0, p, d, di, ds);
                for (int q = 0; q < p; q += VL) {         // columns 4x+4, 4x+5: those of 4x, 4x+1 one tile on
                    FloatVector.fromArray(S, d, di + 1 + q).intoArray(d, di + 4 * ds + q);
                    FloatVector.fromArray(S, d, di + ds + 1 + q).intoArray(d, di + 5 * ds + q);
                }
            }
        }
        float[] half = s.half;
        for (int q = 0; q < t1 - t0; q += VL) {
            int at = (q / nr) * panelSize + ci * nr + q % nr, dq = s.front + q;
            for (int j = 0; j < 6; j++) inputRows(d, j * ds + dq, 6 * ds, half, j * VL, 6 * VL);
            for (int i = 0; i < 6; i++) inputRows(half, 6 * i * VL, VL, v, 6 * i * vStride + at, vStride);
        }
    }

    /**
     * Bᵀ applied to six vectors {@code src[s0 + i*ss]}, i = 0..5, into {@code dst[d0 + i*dStride]}:
     * with {@code a = d4 - 4 d2, b = d3 - 4 d1, c = d4 - d2, e = 2 (d3 - d1)} the rows are
     * {@code (4 d0 - 5 d2 + d4, a + b, a - b, c + e, c - e, 4 d1 - 5 d3 + d5)}.
     */
    private static void inputRows(float[] src, int s0, int ss, float[] dst, int d0, int dStride) {
        FloatVector x0 = FloatVector.fromArray(S, src, s0), x1 = FloatVector.fromArray(S, src, s0 + ss);
        FloatVector x2 = FloatVector.fromArray(S, src, s0 + 2 * ss), x3 = FloatVector.fromArray(S, src, s0 + 3 * ss);
        FloatVector x4 = FloatVector.fromArray(S, src, s0 + 4 * ss), x5 = FloatVector.fromArray(S, src, s0 + 5 * ss);
        FloatVector m4 = FloatVector.broadcast(S, -4f), m5 = FloatVector.broadcast(S, -5f), p4 = FloatVector.broadcast(S, 4f);
        FloatVector a = x2.fma(m4, x4), b = x1.fma(m4, x3), c = x4.sub(x2), e = x3.sub(x1).mul(2f);
        x2.fma(m5, x0.fma(p4, x4)).intoArray(dst, d0);
        a.add(b).intoArray(dst, d0 + dStride);
        a.sub(b).intoArray(dst, d0 + 2 * dStride);
        c.add(e).intoArray(dst, d0 + 3 * dStride);
        c.sub(e).intoArray(dst, d0 + 4 * dStride);
        x3.fma(m5, x1.fma(p4, x5)).intoArray(dst, d0 + 5 * dStride);
    }

    /**
     * {@code Y = Aᵀ M A} for output channel k of the tiles t0..t1-1 (numbered as in
     * {@link #transformInput}), from {@code M_ξ[k][t - t0]} at {@code m[ξ*mStride + k*ldm + t - t0]}:
     * per vector of VL tiles, Aᵀ along the rows into {@code half}, along the columns into
     * {@code O[i][j]} ({@link #outputRows}); then each output row merged from its four phases
     * (columns {@code 4x + j}: two even/odd merges and one more) and the chunk's columns of it copied
     * into y. (A backward-data has no bias and no epilogue.)
     */
    static void transformOutput(ConvGeom g, float[] m, int mStride, int ldm, int k, int t0, int t1, float[] y, Scratch s) {
        int tw = tilesW(g), th = tilesH(g), oh = g.oh(), ow = g.ow(), ds = s.ds, p = vectors(tw);
        float[] d = s.d, half = s.half;
        for (int q = 0; q < t1 - t0; q += VL) {
            int at = k * ldm + q, dq = s.front + q;
            for (int j = 0; j < 6; j++) outputRows(m, j * mStride + at, 6 * mStride, half, j * VL, 6 * VL);
            for (int i = 0; i < 4; i++) outputRows(half, 6 * i * VL, VL, d, 4 * i * ds + dq, ds);
        }
        for (int row = t0 / tw; row * tw < t1; row++) {
            int img = row / th, ty = row % th, at = s.front + row * tw - t0;
            int x0 = Math.max(0, t0 - row * tw), c0 = 4 * x0, c1 = Math.min(ow, 4 * Math.min(tw, t1 - row * tw));
            int yOff = (img * g.k() + k) * oh * ow;
            for (int i = 0; i < 4 && 4 * ty + i < oh; i++) {
                int di = 4 * i * ds + at, yr = yOff + (4 * ty + i) * ow;
                Elementwise.mergeEvenOdd(d, di, d, di + 2 * ds, p, s.e, 0);        // columns 4x, 4x+2
                Elementwise.mergeEvenOdd(d, di + ds, d, di + 3 * ds, p, s.o, 0);   // columns 4x+1, 4x+3
                Elementwise.mergeEvenOdd(s.e, 0, s.o, 0, 2 * p, s.r, 0);
                System.arraycopy(s.r, c0, y, yr + c0, c1 - c0);
            }
        }
    }

    /**
     * Aᵀ applied to six vectors {@code src[s0 + i*ss]} into four {@code dst[d0 + i*dStride]}: with
     * {@code s = m1 + m2, d = m1 - m2, S = m3 + m4, D = m3 - m4} the rows are
     * {@code (m0 + s + S, d + 2 D, s + 4 S, d + 8 D + m5)}.
     */
    private static void outputRows(float[] src, int s0, int ss, float[] dst, int d0, int dStride) {
        FloatVector m0 = FloatVector.fromArray(S, src, s0), m1 = FloatVector.fromArray(S, src, s0 + ss);
        FloatVector m2 = FloatVector.fromArray(S, src, s0 + 2 * ss), m3 = FloatVector.fromArray(S, src, s0 + 3 * ss);
        FloatVector m4 = FloatVector.fromArray(S, src, s0 + 4 * ss), m5 = FloatVector.fromArray(S, src, s0 + 5 * ss);
        FloatVector sum12 = m1.add(m2), dif12 = m1.sub(m2), sum34 = m3.add(m4), dif34 = m3.sub(m4);
        m0.add(sum12).add(sum34).intoArray(dst, d0);
        dif34.fma(FloatVector.broadcast(S, 2f), dif12).intoArray(dst, d0 + dStride);
        sum34.fma(FloatVector.broadcast(S, 4f), sum12).intoArray(dst, d0 + 2 * dStride);
        dif34.fma(FloatVector.broadcast(S, 8f), dif12).add(m5).intoArray(dst, d0 + 3 * dStride);
    }
}
