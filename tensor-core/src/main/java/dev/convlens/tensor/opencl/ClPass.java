package dev.convlens.tensor.opencl;

import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.PoolGeom;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole pass of OpenCL launches over one device arena, recorded on the host and then run by
 * {@link OpenClKernels#run} with one transfer in and one transfer out:
 * <ol>
 *   <li>record: {@link #upload} places host arrays (weights, the input) in the arena, {@link #alloc}
 *       reserves room for values computed on the device, and each op method appends its launches,
 *       naming its operands by {@link Slot};</li>
 *   <li>run: the arena is filled with the uploads and put on the device once, every launch runs
 *       there (the output of one is the input of the next, never copied), the arena is got once,
 *       and the slots named by {@link #download} are copied into their host arrays.</li>
 * </ol>
 * Nothing runs while recording, so a pass can be checked (shapes, sizes) before any device work.
 * {@link OpenClKernels}' own {@code Kernels} methods are one-op passes; {@code dev.convlens.nn}
 * records a whole network's forward or backward as one pass.
 *
 * <p>The im2col columns of every convolution share one workspace, placed after the last slot when
 * the pass runs (its size is the largest any convolution needs), so it is never fetched.
 */
public final class ClPass {
    /** A region of the float arena (or of the int arena, for switches): offset and length. */
    public record Slot(int off, int len) {
        /** The same memory seen at another length, from the start (a reshape: flatten, identity). */
        public Slot view(int length) {
            if (length > len) throw new IllegalArgumentException("ClPass: a view of " + length + " floats of a slot of " + len);
            return new Slot(off, length);
        }
    }

    /** One launch: a copy of the program's parameters, its range, and the p[] entries to add the workspace base to. */
    record Launch(int[] p, float[] fp, int global0, int global1, int[] wsIdx) {}

    record Copy(float[] host, Slot slot) {}

    record IntCopy(int[] host, Slot slot) {}

    final List<Launch> launches = new ArrayList<>();
    final List<Copy> uploads = new ArrayList<>(), downloads = new ArrayList<>();
    final List<IntCopy> intUploads = new ArrayList<>(), intDownloads = new ArrayList<>();
    /** Floats and ints reserved so far; the workspace size the convolutions need. */
    int floats, ints, workspace;

    private final int[] p = new int[ClProgram.P_LEN];
    private final float[] fp = new float[4];

    // ---------------------------------------------------------------- the arena

    /** Room for {@code len} floats computed on the device (not initialized: every op writes all of its output). */
    public Slot alloc(int len) {
        if (len < 0 || (long) floats + len > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException("ClPass: the arena cannot hold " + len + " more floats (has " + floats + ")");
        }
        Slot s = new Slot(floats, len);
        floats += len;
        return s;
    }

    /** Places {@code host} in the arena; its values are read when the pass runs (not now). */
    public Slot upload(float[] host) {
        Slot s = alloc(host.length);
        uploads.add(new Copy(host, s));
        return s;
    }

    /** {@link #upload}, or null for a null array (an absent optional operand). */
    public Slot uploadOrNull(float[] host) {
        return host == null ? null : upload(host);
    }

    /** Room for {@code len} ints (max-pool switches). */
    public Slot allocInts(int len) {
        Slot s = new Slot(ints, len);
        ints += len;
        return s;
    }

    public Slot uploadInts(int[] host) {
        Slot s = allocInts(host.length);
        intUploads.add(new IntCopy(host, s));
        return s;
    }

    /** After the pass ran, {@code host} receives the slot's values ({@code host.length} of them). */
    public void download(Slot s, float[] host) {
        if (host.length > s.len()) throw new IllegalArgumentException("ClPass: download of " + host.length + " floats from a slot of " + s.len());
        downloads.add(new Copy(host, s));
    }

    public void downloadInts(Slot s, int[] host) {
        intDownloads.add(new IntCopy(host, s));
    }

    /** Launches recorded so far. */
    public int launchCount() {
        return launches.size();
    }

    // ---------------------------------------------------------------- recording

    private void reset(int mode, int count) {
        java.util.Arrays.fill(p, 0);
        java.util.Arrays.fill(fp, 0f);
        p[ClProgram.MODE] = mode;
        p[ClProgram.COUNT] = count;
        for (int i = ClProgram.OA; i <= ClProgram.OS; i++) p[i] = -1;
    }

    private void add1d(int... wsIdx) {
        int global = roundUp(Math.max(p[ClProgram.COUNT], 1), ClProgram.WG);
        launches.add(new Launch(p.clone(), fp.clone(), global, 0, wsIdx));
    }

    static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    private static int off(Slot s) {
        return s == null ? -1 : s.off();
    }

    private static void need(Slot s, long len, String what) {
        if (s.len() < len) throw new IllegalArgumentException("ClPass: " + what + " needs " + len + " floats, its slot has " + s.len());
    }

    private void setConv(ConvGeom g) {
        p[ClProgram.N] = g.n();
        p[ClProgram.C] = g.c();
        p[ClProgram.H] = g.h();
        p[ClProgram.W] = g.w();
        p[ClProgram.K] = g.k();
        p[ClProgram.R] = g.r();
        p[ClProgram.S] = g.s();
        p[ClProgram.SH] = g.strideH();
        p[ClProgram.SW] = g.strideW();
        p[ClProgram.PT] = g.padTop();
        p[ClProgram.PL] = g.padLeft();
        p[ClProgram.DH] = g.dilH();
        p[ClProgram.DW] = g.dilW();
        p[ClProgram.OH] = g.oh();
        p[ClProgram.OW] = g.ow();
        p[ClProgram.CG] = g.cg();
        p[ClProgram.KG] = g.kg();
    }

    private void setPool(PoolGeom g) {
        p[ClProgram.N] = g.n();
        p[ClProgram.C] = g.c();
        p[ClProgram.H] = g.h();
        p[ClProgram.W] = g.w();
        p[ClProgram.R] = g.kernelH();
        p[ClProgram.S] = g.kernelW();
        p[ClProgram.SH] = g.strideH();
        p[ClProgram.SW] = g.strideW();
        p[ClProgram.PT] = g.padTop();
        p[ClProgram.PL] = g.padLeft();
        p[ClProgram.DH] = g.dilH();
        p[ClProgram.DW] = g.dilW();
        p[ClProgram.OH] = g.oh();
        p[ClProgram.OW] = g.ow();
    }

    /**
     * {@code C = alpha op(A) op(B) + beta C} on arena slots, the offsets relative to each slot, as
     * {@code Kernels.gemm}: one launch tiled through local memory ({@link ClProgram}).
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha, Slot a, int aOff, int lda,
                     Slot b, int bOff, int ldb, float beta, Slot c, int cOff, int ldc) {
        gemmAt(transA, transB, m, n, kk, alpha, a.off() + aOff, lda, b.off() + bOff, ldb, beta, c.off() + cOff, ldc);
    }

    /** The GEMM launch on absolute arena offsets; {@code wsIdx} lists which of A_OFF/B_OFF/C_OFF are workspace-relative. */
    private void gemmAt(boolean transA, boolean transB, int m, int n, int kk, float alpha, int aOff, int lda,
                        int bOff, int ldb, float beta, int cOff, int ldc, int... wsIdx) {
        reset(ClProgram.GEMM, 0);
        p[ClProgram.TRANS_A] = transA ? 1 : 0;
        p[ClProgram.TRANS_B] = transB ? 1 : 0;
        p[ClProgram.GM] = m;
        p[ClProgram.GN] = n;
        p[ClProgram.GK] = kk;
        p[ClProgram.A_OFF] = aOff;
        p[ClProgram.LDA] = lda;
        p[ClProgram.B_OFF] = bOff;
        p[ClProgram.LDB] = ldb;
        p[ClProgram.C_OFF] = cOff;
        p[ClProgram.LDC] = ldc;
        fp[ClProgram.ALPHA] = alpha;
        fp[ClProgram.BETA] = beta;
        int tm = ClProgram.TM; // 16 x 16 items per TM x TM tile of C
        launches.add(new Launch(p.clone(), fp.clone(), roundUp(n, tm) / 4, roundUp(m, tm) / 4, wsIdx));
    }

    /**
     * {@code y = act(scale[k] * (conv(x, w) + b[k]) + shift[k] + res)} as {@code Kernels.convForwardAffine}:
     * per image and group an im2col into the workspace and a GEMM, then one epilogue launch. b,
     * scale with shift, and res may be null.
     */
    public void conv(ConvGeom g, Slot x, Slot w, Slot b, Slot scale, Slot shift, Slot res, boolean relu, Slot y) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        long ySize = (long) g.n() * g.k() * ohw;
        need(x, (long) g.n() * g.c() * g.h() * g.w(), "conv input x");
        need(w, (long) g.k() * crs, "conv weight w");
        need(y, ySize, "conv output y");
        workspace = Math.max(workspace, crs * ohw);
        for (int n = 0; n < g.n(); n++) {
            for (int grp = 0; grp < g.groups(); grp++) {
                reset(ClProgram.IM2COL, crs * ohw);
                setConv(g);
                p[ClProgram.IMG] = n;
                p[ClProgram.GRP] = grp;
                p[ClProgram.OD] = x.off();
                p[ClProgram.OB] = 0;
                add1d(ClProgram.OB);
                gemmAt(false, false, kg, ohw, crs, 1f, w.off() + grp * kg * crs, crs, 0, ohw,
                        0f, y.off() + (n * g.k() + grp * kg) * ohw, ohw, ClProgram.B_OFF);
            }
        }
        if (b != null || scale != null || res != null || relu) epilogue(g.k(), ohw, (int) ySize, y, b, scale, shift, res, relu);
    }

    /**
     * In place on the first {@code count} values of y, channel {@code ch = (i / hw) % c}:
     * {@code y = act(scale[ch] * (y + b[ch]) + shift[ch] + res[i])}; b, scale, shift and res may each be null.
     */
    public void epilogue(int c, int hw, int count, Slot y, Slot b, Slot scale, Slot shift, Slot res, boolean relu) {
        need(y, count, "epilogue y");
        if (res != null) need(res, count, "residual");
        reset(ClProgram.EPILOGUE, count);
        p[ClProgram.C] = c;
        p[ClProgram.HW] = hw;
        p[ClProgram.OC] = y.off();
        p[ClProgram.OE] = off(b);
        p[ClProgram.OF] = off(scale);
        p[ClProgram.OG] = off(shift);
        p[ClProgram.ORS] = off(res);
        p[ClProgram.RELU] = relu ? 1 : 0;
        add1d();
    }

    /** dx = the transposed convolution of dy: per image and group a GEMM {@code w_gᵀ dy_g} into the workspace, then col2im. */
    public void convBackwardData(ConvGeom g, Slot dy, Slot w, Slot dx) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        need(dx, (long) g.n() * g.c() * g.h() * g.w(), "conv gradient dx");
        workspace = Math.max(workspace, crs * ohw);
        for (int n = 0; n < g.n(); n++) {
            for (int grp = 0; grp < g.groups(); grp++) {
                gemmAt(true, false, crs, ohw, kg, 1f, w.off() + grp * kg * crs, crs,
                        dy.off() + (n * g.k() + grp * kg) * ohw, ohw, 0f, 0, ohw, ClProgram.C_OFF);
                reset(ClProgram.COL2IM, cg * g.h() * g.w());
                setConv(g);
                p[ClProgram.IMG] = n;
                p[ClProgram.GRP] = grp;
                p[ClProgram.OC] = 0;
                p[ClProgram.OD] = dx.off();
                add1d(ClProgram.OC);
            }
        }
    }

    /** dw (when not null) summed over the images, per group a GEMM {@code dy_g colᵀ}; db (when not null) per channel. */
    public void convBackwardWeights(ConvGeom g, Slot x, Slot dy, Slot dw, Slot db) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        if (db != null) channelSums(g.n(), g.k(), g.oh() * g.ow(), dy, db);
        if (dw == null) return;
        workspace = Math.max(workspace, crs * ohw);
        for (int n = 0; n < g.n(); n++) {
            for (int grp = 0; grp < g.groups(); grp++) {
                reset(ClProgram.IM2COL, crs * ohw);
                setConv(g);
                p[ClProgram.IMG] = n;
                p[ClProgram.GRP] = grp;
                p[ClProgram.OD] = x.off();
                p[ClProgram.OB] = 0;
                add1d(ClProgram.OB);
                gemmAt(false, true, kg, crs, ohw, 1f, dy.off() + (n * g.k() + grp * kg) * ohw, ohw, 0, ohw,
                        n == 0 ? 0f : 1f, dw.off() + grp * kg * crs, crs, ClProgram.B_OFF);
            }
        }
    }

    /** {@code s[ch] = sum over n and the hw positions of x[n, ch]} (a conv bias gradient; a GEMM's bias gradient with hw = 1). */
    public void channelSums(int n, int c, int hw, Slot x, Slot s) {
        reset(ClProgram.BIAS_GRAD, c);
        p[ClProgram.N] = n;
        p[ClProgram.K] = c;
        p[ClProgram.OH] = hw;
        p[ClProgram.OW] = 1;
        p[ClProgram.OA] = x.off();
        p[ClProgram.OE] = s.off();
        add1d();
    }

    /** Max pooling with switches (flat indices into x) in the int slot {@code sw}. */
    public void maxPool(PoolGeom g, Slot x, Slot y, Slot sw) {
        int count = g.n() * g.c() * g.oh() * g.ow();
        need(y, count, "max-pool output y");
        reset(ClProgram.POOL_FWD, count);
        setPool(g);
        p[ClProgram.OD] = x.off();
        p[ClProgram.OC] = y.off();
        p[ClProgram.OS] = sw.off();
        add1d();
    }

    /** Unpooling through the switches as a gather; the switches must lie inside their windows (as {@link #maxPool} makes them). */
    public void maxPoolBackward(PoolGeom g, Slot dy, Slot sw, Slot dx) {
        int count = g.n() * g.c() * g.h() * g.w();
        need(dx, count, "unpooling output dx");
        reset(ClProgram.POOL_BWD, count);
        setPool(g);
        p[ClProgram.OA] = dy.off();
        p[ClProgram.OS] = sw.off();
        p[ClProgram.OD] = dx.off();
        add1d();
    }

    public void relu(Slot x, Slot y) {
        reset(ClProgram.RELU_FWD, x.len());
        p[ClProgram.OD] = x.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** dx = dy where the masks in use pass: forward (x > 0) and signal (dy > 0); x may be the ReLU's output (same mask). */
    public void reluBackward(Slot x, Slot dy, Slot dx, boolean forwardMask, boolean signalMask) {
        reset(ClProgram.RELU_BWD, dy.len());
        p[ClProgram.OA] = dy.off();
        p[ClProgram.OD] = forwardMask ? x.off() : dy.off();
        p[ClProgram.OC] = dx.off();
        p[ClProgram.FWD_MASK] = forwardMask ? 1 : 0;
        p[ClProgram.SIG_MASK] = signalMask ? 1 : 0;
        add1d();
    }

    /** y = a + b elementwise (y may be a or b). */
    public void add(Slot a, Slot b, Slot y) {
        reset(ClProgram.ADD, y.len());
        p[ClProgram.OA] = a.off();
        p[ClProgram.OB] = b.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** y = a * b elementwise (a dropout mask). */
    public void mul(Slot a, Slot b, Slot y) {
        reset(ClProgram.MUL, y.len());
        p[ClProgram.OA] = a.off();
        p[ClProgram.OB] = b.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** y = x * scale[ch], ch = (i / hw) % c. */
    public void scaleChannels(int c, int hw, Slot x, Slot scale, Slot y) {
        reset(ClProgram.SCALE_CH, x.len());
        p[ClProgram.C] = c;
        p[ClProgram.HW] = hw;
        p[ClProgram.OA] = x.off();
        p[ClProgram.OF] = scale.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** y[plane] = the mean of the plane's hw values of x. */
    public void globalAvg(int planes, int hw, Slot x, Slot y) {
        reset(ClProgram.GAP_FWD, planes);
        p[ClProgram.HW] = hw;
        p[ClProgram.OD] = x.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** dx[i] = dy[i / hw] / hw. */
    public void globalAvgBackward(int planes, int hw, Slot dy, Slot dx) {
        reset(ClProgram.GAP_BWD, planes * hw);
        p[ClProgram.HW] = hw;
        p[ClProgram.OA] = dy.off();
        p[ClProgram.OC] = dx.off();
        add1d();
    }

    private void setBn(int n, int c, int hw) {
        p[ClProgram.N] = n;
        p[ClProgram.C] = c;
        p[ClProgram.HW] = hw;
        fp[ClProgram.INV_M] = (float) (1.0 / ((double) n * hw));
    }

    /** Batch statistics into the pack (7c floats: gamma, beta filled; mean, invStd, var written), then y normalized. */
    public void batchNormTrain(int n, int c, int hw, float eps, Slot x, Slot pack, Slot y) {
        reset(ClProgram.BN_STATS, c);
        setBn(n, c, hw);
        fp[ClProgram.EPS] = eps;
        p[ClProgram.OD] = x.off();
        p[ClProgram.OE] = pack.off();
        add1d();
        batchNormApply(n, c, hw, x, pack, y);
    }

    /** y = gamma (x - mean) invStd + beta with the statistics in the pack. */
    public void batchNormApply(int n, int c, int hw, Slot x, Slot pack, Slot y) {
        reset(ClProgram.BN_NORM, n * c * hw);
        setBn(n, c, hw);
        p[ClProgram.OD] = x.off();
        p[ClProgram.OE] = pack.off();
        p[ClProgram.OC] = y.off();
        add1d();
    }

    /** Where the pack (of C channels) holds the mean, the invStd, the variance, sum dy (dbeta) and sum dy*xhat (dgamma). */
    public static Slot packMean(Slot pack, int c) {
        return new Slot(pack.off() + ClProgram.MEAN * c, c);
    }

    public static Slot packInvStd(Slot pack, int c) {
        return new Slot(pack.off() + ClProgram.INV_STD * c, c);
    }

    public static Slot packVar(Slot pack, int c) {
        return new Slot(pack.off() + ClProgram.VAR * c, c);
    }

    public static Slot packDbeta(Slot pack, int c) {
        return new Slot(pack.off() + ClProgram.SUM_DY * c, c);
    }

    public static Slot packDgamma(Slot pack, int c) {
        return new Slot(pack.off() + ClProgram.SUM_DY_XHAT * c, c);
    }

    /** Sums dy and dy*xhat per channel into the pack; then, when dx is not null, the batch-statistics dx. */
    public void batchNormTrainBackward(int n, int c, int hw, Slot x, Slot dy, Slot pack, Slot dx) {
        reset(ClProgram.BN_BWD_SUMS, c);
        setBn(n, c, hw);
        p[ClProgram.OA] = dy.off();
        p[ClProgram.OD] = x.off();
        p[ClProgram.OE] = pack.off();
        add1d();
        if (dx == null) return;
        reset(ClProgram.BN_BWD_DX, n * c * hw);
        setBn(n, c, hw);
        p[ClProgram.OA] = dy.off();
        p[ClProgram.OD] = x.off();
        p[ClProgram.OE] = pack.off();
        p[ClProgram.OC] = dx.off();
        add1d();
    }
}
