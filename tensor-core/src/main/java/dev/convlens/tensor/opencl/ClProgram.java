package dev.convlens.tensor.opencl;

import com.aparapi.Kernel;

/**
 * Every OpenCL kernel of convlens in one Aparapi {@link Kernel}: {@link #run} dispatches on a mode
 * held in {@code p[MODE]}, so the whole program is translated and compiled once per JVM.
 *
 * <h2>One arena</h2>
 * All tensors of a pass live in one float array {@code m} (and the max-pool switches in one int
 * array {@code si}). A launch names its operands by offset into the arena, in {@code p[]}:
 * <pre>
 *   OA, OB   first and second operand (dy, a GEMM's A and B, the addends, the im2col columns)
 *   OC       the result (y, dx, a GEMM's C, the column gradient of col2im)
 *   OD       an image tensor x (conv, pool, ReLU, batch norm) or the dx of col2im and unpooling
 *   OE       per-channel vectors: a conv bias or its gradient, or the batch-norm pack (below)
 *   OF, OG   per-channel scale and shift (epilogue, channel scaling); -1 when absent
 *   ORS      a residual of the result's shape (epilogue); -1 when absent
 *   OS       max-pool switches, in si
 * </pre>
 * Aparapi keeps one device buffer per array field, so one arena per field is what lets the output
 * of one launch be the input of the next without leaving the device: the host ({@link ClPass})
 * fills the arena, puts it once, runs every launch of a pass, and gets it once.
 * Batch-norm pack at OE, each block C long: gamma, beta, mean, invStd, var, sum dy, sum dy*xhat.
 *
 * <p>Written for Aparapi's translator: no {@code break}/{@code continue}, no objects, no exceptions,
 * and each mode in its own method with its own local names. The GEMM tiles A and B through local
 * memory and keeps a 4 x 4 block of C per work item in registers.
 */
final class ClProgram extends Kernel {
    // ---- modes
    static final int IM2COL = 1, GEMM = 2, COL2IM = 3, EPILOGUE = 4, BIAS_GRAD = 5, POOL_FWD = 6, POOL_BWD = 7,
            RELU_FWD = 8, RELU_BWD = 9, ADD = 10, BN_STATS = 11, BN_NORM = 12, BN_BWD_SUMS = 13, BN_BWD_DX = 14,
            SCALE_CH = 15, GAP_FWD = 16, GAP_BWD = 17, MUL = 18;
    /** GEMM: C tiles of TM x TM per work-group of 16 x 16 items (4 x 4 each), K staged TK at a time through local memory. */
    static final int TM = 64, TK = 16;
    /** Work-group size of the one-dimensional modes. */
    static final int WG = 64;

    // ---- p[] layout: MODE and COUNT, then geometry (conv and pool share the image block)
    static final int MODE = 0, COUNT = 1, N = 2, C = 3, H = 4, W = 5, K = 6, R = 7, S = 8, SH = 9, SW = 10,
            PT = 11, PL = 12, DH = 13, DW = 14, OH = 15, OW = 16, CG = 17, KG = 18, IMG = 19, GRP = 20,
    // GEMM block (offsets absolute in the arena)
            TRANS_A = 21, TRANS_B = 22, GM = 23, GN = 24, GK = 25, A_OFF = 26, LDA = 27, B_OFF = 28, LDB = 29,
            C_OFF = 30, LDC = 31,
    // ReLU masks (0/1), spatial size of the per-channel modes
            FWD_MASK = 32, SIG_MASK = 33, HW = 34, RELU = 35,
    // operand offsets in the arena
            OA = 36, OB = 37, OC = 38, OD = 39, OE = 40, OF = 41, OG = 42, ORS = 43, OS = 44;
    static final int P_LEN = 45;
    // fp[] layout
    static final int ALPHA = 0, BETA = 1, EPS = 2, INV_M = 3;
    // batch-norm pack blocks (times C)
    static final int GAMMA = 0, BETA_V = 1, MEAN = 2, INV_STD = 3, VAR = 4, SUM_DY = 5, SUM_DY_XHAT = 6;

    /** The float arena and the int arena (switches). */
    float[] m = new float[1];
    int[] si = new int[1];
    int[] p = new int[P_LEN];
    float[] fp = new float[4];

