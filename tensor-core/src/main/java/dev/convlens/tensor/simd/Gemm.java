package dev.convlens.tensor.simd;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM engine every SIMD kernel is built on: the register-tiled micro-kernels, the packing
 * of B panels, and the write-back of a tile.
 *
 * <p>The product {@code C (m, n) = A (m, k) * B (k, n)} is computed tile by tile: a tile is
 * {@link #MR} rows by {@link #NR} columns (8 x 32 floats with 512-bit vectors), held in
 * {@code 2*MR} vector accumulators. B is first copied ("packed") one micro-panel at a time so
 * the kernel reads it with unit stride and it stays in L1 while every row panel of A passes:
 * <pre>
 *   packed B panel (kc, NR): element (p, j) at p*NR + j; columns past the matrix are zero
 * </pre>
 * A is either packed into panels of MR rows ({@link #packA}: one stream for the kernel, worth
 * it when a panel meets many B panels) or read in place (its rows, or its columns, are
 * contiguous in every caller: weights, dy, the transposed weights); then only a last partial
 * panel of rows is copied, padded with zero rows. Results outside the matrix are never stored.
 * Goto and van de Geijn, "Anatomy of high-performance matrix multiplication" (2008).
 */
final class Gemm {
    private Gemm() {}

    /**
     * The vector shape: the widest the CPU has (16 floats with AVX-512). The only FloatVector shape
     * in convlens, and it must stay so: the Vector API's entry points (FloatVector.intoArray,
     * fromArray, ...) share one type profile per JVM, and a second shape passing through them
     * (a 256-bit copy in packA did) lets C2 compile a store whose vector type it cannot prove as a
     * call to the Java fallback, a lane-by-lane loop (seen as ResNet-18 saliency at 75 instead of
     * 57 ms in about a third of the JVMs).
     */
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector. */
    static final int VL = S.length();
    /** Rows of a register tile. */
    static final int MR = 8;
    /** Columns of a register tile: two vectors. */
    static final int NR = 2 * VL;
    /** Depth of a K block: a B micro-panel (KC x NR floats, 32 KiB) stays in L1 while the rows of A stream past. */
    static final int KC = 256;

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** The K blocking: blocks of at most KC, as equal as possible (576 -> 2 x 288, not 256+256+64). */
    static int blockDepth(int k) {
        return blockDepth(k, KC);
    }

    /** Blocks of at most {@code max}, as equal as possible. */
    static int blockDepth(int k, int max) {
        return ceilDiv(k, ceilDiv(k, max));
    }

    // ---------------------------------------------------------------- micro-kernels

    /**
     * The register tile when the MR values of A for one p are adjacent:
     * {@code A(i, p) = a[aOff + p*acs + i]} (a packed panel, acs = MR, or a transposed matrix read
     * in place, acs = its row length). {@code tile (MR, NR) = sum_p A(:, p) B(p, :)}, written
     * row-major. One step of p loads two vectors of B, broadcasts the MR values of A one at a
     * time and does 2*MR fused multiply-adds into 2*MR vector accumulators.
     */
    static void kernelColumns(int kc, float[] a, int aOff, int acs, float[] b, int bOff, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bOff + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + VL);
            int ao = aOff + p * acs;
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ao + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ao + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ao + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ao + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ao + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ao + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ao + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + VL);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + VL);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + VL);
    }

    /**
     * {@link #kernelColumns} on a packed A ({@code acs = MR}) with B read in place, each row of it at its
     * own offset: {@code B(p, j) = b[base + offs[o + p] + j]} for the first VL columns and
     * {@code b[base + offs[o + p] + delta + j - VL]} for the rest (a panel whose second vector of pixels
     * starts on the next output row). The same steps and sums as kernelColumns on the packed panel of
     * those values, so the same bits. For the forward over padded phase planes ({@link Im2col#readsInPlace}).
     */
    static void kernelColumnsAt(int kc, float[] a, int aOff, float[] b, int[] offs, int o, int base, int delta, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = base + offs[o + p];
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + delta);
            int ao = aOff + p * MR;
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ao + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ao + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ao + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ao + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ao + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ao + 6]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ao + 7]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + VL);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + VL);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + VL);
    }

    /**
     * The register tile when each row of A is contiguous: {@code A(i, p) = a[aOff + i*lda + p]}
     * (a row-major matrix read in place: weights, dy). Same tile and steps as
     * {@link #kernelColumns}; the MR rows are read as MR sequential streams.
     */
    static void kernelRows(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        int a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
        for (int p = 0; p < kc; p++) {
            int bo = bOff + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + VL);
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[a1 + p]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[a2 + p]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[a3 + p]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[a4 + p]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[a5 + p]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[a6 + p]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[a7 + p]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + VL);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + VL);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + VL);
    }

    /**
     * {@link #kernelRows} for a B of one vector's width: {@code B(p, j) = b[bOff + p*VL + j]}, j < VL; the
     * tile's first VL columns are written (row stride NR, as the other kernels). MR fused multiply-adds per
     * step of p instead of 2*MR, for a product with at most VL columns (a fully connected layer's forward
     * at a batch of at most VL, computed as {@code C^T = W A^T}).
     */
    static void kernelRowsNarrow(int kc, float[] a, int aOff, int lda, float[] b, int bOff, float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        int a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
        for (int p = 0; p < kc; p++) {
            FloatVector bv = FloatVector.fromArray(S, b, bOff + p * VL);
            c0 = FloatVector.broadcast(S, a[a0 + p]).fma(bv, c0);
            c1 = FloatVector.broadcast(S, a[a1 + p]).fma(bv, c1);
            c2 = FloatVector.broadcast(S, a[a2 + p]).fma(bv, c2);
            c3 = FloatVector.broadcast(S, a[a3 + p]).fma(bv, c3);
            c4 = FloatVector.broadcast(S, a[a4 + p]).fma(bv, c4);
            c5 = FloatVector.broadcast(S, a[a5 + p]).fma(bv, c5);
            c6 = FloatVector.broadcast(S, a[a6 + p]).fma(bv, c6);
            c7 = FloatVector.broadcast(S, a[a7 + p]).fma(bv, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        c4.intoArray(tile, 4 * NR);
        c5.intoArray(tile, 5 * NR);
        c6.intoArray(tile, 6 * NR);
        c7.intoArray(tile, 7 * NR);
    }

    /** Row stride of A for {@link #kernelRowsFixed}: a K block (at most KC) plus 64 bytes, so the MR rows do not share L1 sets. */
    static final int LDF = KC + 16;

    /**
     * {@link #kernelRows} for rows {@link #LDF} floats apart: {@code A(i, p) = a[aOff + i*LDF + p]}. The
     * same tile and steps; with the stride a constant, the MR loads of a step address one register
     * plus constant offsets, where kernelRows keeps MR row registers (and C2 spills some of them).
     * Callers copy a block of rows read in place into an LDF buffer when it meets several B panels:
     * layer3-like shapes (7 panels) ran 12% faster, copy included (ad hoc timing).
     */
    static void kernelRowsFixed(int kc, float[] a, int aOff, float[] b, int bOff, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bOff + p * NR, ao = aOff + p;
            FloatVector b0 = FloatVector.fromArray(S, b, bo);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + VL);
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ao + LDF]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ao + 2 * LDF]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ao + 3 * LDF]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ao + 4 * LDF]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ao + 5 * LDF]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[ao + 6 * LDF]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[ao + 7 * LDF]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, VL);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + VL);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + VL);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + VL);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + VL);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + VL);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + VL);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + VL);
    }

    /**
     * What is applied to a finished sum before it is stored (the last K block only):
     * {@code v = act(fma(v, scale[row], shift[row]) + res[at])}, {@code act = max(., 0)} when
     * {@code relu}; {@code scale} and {@code shift} both null for none, {@code res} null for none.
     * Rows are counted as the bias is ({@code biasOff + i}); {@code res} has C's layout (same offsets).
     */
    record Epilogue(float[] scale, float[] shift, float[] res, boolean relu) {}

    /**
     * Writes the top-left {@code mr x nr} of a tile to C:
     * {@code C[i][j] = alpha*tile[i][j] + bias[biasOff+i] + (beta == 0 ? 0 : beta*C[i][j])}
     * (bias may be null; C is not read when beta is 0), then the epilogue if any.
     */
    static void storeTile(float[] tile, int mr, int nr, float[] c, int cOff, int ldc,
                          float alpha, float beta, float[] bias, int biasOff) {
        storeTile(tile, mr, nr, c, cOff, ldc, alpha, beta, bias, biasOff, null);
    }

    /** As above, then {@code ep} (null for none). */
    static void storeTile(float[] tile, int mr, int nr, float[] c, int cOff, int ldc,
                          float alpha, float beta, float[] bias, int biasOff, Epilogue ep) {
        storeTile(tile, 0, mr, nr, c, cOff, ldc, alpha, beta, bias, biasOff, ep);
    }

    /**
     * As above, for the columns of the tile from {@code t0} on: its element (i, j) is
     * {@code tile[t0 + i*NR + j]}. From VL columns on, a row is two vectors, the second ending at
     * column nr (they overlap when nr < NR; both are computed from C before either is stored, so the
     * overlap gets the same values twice); fewer columns go lane by lane.
     */
    static void storeTile(float[] tile, int t0, int mr, int nr, float[] c, int cOff, int ldc,
                          float alpha, float beta, float[] bias, int biasOff, Epilogue ep) {
        float[] scale = ep == null ? null : ep.scale, shift = ep == null ? null : ep.shift;
        float[] res = ep == null ? null : ep.res;
        boolean relu = ep != null && ep.relu;
        if (nr >= VL) {
            int j1 = nr - VL;                           // the second vector's first column (VL for a whole tile)
            for (int i = 0; i < mr; i++) {
                int co = cOff + i * ldc;
                FloatVector v0 = FloatVector.fromArray(S, tile, t0 + i * NR);
                FloatVector v1 = FloatVector.fromArray(S, tile, t0 + i * NR + j1);
                if (alpha != 1f) {
                    v0 = v0.mul(alpha);
                    v1 = v1.mul(alpha);
                }
                if (bias != null) {
                    float bv = bias[biasOff + i];
                    v0 = v0.add(bv);
                    v1 = v1.add(bv);
                }
                if (beta == 1f) {
                    v0 = v0.add(FloatVector.fromArray(S, c, co));
                    v1 = v1.add(FloatVector.fromArray(S, c, co + j1));
                } else if (beta != 0f) {
                    v0 = v0.add(FloatVector.fromArray(S, c, co).mul(beta));
                    v1 = v1.add(FloatVector.fromArray(S, c, co + j1).mul(beta));
                }
                if (scale != null) {
                    float sc = scale[biasOff + i], sh = shift[biasOff + i];
                    v0 = v0.fma(sc, sh);
                    v1 = v1.fma(sc, sh);
                }
                if (res != null) {
                    v0 = v0.add(FloatVector.fromArray(S, res, co));
                    v1 = v1.add(FloatVector.fromArray(S, res, co + j1));
                }
                if (relu) {
                    v0 = v0.max(0f);
                    v1 = v1.max(0f);
                }
                v0.intoArray(c, co);
                v1.intoArray(c, co + j1);
            }
            return;
        }
        for (int i = 0; i < mr; i++) {
            int co = cOff + i * ldc;
            float bv = bias == null ? 0f : bias[biasOff + i];
            float sc = scale == null ? 1f : scale[biasOff + i], sh = scale == null ? 0f : shift[biasOff + i];
            for (int j = 0; j < nr; j++) {
                float v = alpha * tile[t0 + i * NR + j] + bv;
                v = beta == 0f ? v : v + beta * c[co + j];
                if (scale != null) v = Math.fma(v, sc, sh);
                if (res != null) v += res[co + j];
                c[co + j] = relu ? Math.max(v, 0f) : v;
            }
        }
    }

    /**
     * One B micro-panel against {@code m} rows of A: all tiles of the column strip
     * {@code C[0..m)[0..nr)}. Row panel {@code ip} of A starts at {@code aOff + ip*aPanel}, and
     * within it {@code A(i, p) = a[start + i*ars + p*acs]}: a matrix read in place has
     * {@code aPanel = MR*ars}; a packed A ({@link #packA}) has {@code ars = 1, acs = MR,
     * aPanel = k*MR}. A last, partial panel of rows is copied into {@code aTail (kc, MR)}
     * with zero rows first, so no kernel reads past the matrix.
     */
    static void panelColumn(int m, int nr, int kc, float[] a, int aOff, int ars, int acs, int aPanel,
                            float[] bPanel, float[] c, int cOff, int ldc, float alpha, float beta,
                            float[] bias, int biasOff, float[] tile, float[] aTail) {
        panelColumn(m, nr, kc, a, aOff, ars, acs, aPanel, bPanel, 0, c, cOff, ldc, alpha, beta, bias, biasOff, tile, aTail);
    }

    /** As above, with the B panel at {@code bPanel[bOff..)}. */
    static void panelColumn(int m, int nr, int kc, float[] a, int aOff, int ars, int acs, int aPanel,
                            float[] bPanel, int bOff, float[] c, int cOff, int ldc, float alpha, float beta,
                            float[] bias, int biasOff, float[] tile, float[] aTail) {
        panelColumn(m, nr, kc, a, aOff, ars, acs, aPanel, bPanel, bOff, c, cOff, ldc, alpha, beta, bias, biasOff,
                tile, aTail, null);
    }

    /** As above, applying {@code ep} (null for none) to every stored tile. */
    static void panelColumn(int m, int nr, int kc, float[] a, int aOff, int ars, int acs, int aPanel,
                            float[] bPanel, int bOff, float[] c, int cOff, int ldc, float alpha, float beta,
                            float[] bias, int biasOff, float[] tile, float[] aTail, Epilogue ep) {
        panelColumn(m, nr, nr, kc, a, aOff, ars, acs, aPanel, bPanel, bOff, c, cOff, 0, ldc, alpha, beta, bias, biasOff,
                tile, aTail, ep);
    }

    /**
     * As above, for a B panel whose columns lie in two places of C (a panel of pixels across two
     * images): its columns {@code [0, split)} go to {@code cOff}, {@code [split, nr)} to {@code cOff2}
     * (same ldc). Each column's sum is the same as in an unsplit panel, so the bits are too.
     */
    static void panelColumn(int m, int nr, int split, int kc, float[] a, int aOff, int ars, int acs, int aPanel,
                            float[] bPanel, int bOff, float[] c, int cOff, int cOff2, int ldc, float alpha, float beta,
                            float[] bias, int biasOff, float[] tile, float[] aTail, Epilogue ep) {
        for (int i = 0, ao = aOff; i < m; i += MR, ao += aPanel) {
            int mr = Math.min(MR, m - i);
            if (mr == MR && acs == 1 && ars == LDF) {
                kernelRowsFixed(kc, a, ao, bPanel, bOff, tile);
            } else if (mr == MR && acs == 1) {
                kernelRows(kc, a, ao, ars, bPanel, bOff, tile);
            } else if (mr == MR && ars == 1) {
                kernelColumns(kc, a, ao, acs, bPanel, bOff, tile);
            } else {
                packTail(a, ao, ars, acs, mr, kc, aTail, 0);
                kernelColumns(kc, aTail, 0, MR, bPanel, bOff, tile);
            }
            storeTile(tile, 0, mr, split, c, cOff + i * ldc, ldc, alpha, beta, bias, biasOff + i, ep);
            if (split < nr) storeTile(tile, split, mr, nr - split, c, cOff2 + i * ldc, ldc, alpha, beta, bias, biasOff + i, ep);
        }
    }

    // ---------------------------------------------------------------- packing

    /**
     * Packs {@code A (m, k)} with {@code A[i][p] = src[off + i*rs + p*cs]} into panels of MR rows
     * at {@code dst[dstOff..)}: panel {@code ip} at {@code ip*k*MR}, element (i, p) at
     * {@code p*MR + i%MR}; rows past m are zero. The kernel reads a packed panel as one stream;
     * worth it when the panel meets many B panels.
     */
    static void packA(float[] src, int off, int rs, int cs, int m, int k, float[] dst, int dstOff) {
        packA(src, off, rs, cs, m, k, k, dst, dstOff);
    }

    /**
     * As above, into panels of depth {@code kPanel >= k} (panel ip at {@code ip*kPanel*MR}): the
     * columns of a block packed piece by piece, each piece at {@code dstOff = first column * MR}.
     */
    static void packA(float[] src, int off, int rs, int cs, int m, int k, int kPanel, float[] dst, int dstOff) {
        int i0 = 0;
        if (VL == 2 * MR && rs != 1 && cs == 1)                     // two panels at a time from VL rows, transposed as vectors
            for (; i0 + VL <= m; i0 += VL) packPanelPair(src, off + i0 * rs, rs, k, dst, dstOff + i0 * kPanel, MR * kPanel);
        for (; i0 < m; i0 += MR) {
            int mr = Math.min(MR, m - i0), d = dstOff + i0 * kPanel, so = off + i0 * rs;
            if (mr < MR) {
                packTail(src, so, rs, cs, mr, k, dst, d);
            } else if (rs == 1) {                                   // MR adjacent values per p: one short copy
                // Not a 256-bit FloatVector: a second vector class through FloatVector.intoArray/fromArray
                // pollutes their shared type profile, and then C2 may not intrinsify the stores of storeTile
                // and Winograd (a JVM-wide 25% slowdown of saliency, depending on compile timing).
                for (int p = 0; p < k; p++) System.arraycopy(src, so + p * cs, dst, d + p * MR, MR);
            } else {                                                // MR rows, read side by side
                for (int p = 0; p < k; p++) {
                    int s0 = so + p * cs, dp = d + p * MR;
                    for (int ii = 0; ii < MR; ii++) dst[dp + ii] = src[s0 + ii * rs];
                }
            }
        }
    }

    /**
     * {@link #packA}'s two panels of the VL = 2*MR rows {@code A(i, p) = src[off + i*rs + p]}: panel 0 (rows
     * 0..MR-1) at {@code dst[d + p*MR + i]}, panel 1 at {@code d + panel}. Per VL x VL block (rows i, columns
     * p) and panel: its MR rows are read as vectors, and four transpose stages (as {@link #packTransposed})
     * exchange row bits 2, 1, 0 with lane bits 2, 1, 0, then row bit 0 again with lane bit 3; a vector
     * then holds columns p and p + 1 of the MR rows, as the panel lies them out. The last k % VL columns
     * one by one. The scalar copy this replaces read eight rows side by side: 2.3-3.2% of a ResNet-18
     * training step (dy in backward-weights).
     */
    private static void packPanelPair(float[] src, int off, int rs, int k, float[] dst, int d, int panel) {
        int p = 0;
        for (; p + VL <= k; p += VL)
            for (int half = 0; half < 2; half++) {
                int s = off + half * MR * rs + p, t = d + half * panel + p * MR;   // the panel's 128 floats, first as 8 rows VL apart
                transposeQuad(src, s, 2 * rs, 4 * rs, dst, t, 2 * VL, 4 * VL, SHR4, SHL4, HI4, SHR2, SHL2, HI2);
                transposeQuad(src, s + rs, 2 * rs, 4 * rs, dst, t + VL, 2 * VL, 4 * VL, SHR4, SHL4, HI4, SHR2, SHL2, HI2);
                finishPanel(dst, t);
            }
        for (; p < k; p++)
            for (int i = 0; i < VL; i++) dst[d + i / MR * panel + p * MR + i % MR] = src[off + i * rs + p];
    }

    /**
     * The last two stages of {@link #packPanelPair} on the 8 rows at {@code t[o], t[o + VL], ...} (all read
     * before any is written): stage 1 on rows (j, j+1), then row bit 0 with lane bit 3. Row j = (p2, p1, p3)
     * then holds columns 8 p3 + 4 p2 + 2 p1 and the next, and goes to {@code o + MR * that column}.
     */
    private static void finishPanel(float[] t, int o) {
        FloatVector r0 = FloatVector.fromArray(S, t, o), r1 = FloatVector.fromArray(S, t, o + VL);
        FloatVector r2 = FloatVector.fromArray(S, t, o + 2 * VL), r3 = FloatVector.fromArray(S, t, o + 3 * VL);
        FloatVector r4 = FloatVector.fromArray(S, t, o + 4 * VL), r5 = FloatVector.fromArray(S, t, o + 5 * VL);
        FloatVector r6 = FloatVector.fromArray(S, t, o + 6 * VL), r7 = FloatVector.fromArray(S, t, o + 7 * VL);
        FloatVector a0 = r0.blend(r1.rearrange(SHR1), HI1), a1 = r0.rearrange(SHL1).blend(r1, HI1);
        FloatVector a2 = r2.blend(r3.rearrange(SHR1), HI1), a3 = r2.rearrange(SHL1).blend(r3, HI1);
        FloatVector a4 = r4.blend(r5.rearrange(SHR1), HI1), a5 = r4.rearrange(SHL1).blend(r5, HI1);
        FloatVector a6 = r6.blend(r7.rearrange(SHR1), HI1), a7 = r6.rearrange(SHL1).blend(r7, HI1);
        a0.blend(a1.rearrange(SHR8), HI8).intoArray(t, o);                 // columns 0, 1
        a0.rearrange(SHL8).blend(a1, HI8).intoArray(t, o + 8 * MR);        // 8, 9
        a2.blend(a3.rearrange(SHR8), HI8).intoArray(t, o + 2 * MR);        // 2, 3
        a2.rearrange(SHL8).blend(a3, HI8).intoArray(t, o + 10 * MR);       // 10, 11
        a4.blend(a5.rearrange(SHR8), HI8).intoArray(t, o + 4 * MR);        // 4, 5
        a4.rearrange(SHL8).blend(a5, HI8).intoArray(t, o + 12 * MR);       // 12, 13
        a6.blend(a7.rearrange(SHR8), HI8).intoArray(t, o + 6 * MR);        // 6, 7
        a6.rearrange(SHL8).blend(a7, HI8).intoArray(t, o + 14 * MR);       // 14, 15
    }

    /** Copies {@code A(i, p) = src[off + i*rs + p*cs]}, {@code i < mr <= MR, p < k}, into {@code dst[d..)} as (k, MR); rows past mr are zero. */
    static void packTail(float[] src, int off, int rs, int cs, int mr, int k, float[] dst, int d) {
        for (int ii = 0; ii < MR; ii++) {
            if (ii >= mr) {
                for (int p = 0; p < k; p++) dst[d + p * MR + ii] = 0f;
                continue;
            }
            int so = off + ii * rs;
            for (int p = 0; p < k; p++) dst[d + p * MR + ii] = src[so + p * cs];
        }
    }

    /**
     * Packs one B micro-panel: {@code B[p][j] = src[off + p*rs + j*cs]} for {@code p < k, j < nr}
     * into {@code dst (k, NR)}; columns past nr are zero.
     */
    static void packB(float[] src, int off, int rs, int cs, int k, int nr, float[] dst) {
        packB(src, off, rs, cs, k, nr, dst, 0);
    }

    /** As above, into {@code dst[dOff ..)}. */
    static void packB(float[] src, int off, int rs, int cs, int k, int nr, float[] dst, int dOff) {
        if (cs == 1 && nr == NR) {                                  // two vector moves a row, not an arraycopy call
            for (int p = 0, s = off; p < k; p++, s += rs) {
                FloatVector.fromArray(S, src, s).intoArray(dst, dOff + p * NR);
                FloatVector.fromArray(S, src, s + VL).intoArray(dst, dOff + p * NR + VL);
            }
            return;
        }
        if (rs == 1 && nr == NR && VL <= 16) {                      // B^T stored row-major: transpose VL x VL blocks (stages up to s = 8)
            packTransposed(src, off, cs, k, dst, dOff);
            return;
        }
        if (cs == 1) {
            for (int p = 0; p < k; p++) {
                int d = dOff + p * NR;
                copy(src, off + p * rs, dst, d, nr);
                for (int j = nr; j < NR; j++) dst[d + j] = 0f;
            }
            return;
        }
        for (int j = 0; j < NR; j++) {
            if (j >= nr) {
                for (int p = 0; p < k; p++) dst[dOff + p * NR + j] = 0f;
                continue;
            }
            int so = off + j * cs;
            for (int p = 0; p < k; p++) dst[dOff + p * NR + j] = src[so + p * rs];
        }
    }

    /** Lane l takes lane l - s (SHR) or l + s (SHL); HI: the lanes with bit s set. One of each per stage of {@link #transposeStage}. */
    private static final VectorShuffle<Float> SHR1 = shift(-1), SHR2 = shift(-2), SHR4 = shift(-4), SHR8 = shift(-8),
            SHL1 = shift(1), SHL2 = shift(2), SHL4 = shift(4), SHL8 = shift(8);
    private static final VectorMask<Float> HI1 = bit(1), HI2 = bit(2), HI4 = bit(4), HI8 = bit(8);

    private static VectorShuffle<Float> shift(int by) {
        return VectorShuffle.fromOp(S, l -> Math.floorMod(l + by, VL));
    }

    private static VectorMask<Float> bit(int s) {
        boolean[] set = new boolean[VL];
        for (int l = 0; l < VL; l++) set[l] = (l & s) != 0;
        return VectorMask.fromArray(S, set, 0);
    }

    /**
     * {@link #packB} of a full panel whose rows of B^T are contiguous ({@code B(p, j) = src[off + j*cs + p]}:
     * a Linear layer's weight in its forward): per VL x VL block, VL rows of B^T are copied as vectors
     * into the panel's rows, then the block is transposed in place by log2(VL) stages that swap its
     * off-diagonal s x s sub-blocks (s = VL/2, ..., 1), two rows at a time ({@link #transposeStage});
     * the last k % VL rows element by element. The scalar gather it replaces stored one float at a time:
     * 7.6% of an AlexNet training step at batch 16 (perf), now 4.9% (which includes reading the weights from memory).
     * With VL = 16 the four stages run as two passes of {@link #transposeQuad}, the first reading src
     * itself (JMH, batch 16, 2 threads: backward-weights of layer1 17.1 -> 15.6 ms, conv1 26.6 -> 23.4).
     */
    static void packTransposed(float[] src, int off, int cs, int k, float[] dst, int dOff) {
        int p = 0;
        if (VL == 16) {
            for (; p + VL <= k; p += VL)
                for (int h = 0; h < NR; h += VL) {
                    int d = dOff + p * NR + h, s = off + h * cs + p;
                    for (int i = 0; i < 4; i++)         // stages 8 and 4 on rows {i, i+4, i+8, i+12}, read from src
                        transposeQuad(src, s + i * cs, 4 * cs, 8 * cs, dst, d + i * NR, 4 * NR, 8 * NR, SHR8, SHL8, HI8, SHR4, SHL4, HI4);
                    for (int i = 0; i < VL; i += 4)     // stages 2 and 1 on rows {i, i+1, i+2, i+3}, in place
                        transposeQuad(dst, d + i * NR, NR, 2 * NR, dst, d + i * NR, NR, 2 * NR, SHR2, SHL2, HI2, SHR1, SHL1, HI1);
                }
        }
        for (; p + VL <= k; p += VL)
            for (int h = 0; h < NR; h += VL) {
                int d = dOff + p * NR + h;
                for (int i = 0; i < VL; i++) FloatVector.fromArray(S, src, off + (h + i) * cs + p).intoArray(dst, d + i * NR);
                if (VL > 8) transposeStage(dst, d, 8, SHR8, SHL8, HI8);
                if (VL > 4) transposeStage(dst, d, 4, SHR4, SHL4, HI4);
                if (VL > 2) transposeStage(dst, d, 2, SHR2, SHL2, HI2);
                transposeStage(dst, d, 1, SHR1, SHL1, HI1);
            }
        for (; p < k; p++)
            for (int j = 0; j < NR; j++) dst[dOff + p * NR + j] = src[off + j * cs + p];
    }

    /**
     * Two stages of the transpose ({@link #transposeStage}: s1, then s2 < s1) on four rows held in registers:
     * a, b = a + s2, c = a + s1, d = a + s1 + s2 read at {@code src[so]}, {@code so + sb}, {@code so + sc},
     * {@code so + sb + sc}, written to {@code t} at {@code to}, {@code to + tb}, ... Stage s1 pairs (a, c) and
     * (b, d), stage s2 (a, b) and (c, d). With VL = 16 the four stages run as two of these passes over the
     * block instead of four (conv1's backward-weights: dy packed channel-last, 28% of its samples before).
     */
    private static void transposeQuad(float[] src, int so, int sb, int sc, float[] t, int to, int tb, int tc,
                                      VectorShuffle<Float> shr1, VectorShuffle<Float> shl1, VectorMask<Float> hi1,
                                      VectorShuffle<Float> shr2, VectorShuffle<Float> shl2, VectorMask<Float> hi2) {
        FloatVector a = FloatVector.fromArray(S, src, so), b = FloatVector.fromArray(S, src, so + sb);
        FloatVector c = FloatVector.fromArray(S, src, so + sc), d = FloatVector.fromArray(S, src, so + sb + sc);
        FloatVector a1 = a.blend(c.rearrange(shr1), hi1), c1 = a.rearrange(shl1).blend(c, hi1);
        FloatVector b1 = b.blend(d.rearrange(shr1), hi1), d1 = b.rearrange(shl1).blend(d, hi1);
        a1.blend(b1.rearrange(shr2), hi2).intoArray(t, to);
        a1.rearrange(shl2).blend(b1, hi2).intoArray(t, to + tb);
        c1.blend(d1.rearrange(shr2), hi2).intoArray(t, to + tc);
        c1.rearrange(shl2).blend(d1, hi2).intoArray(t, to + tb + tc);
    }

    /**
     * One stage of the in-place transpose of the VL x VL block at {@code t[d ..)} (rows NR apart): for each
     * row pair (i, i+s), i without bit s, {@code a[l] = b[l-s]} and {@code b[l] = a[l+s]} on the lanes l
     * with bit s set in l (for a) or clear (for b): the off-diagonal s x s sub-blocks trade places.
     */
    private static void transposeStage(float[] t, int d, int s, VectorShuffle<Float> shr, VectorShuffle<Float> shl,
                                       VectorMask<Float> hi) {
        for (int i = 0; i < VL; i++) {
            if ((i & s) != 0) continue;
            int ra = d + i * NR, rb = ra + s * NR;
            FloatVector a = FloatVector.fromArray(S, t, ra), b = FloatVector.fromArray(S, t, rb);
            a.blend(b.rearrange(shr), hi).intoArray(t, ra);
            a.rearrange(shl).blend(b, hi).intoArray(t, rb);
        }
    }

    // ---------------------------------------------------------------- vector helpers

    /** dst[d .. d+len) = src[s .. s+len). */
    static void copy(float[] src, int s, float[] dst, int d, int len) {
        System.arraycopy(src, s, dst, d, len);   // the JIT's own vector copy; a Vector API loop here ran boxed when not inlined
    }

    /** dst[d .. d+len) += src[s .. s+len). */
    static void addInto(float[] src, int s, float[] dst, int d, int len) {
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += VL)
            FloatVector.fromArray(S, dst, d + i).add(FloatVector.fromArray(S, src, s + i)).intoArray(dst, d + i);
        for (; i < len; i++) dst[d + i] += src[s + i];
    }

    /** dst[d .. d+len) = 0. */
    static void zero(float[] dst, int d, int len) {
        Arrays.fill(dst, d, d + len, 0f);
    }

    /**
     * {@code sum_p a[aOff+p] * b[bOff+p]} for {@code p < len}: four vector accumulators, added in a
     * fixed order and their lanes summed left to right through {@code lanes} (VL floats of scratch),
     * so the result does not depend on how the JIT reduces lanes; the tail is added last.
     */
    static float dot(float[] a, int aOff, float[] b, int bOff, int len, float[] lanes) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int p = 0;
        for (int bound = len - 4 * VL; p <= bound; p += 4 * VL) {
            s0 = FloatVector.fromArray(S, a, aOff + p).fma(FloatVector.fromArray(S, b, bOff + p), s0);
            s1 = FloatVector.fromArray(S, a, aOff + p + VL).fma(FloatVector.fromArray(S, b, bOff + p + VL), s1);
            s2 = FloatVector.fromArray(S, a, aOff + p + 2 * VL).fma(FloatVector.fromArray(S, b, bOff + p + 2 * VL), s2);
            s3 = FloatVector.fromArray(S, a, aOff + p + 3 * VL).fma(FloatVector.fromArray(S, b, bOff + p + 3 * VL), s3);
        }
        for (int bound = len - VL; p <= bound; p += VL)
            s0 = FloatVector.fromArray(S, a, aOff + p).fma(FloatVector.fromArray(S, b, bOff + p), s0);
        s0.add(s1).add(s2.add(s3)).intoArray(lanes, 0);
        float t = 0f;
        for (int i = 0; i < VL; i++) t += lanes[i];
        for (; p < len; p++) t += a[aOff + p] * b[bOff + p];
        return t;
    }

    /** {@code y[yOff+j] += s * x[xOff+j]} for {@code j < len}, one fused multiply-add each. */
    static void axpy(float s, float[] x, int xOff, float[] y, int yOff, int len) {
        FloatVector sv = FloatVector.broadcast(S, s);
        int j = 0;
        for (int bound = S.loopBound(len); j < bound; j += VL)
            FloatVector.fromArray(S, x, xOff + j).fma(sv, FloatVector.fromArray(S, y, yOff + j)).intoArray(y, yOff + j);
        for (; j < len; j++) y[yOff + j] = Math.fma(s, x[xOff + j], y[yOff + j]);
    }

    /**
     * Eight {@link #axpy} calls in one pass: {@code y[yOff+j] += s_r * x[xOff + r*ldx + j]} for r = 0..7 in
     * that order, {@code s_r = a[aOff + r]}, each one fused multiply-add, so the same bits as eight
     * axpy calls; y is loaded and stored once per vector instead of eight times (the backward of a
     * fully connected layer at batch 1 streams its weight rows through here).
     */
    static void axpy8(float[] a, int aOff, float[] x, int xOff, int ldx, float[] y, int yOff, int len) {
        FloatVector s0 = FloatVector.broadcast(S, a[aOff]), s1 = FloatVector.broadcast(S, a[aOff + 1]);
        FloatVector s2 = FloatVector.broadcast(S, a[aOff + 2]), s3 = FloatVector.broadcast(S, a[aOff + 3]);
        FloatVector s4 = FloatVector.broadcast(S, a[aOff + 4]), s5 = FloatVector.broadcast(S, a[aOff + 5]);
        FloatVector s6 = FloatVector.broadcast(S, a[aOff + 6]), s7 = FloatVector.broadcast(S, a[aOff + 7]);
        int x0 = xOff, x1 = x0 + ldx, x2 = x1 + ldx, x3 = x2 + ldx, x4 = x3 + ldx, x5 = x4 + ldx, x6 = x5 + ldx, x7 = x6 + ldx;
        int j = 0;
        for (int bound = S.loopBound(len); j < bound; j += VL) {
            FloatVector v = FloatVector.fromArray(S, y, yOff + j);
            v = FloatVector.fromArray(S, x, x0 + j).fma(s0, v);
            v = FloatVector.fromArray(S, x, x1 + j).fma(s1, v);
            v = FloatVector.fromArray(S, x, x2 + j).fma(s2, v);
            v = FloatVector.fromArray(S, x, x3 + j).fma(s3, v);
            v = FloatVector.fromArray(S, x, x4 + j).fma(s4, v);
            v = FloatVector.fromArray(S, x, x5 + j).fma(s5, v);
            v = FloatVector.fromArray(S, x, x6 + j).fma(s6, v);
            v = FloatVector.fromArray(S, x, x7 + j).fma(s7, v);
            v.intoArray(y, yOff + j);
        }
        for (; j < len; j++) {
            float v = y[yOff + j];
            for (int r = 0; r < 8; r++) v = Math.fma(a[aOff + r], x[xOff + r * ldx + j], v);
            y[yOff + j] = v;
        }
    }

    /**
     * sum of src[s .. s+len): VL lane sums over the whole vectors, then the lanes added in order
     * 0..VL-1 starting from 0, then the tail. Not {@code reduceLanes(ADD)}: the Vector API leaves
     * the order of a float reduction open, and from JDK 24 on, C2 on x86 adds the lanes as a tree
     * (JDK-8337062) while the interpreter and C1 add them in lane order, so the result would
     * change once the method is compiled (training not reproducible run to run, nor a resumed run
     * equal to an uninterrupted one). Lane order is what every JDK did up to 23, so results match them.
     */
    static float sum(float[] src, int s, int len) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += VL) acc = acc.add(FloatVector.fromArray(S, src, s + i));
        float t = 0f;
        for (int l = 0; l < VL; l++) t += acc.lane(l);
        for (; i < len; i++) t += src[s + i];
        return t;
    }
}