    @Local float[] tileA = new float[TM * TK]; // (TM rows, TK) of op(A)
    @Local float[] tileB = new float[TK * TM]; // (TK, TM columns) of op(B)

    @Override
    public void run() {
        int mode = p[MODE];
        if (mode == GEMM) {
            gemmTile();
        } else if (mode == IM2COL) {
            im2col();
        } else if (mode == COL2IM) {
            col2im();
        } else if (mode == EPILOGUE) {
            epilogue();
        } else if (mode == BIAS_GRAD) {
            biasGrad();
        } else if (mode == POOL_FWD) {
            poolForward();
        } else if (mode == POOL_BWD) {
            poolBackward();
        } else if (mode == RELU_FWD) {
            reluForward();
        } else if (mode == RELU_BWD) {
            reluBackward();
        } else if (mode == ADD) {
            addAb();
        } else if (mode == BN_STATS) {
            bnStats();
        } else if (mode == BN_NORM) {
            bnNorm();
        } else if (mode == BN_BWD_SUMS) {
            bnBackwardSums();
        } else if (mode == BN_BWD_DX) {
            bnBackwardDx();
        } else if (mode == SCALE_CH) {
            scaleChannels();
        } else if (mode == GAP_FWD) {
            globalAvgForward();
        } else if (mode == GAP_BWD) {
            globalAvgBackward();
        } else if (mode == MUL) {
            mulAb();
        }
    }

    /**
     * One TM x TM tile of {@code C = alpha * op(A) op(B) + beta * C}, by a work-group of 16 x 16
     * items (dimension 0 over the columns, 1 over the rows), each computing a 4 x 4 block of C held
     * in registers: rows {@code ti + 16u}, columns {@code tj + 16v}. Each step stages a TM x TK block
     * of op(A) and a TK x TM block of op(B) in local memory (four loads per item for each), then
     * every item does 16 multiply-adds per 8 local reads.
     */
    private void gemmTile() {
        int tj = getLocalId(0), ti = getLocalId(1);
        int lid = ti * 16 + tj;
        int row0 = getGroupId(1) * TM, col0 = getGroupId(0) * TM;
        int mm = p[GM], n = p[GN], kk = p[GK];
        int transA = p[TRANS_A], transB = p[TRANS_B];
        int aOff = p[A_OFF], lda = p[LDA], bOff = p[B_OFF], ldb = p[LDB];
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        int tiles = (kk + TK - 1) / TK;
        for (int t = 0; t < tiles; t++) {
            for (int l = 0; l < 4; l++) {
                int el = lid + 256 * l;
                int ar = el / TK, ak = el % TK;
                int gi = row0 + ar, pa = t * TK + ak;
                float av = 0f;
                if (gi < mm && pa < kk) {
                    av = transA == 1 ? m[aOff + pa * lda + gi] : m[aOff + gi * lda + pa];
                }
                tileA[ar * TK + ak] = av;
                int bk = el / TM, bc = el % TM;
                int pb = t * TK + bk, gj = col0 + bc;
                float bv = 0f;
                if (pb < kk && gj < n) {
                    bv = transB == 1 ? m[bOff + gj * ldb + pb] : m[bOff + pb * ldb + gj];
                }
                tileB[bk * TM + bc] = bv;
            }
            localBarrier();
            for (int q = 0; q < TK; q++) {
                float a0 = tileA[ti * TK + q], a1 = tileA[(ti + 16) * TK + q];
                float a2 = tileA[(ti + 32) * TK + q], a3 = tileA[(ti + 48) * TK + q];
                float b0 = tileB[q * TM + tj], b1 = tileB[q * TM + tj + 16];
                float b2 = tileB[q * TM + tj + 32], b3 = tileB[q * TM + tj + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            localBarrier();
        }
        store(row0 + ti + 0, col0 + tj + 0, c00);
        store(row0 + ti + 0, col0 + tj + 16, c01);
        store(row0 + ti + 0, col0 + tj + 32, c02);
        store(row0 + ti + 0, col0 + tj + 48, c03);
        store(row0 + ti + 16, col0 + tj + 0, c10);
        store(row0 + ti + 16, col0 + tj + 16, c11);
        store(row0 + ti + 16, col0 + tj + 32, c12);
        store(row0 + ti + 16, col0 + tj + 48, c13);
        store(row0 + ti + 32, col0 + tj + 0, c20);
        store(row0 + ti + 32, col0 + tj + 16, c21);
        store(row0 + ti + 32, col0 + tj + 32, c22);
        store(row0 + ti + 32, col0 + tj + 48, c23);
        store(row0 + ti + 48, col0 + tj + 0, c30);
        store(row0 + ti + 48, col0 + tj + 16, c31);
        store(row0 + ti + 48, col0 + tj + 32, c32);
        store(row0 + ti + 48, col0 + tj + 48, c33);
    }

    /** C[row, col] = alpha * acc + beta * C[row, col] inside the matrix; C is not read when beta is 0. */
    private void store(int row, int col, float acc) {
        if (row < p[GM] && col < p[GN]) {
            int ci = p[C_OFF] + row * p[LDC] + col;
            float beta = fp[BETA];
            m[ci] = beta == 0f ? fp[ALPHA] * acc : fp[ALPHA] * acc + beta * m[ci];
        }
    }

    /** col (cg*r*s, oh*ow) at OB, of image IMG, group GRP of x at OD: {@code col[(ci,r,s), (oy,ox)] = x[img, grp*cg+ci, iy, ix]}, 0 in the padding. */
    private void im2col() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int ohw = p[OH] * p[OW], rs = p[R] * p[S];
            int row = gid / ohw, o = gid % ohw;
            int ci = row / rs, rr = (row % rs) / p[S], ss = row % p[S];
            int iy = (o / p[OW]) * p[SH] - p[PT] + rr * p[DH];
            int ix = (o % p[OW]) * p[SW] - p[PL] + ss * p[DW];
            float v = 0f;
            if (iy >= 0 && iy < p[H] && ix >= 0 && ix < p[W]) {
                int ch = p[GRP] * p[CG] + ci;
                v = m[p[OD] + ((p[IMG] * p[C] + ch) * p[H] + iy) * p[W] + ix];
            }
            m[p[OB] + gid] = v;
        }
    }

    /** dx at OD of image IMG, group GRP, from the column gradient at OC: each input sums the column entries that read it (a gather, no atomics). */
    private void col2im() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int hw = p[H] * p[W];
            int ci = gid / hw, iy = (gid % hw) / p[W], ix = gid % p[W];
            int ohw = p[OH] * p[OW];
            int oc = p[OC];
            float acc = 0f;
            for (int rr = 0; rr < p[R]; rr++) {
                int ty = iy + p[PT] - rr * p[DH];
                if (ty >= 0 && ty % p[SH] == 0 && ty / p[SH] < p[OH]) {
                    int oy = ty / p[SH];
                    for (int ss = 0; ss < p[S]; ss++) {
                        int tx = ix + p[PL] - ss * p[DW];
                        if (tx >= 0 && tx % p[SW] == 0 && tx / p[SW] < p[OW]) {
                            acc += m[oc + ((ci * p[R] + rr) * p[S] + ss) * ohw + oy * p[OW] + tx / p[SW]];
                        }
                    }
                }
            }
            m[p[OD] + ((p[IMG] * p[C] + p[GRP] * p[CG] + ci) * p[H] + iy) * p[W] + ix] = acc;
        }
    }

    /**
     * In place on y at OC, channel {@code ch = (i / HW) % C}:
     * {@code y = act(scale[ch] * (y + b[ch]) + shift[ch] + res[i])}, each term only when its offset
     * (OE, OF, OG, ORS) is not -1, act the ReLU when p[RELU] is 1 (NaN kept, as {@code Math.max}).
     */
    private void epilogue() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int ch = (gid / p[HW]) % p[C];
            int yi = p[OC] + gid;
            float v = m[yi];
            if (p[OE] >= 0) v = v + m[p[OE] + ch];
            if (p[OF] >= 0) v = v * m[p[OF] + ch];
            if (p[OG] >= 0) v = v + m[p[OG] + ch];
            if (p[ORS] >= 0) v = v + m[p[ORS] + gid];
            if (p[RELU] == 1 && v <= 0f) v = 0f;
            m[yi] = v;
        }
    }

    /** db[k] at OE = sum over n and the output positions of dy[n, k] at OA. */
    private void biasGrad() {
        int k = getGlobalId();
        if (k < p[COUNT]) {
            int ohw = p[OH] * p[OW];
            float acc = 0f;
            for (int n = 0; n < p[N]; n++) {
                int base = p[OA] + (n * p[K] + k) * ohw;
                for (int o = 0; o < ohw; o++) acc += m[base + o];
            }
            m[p[OE] + k] = acc;
        }
    }

    /** Max over the window of output gid (x at OD, y at OC), first maximum wins, NaN taken; the switch (at OS) is its flat index in x. */
    private void poolForward() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int ohw = p[OH] * p[OW];
            int plane = gid / ohw, oy = (gid % ohw) / p[OW], ox = gid % p[OW];
            int xOff = plane * p[H] * p[W];
            float max = 0f;
            int arg = -1;
            for (int i = 0; i < p[R]; i++) {
                int iy = oy * p[SH] - p[PT] + i * p[DH];
                if (iy >= 0 && iy < p[H]) {
                    for (int j = 0; j < p[S]; j++) {
                        int ix = ox * p[SW] - p[PL] + j * p[DW];
                        if (ix >= 0 && ix < p[W]) {
                            int idx = xOff + iy * p[W] + ix;
                            float v = m[p[OD] + idx];
                            if (arg < 0 || v > max || v != v) {
                                max = v;
                                arg = idx;
                            }
                        }
                    }
                }
            }
            m[p[OC] + gid] = max;
            si[p[OS] + gid] = arg;
        }
    }

    /** Unpooling as a gather: input gid (dx at OD) sums dy (at OA) over the windows that contain it and whose switch points at it. */
    private void poolBackward() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int hw = p[H] * p[W];
            int plane = gid / hw, iy = (gid % hw) / p[W], ix = gid % p[W];
            int oOff = plane * p[OH] * p[OW];
            float acc = 0f;
            for (int i = 0; i < p[R]; i++) {
                int ty = iy + p[PT] - i * p[DH];
                if (ty >= 0 && ty % p[SH] == 0 && ty / p[SH] < p[OH]) {
                    for (int j = 0; j < p[S]; j++) {
                        int tx = ix + p[PL] - j * p[DW];
                        if (tx >= 0 && tx % p[SW] == 0 && tx / p[SW] < p[OW]) {
                            int o = oOff + (ty / p[SH]) * p[OW] + tx / p[SW];
                            if (si[p[OS] + o] == gid) acc += m[p[OA] + o];
                        }
                    }
                }
            }
            m[p[OD] + gid] = acc;
        }
    }

    /** y (OC) = max(x (OD), 0), NaN kept. */
    private void reluForward() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            float v = m[p[OD] + gid];
            m[p[OC] + gid] = v > 0f || v != v ? v : 0f; // NaN stays NaN, as Math.max (OpenCL's fmax would drop it)
        }
    }

    /** dx (OC) = dy (OA) where both masks in use pass: the forward one (x at OD > 0) and the signal one (dy > 0). */
    private void reluBackward() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            float g = m[p[OA] + gid];
            boolean pass = (p[FWD_MASK] == 0 || m[p[OD] + gid] > 0f) && (p[SIG_MASK] == 0 || g > 0f);
            m[p[OC] + gid] = pass ? g : 0f;
        }
    }

    /** y (OC) = a (OA) + b (OB); y may be a or b. */
    private void addAb() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) m[p[OC] + gid] = m[p[OA] + gid] + m[p[OB] + gid];
    }

    /** y (OC) = a (OA) * b (OB) elementwise (a dropout mask). */
    private void mulAb() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) m[p[OC] + gid] = m[p[OA] + gid] * m[p[OB] + gid];
    }

    /** y (OC) = x (OA) * scale[ch] (OF), ch = (i / HW) % C: dx of a fixed batch norm or of a folded scale. */
    private void scaleChannels() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) m[p[OC] + gid] = m[p[OA] + gid] * m[p[OF] + (gid / p[HW]) % p[C]];
    }

    /** y[plane] (OC) = mean over the HW values of x's plane (OD). */
    private void globalAvgForward() {
        int plane = getGlobalId();
        if (plane < p[COUNT]) {
            int hw = p[HW];
            int base = p[OD] + plane * hw;
            float acc = 0f;
            for (int i = 0; i < hw; i++) acc += m[base + i];
            m[p[OC] + plane] = acc / hw;
        }
    }

    /** dx[i] (OC) = dy[i / HW] (OA) / HW: each value of a plane receives an equal share. */
    private void globalAvgBackward() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) m[p[OC] + gid] = m[p[OA] + gid / p[HW]] / p[HW];
    }

    /**
     * Channel gid's mean and biased variance over its N*HW values of x (OD) (two passes,
     * Kahan-compensated float sums), and invStd = 1/sqrt(var + eps), into the pack at OE.
     */
    private void bnStats() {
        int ch = getGlobalId();
        if (ch < p[COUNT]) {
            int cc = p[C], hw = p[HW], od = p[OD], oe = p[OE];
            float sum = 0f, comp = 0f;
            for (int n = 0; n < p[N]; n++) {
                int base = od + (n * cc + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    float yk = m[base + i] - comp;
                    float tk = sum + yk;
                    comp = (tk - sum) - yk;
                    sum = tk;
                }
            }
            float mu = sum * fp[INV_M];
            float ss = 0f, comp2 = 0f;
            for (int n = 0; n < p[N]; n++) {
                int base = od + (n * cc + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    float dv = m[base + i] - mu;
                    float yk = dv * dv - comp2;
                    float tk = ss + yk;
                    comp2 = (tk - ss) - yk;
                    ss = tk;
                }
            }
            float var = ss * fp[INV_M];
            m[oe + MEAN * cc + ch] = mu;
            m[oe + VAR * cc + ch] = var;
            m[oe + INV_STD * cc + ch] = 1f / sqrt(var + fp[EPS]);
        }
    }

    /** y (OC) = gamma * (x (OD) - mean) * invStd + beta, the pack at OE. */
    private void bnNorm() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int cc = p[C], oe = p[OE];
            int ch = (gid / p[HW]) % cc;
            m[p[OC] + gid] = m[oe + GAMMA * cc + ch] * (m[p[OD] + gid] - m[oe + MEAN * cc + ch]) * m[oe + INV_STD * cc + ch]
                    + m[oe + BETA_V * cc + ch];
        }
    }

    /** Channel gid's sum dy (OA) and sum dy*xhat (x at OD) into the pack at OE (Kahan-compensated). */
    private void bnBackwardSums() {
        int ch = getGlobalId();
        if (ch < p[COUNT]) {
            int cc = p[C], hw = p[HW], oa = p[OA], od = p[OD], oe = p[OE];
            float mu = m[oe + MEAN * cc + ch], s = m[oe + INV_STD * cc + ch];
            float s1 = 0f, c1 = 0f, s2 = 0f, c2 = 0f;
            for (int n = 0; n < p[N]; n++) {
                int base = (n * cc + ch) * hw;
                for (int i = 0; i < hw; i++) {
                    float g = m[oa + base + i];
                    float y1 = g - c1;
                    float t1 = s1 + y1;
                    c1 = (t1 - s1) - y1;
                    s1 = t1;
                    float y2 = g * ((m[od + base + i] - mu) * s) - c2;
                    float t2 = s2 + y2;
                    c2 = (t2 - s2) - y2;
                    s2 = t2;
                }
            }
            m[oe + SUM_DY * cc + ch] = s1;
            m[oe + SUM_DY_XHAT * cc + ch] = s2;
        }
    }

    /** dx (OC) = gamma * invStd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M). */
    private void bnBackwardDx() {
        int gid = getGlobalId();
        if (gid < p[COUNT]) {
            int cc = p[C], oe = p[OE];
            int ch = (gid / p[HW]) % cc;
            float s = m[oe + INV_STD * cc + ch];
            float xhat = (m[p[OD] + gid] - m[oe + MEAN * cc + ch]) * s;
            m[p[OC] + gid] = m[oe + GAMMA * cc + ch] * s
                    * (m[p[OA] + gid] - m[oe + SUM_DY * cc + ch] * fp[INV_M] - xhat * m[oe + SUM_DY_XHAT * cc + ch] * fp[INV_M]);
        }
    }
}
