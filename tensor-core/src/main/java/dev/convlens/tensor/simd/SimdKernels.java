package dev.convlens.tensor.simd;

import static dev.convlens.tensor.simd.Gemm.KC;
import static dev.convlens.tensor.simd.Gemm.MR;
import static dev.convlens.tensor.simd.Gemm.NR;
import static dev.convlens.tensor.simd.Gemm.VL;
import static dev.convlens.tensor.simd.Gemm.blockDepth;
import static dev.convlens.tensor.simd.Gemm.ceilDiv;

import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Vector API kernels, split across a fixed number of threads. Every kernel is a GEMM ({@link Gemm})
 * whose B operand is packed straight from the tensors, one micro-panel at a time (im2col never
 * exists as a whole matrix), and whose A operand is the weights or dy, read in place or packed:
 * <pre>
 *   forward          y_g  (kg, oh*ow)   = w_g (kg, cg*r*s)   * col(x_g) (cg*r*s, oh*ow)   + b
 *   backward-data    dx_g               = col2im( w_g^T (cg*r*s, kg) * dy_g (kg, oh*ow) )
 *   backward-weights dw_g (kg, cg*r*s)  = sum_n dy_g (kg, oh*ow) * col(x_g)^T (oh*ow, cg*r*s)
 *                    db[k]              = sum_{n,p} dy[n,k,p]
 * </pre>
 * per image n and group g (see {@link Im2col}). A 1x1 convolution with stride 1 and no padding
 * skips im2col and col2im: col is x itself.
 *
 * <p>Threads: the work of a call is cut into independent tasks (image x group x column strip or
 * row block, each writing its own part of the output) that the caller and {@code threads-1}
 * daemon workers ({@link Crew}: they spin briefly between calls) take from a shared counter; with
 * one thread everything runs on the caller.
 * Tasks never start other tasks, so there is no nested parallelism to deadlock. Workers that
 * sit idle for {@value #IDLE_SECONDS} s end, so an abandoned instance holds no threads.
 * Workspaces (packed panels) belong to the instance and grow on demand, so an instance serves
 * one call at a time (the entry points are synchronized).
 *
 * <p>Performance notes (measured on a 2-core AVX-512 Xeon, see bench/README.md): the 8x32 kernel
 * runs at ~95% of the FMA peak on a packed A and a B panel in L1; whole convolutions reach about
 * half the peak on one core, the rest going to im2col packing, col2im and partial panels.
 */
public final class SimdKernels implements Kernels {
    /** Below this many multiply-adds a gemm runs on the caller alone. */
    private static final long SMALL_GEMM = 1 << 16;
    /** Floats of a transposed B from which gemm with few rows of A reads B's rows in place (gemmWeightRows): AlexNet's fully connected layers (4M-38M), not ResNet-18's (0.5M). */
    private static final long WEIGHT_ROWS_MIN = 1 << 21;
    /** gemmShallow: B (kk <= KC, n) packed whole up to this many floats (4 MiB, in L2)... */
    private static final long SHALLOW_B_MAX = 1 << 20;
    /** ... for a C of at least this many floats (4 MiB: past L2, so the order of its stores matters). */
    private static final long SHALLOW_C_MIN = 1 << 20;
    /**
     * Pack A into panels when each of its panels meets at least this many B panels: packing costs
     * 1-2 cycles a float when A fits the caches (and several ns when its columns lie pages apart,
     * as in the 512x4608 weights of layer4 read transposed), while the kernel runs ~25% faster on
     * a packed A (one stream instead of MR), a gain of ~0.15 cycle per float and B panel.
     */
    private static final int PACK_A_MIN_PANELS = 8;
    /** Steps of k per block when A is read in place with a row of the weights per step (pages apart). */
    private static final int TLB_DEPTH = 96;
    /** B panels packed at a time by backward-weights: (CHUNK, KC, NR) is at most 1 MiB, in L2. */
    private static final int CHUNK = 32;
    /** Largest workspace (floats) of partial dw sums for {@link #backwardWeightsSplitSum}: 8 MiB. */
    private static final int SPLIT_SUM_MAX_FLOATS = 2 << 20;
    /** Idle workers end after this long; the next call starts them again. */
    private static final long IDLE_SECONDS = 30;
    /**
     * Output pixels (over the batch) from which backward-data of a stride-1 convolution runs as a
     * forward (see asForward): flipping the weights is one memory-bound pass over them (~3 ms for the
     * 9.4 MB of layer4, as long as its forward), worth it from layer3's 196 pixels, not at layer4's 49.
     */
    private static final int FLIP_MIN_PIXELS = 100;
    /** Columns of c per block of the one-row gemm with B stored (kk, n): 4 KiB of sums stay in L1. */
    private static final int GEMV_COLUMNS = 1024;
    /** Backward-data splits over strips of output rows too when it has fewer (image, input channel) pairs than this. */
    private static final int STRIP_BELOW = 8;
    /** At most this many strips of output rows in backward-data (see stripRows). */
    private static final int MAX_STRIPS = 16;
    /** Tasks per thread that {@link #splits} aims at. */
    private static final int TASKS_PER_THREAD = 4;
    /** (k, c) block edge of the weight flip in backward-data as a forward. */
    private static final int FLIP_BLOCK = 16;
    /**
     * Column panels from which forwardFewPanels copies each K block of its weight rows LDF apart
     * for Gemm.kernelRowsFixed: layer3 (7 panels) 12% faster; layer4 (2 panels) gained nothing, the
     * copy (the weights' one read from memory) costing what the kernel saved.
     */
    private static final int COPY_A_MIN_PANELS = 4;
    /** Column panels (over all images and groups) up to which the forward packs col(x) whole; see forwardFewPanels. */
    private static final int FEW_PANELS = 8;
    /** Rows of A per pass of gemm over a column block: an (MC, KC) slice of A (256 KiB) stays in L2. */
    private static final int MC = 256;
    /**
     * Elements per task, at least, of an elementwise kernel split over the threads (ReLU, add): 64 KiB
     * of each array, a few microseconds of memory traffic, against the ~10 us it takes to hand a task
     * to a worker. Arrays shorter than two of these run on the caller alone.
     */
    private static final int ELEMENTWISE_CHUNK = 1 << 14;

    private final int threads;
    private final Crew crew;                              // threads-1 daemon workers; null for one thread
    private final Workspace[] workspaces;                 // one per worker; [0] is the caller's
    private float[] packedW = new float[0];               // forward weights (groups, ceil(kg/MR), cg*r*s, MR)
    private float[] flippedW = new float[0];              // backward-data as a forward: w~ (c, kg, r, s), flipped; or its F(4x4, 3x3) transform U (one buffer: a call uses one form)
    private float[] packedB = new float[0];               // forward with few panels: col(x) (units, nPanels, cg*r*s*NR + VL)
    private float[] winoU = new float[0];                 // Winograd: the transformed weights U (see forwardWinograd)
    private float[] phasedX = new float[0];               // stride 2: the input's phase planes (n, c, 4, Im2col.Phases: unpadded, or padded to be read in place)
    private int[] tapOffsets = new int[0];                // ... read in place: where each im2col row starts in them (Im2col.tapOffsets)
    private float[] phasedDx = new float[0];              // stride-2 backward-data of the stem: dx's phase planes, padded (Im2col.paddedPhaseFloats per channel)
    private float[] partialDw = new float[0];             // backward-weights split over the sum: runs 1.. (runs-1, kg, depth)
    private float[] tapSums = new float[0];               // backwardWeightsShifted: each run's dw by tap (runs, r*s, ceil(k/MR)*MR, ceil(c/NR)*NR); backwardWeightsRowTaps: (runs, c*r*sp*MR, ceil(k/NR)*NR)
    /** {@code -Dconvlens.inPlace=false}: the forward packs B from the phase planes even where it could read them in place (A/B runs, tests). */
    static final boolean IN_PLACE = !"false".equals(System.getProperty("convlens.inPlace"));
    /** Winograd (F(2x2, 3x3) forwards, F(4x4, 3x3) backward-data) for the 3x3 stride-1 convolutions it applies to; -Dconvlens.winograd=false turns both off (A/B timing). */
    static final boolean WINOGRAD = !"false".equals(System.getProperty("convlens.winograd"));
    /** Floats of V (and of M) per chunk of tile rows in forwardWinograd: 0.5 MiB each, kept in L2 (tests lower it). */
    static int winoChunkFloats = 128 << 10;
    /** Floats between the 16 ξ regions of U, V and M beyond their size (64 bytes). */
    private static final int WINO_SKEW = 16;

    private SimdKernels(int threads) {
        this.threads = threads;
        this.workspaces = new Workspace[threads];
        for (int i = 0; i < threads; i++) workspaces[i] = new Workspace();
        this.crew = threads == 1 ? null : new Crew("convlens-simd", threads, IDLE_SECONDS);
    }

    /** Kernels using {@code threads} threads (the caller and threads-1 daemon workers). */
    public static SimdKernels create(int threads) {
        if (threads < 1) throw new IllegalArgumentException("SimdKernels: threads must be >= 1, got " + threads);
        return new SimdKernels(threads);
    }

    @Override
    public String name() {
        return "simd(" + threads + " threads)";
    }

    /** The thread count this instance splits work over. */
    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void parallelFor(int tasks, java.util.function.IntConsumer body) {
        parallelFor(tasks, (t, ws) -> body.accept(t));
    }

    // ---------------------------------------------------------------- workspaces and threads

    /** A worker's buffers, grown on demand and reused across calls. */
    private static final class Workspace {
        float[] a = new float[0];                         // a packed block of A (ceil(rows/MR), depth, MR)
        final float[] b = new float[KC * NR + VL];        // one packed B micro-panel (kc <= KC, NR) + VL slack for spills
        final float[] b2 = new float[NR + KC * NR + VL];  // the second image's part of a panel across two (Im2col.packPanelAcross)
        float[] bs = new float[0];                        // backward-weights: a chunk of B panels (chunk, kc, NR)
        float[] col = new float[0];                       // backward-data column panel (rows, NR)
        final float[] tile = new float[MR * NR];          // the register tile (MR, NR)
        final float[] aTail = new float[KC * MR];         // a last partial panel of A rows (kc <= KC, MR)
        final float[] rows = new float[NR * KC + VL];     // im2col rows before transposing (NR, kc <= KC) + slack
        final float[] block = new float[VL * NR + VL];    // backwardWeightsShifted: VL pixels of NR channels, transposed
        float[] gridX = new float[0];                     // backwardWeightsShifted: one image's x, channel-last on the padded grid (ceil(c/NR), cells, NR); backwardWeightsRowTaps: the image padded
        float[] gridDy = new float[0];                    // backwardWeightsShifted: one image's dy on the grid's columns (ceil(k/MR), oh*gw, MR); backwardWeightsRowTaps: a band of dy channel-last
        final int[] gather = new int[NR];                 // lane offsets of the transposing gathers (NR)
        final float[] lanes = new float[VL];              // gemv: the lanes of a dot product, summed in order
        final float[] row = new float[GEMV_COLUMNS];      // gemv: a block of c's columns (GEMV_COLUMNS)
        float[] winoV = new float[0], winoM = new float[0]; // Winograd: a chunk's V and M
        final Pooling.Rows pool = new Pooling.Rows();     // max pooling: input rows split into even and odd columns
        Winograd.Scratch wino;                            // Winograd transforms' rows, for tiles per row winoTw
        Winograd4.Scratch wino4;                          // F(4x4, 3x3): transforms' rows and tile-major copies
        int winoTw = -1;

        /** Rows for at least tw tiles (larger ones serve: the transforms read only up to tw). */
        Winograd.Scratch wino(int tw) {
            if (winoTw < tw) {
                wino = new Winograd.Scratch(tw);
                winoTw = tw;
            }
            return wino;
        }

        /** F(4x4, 3x3)'s buffers for chunks of at least {@code tiles} tiles in rows of at least tw (larger ones serve). */
        Winograd4.Scratch wino4(int tw, int tiles) {
            if (wino4 == null || !wino4.fits(tw, tiles)) wino4 = new Winograd4.Scratch(tw, tiles);
            return wino4;
        }

        static float[] grow(float[] buf, int n) {
            return buf.length >= n ? buf : new float[n];
        }
    }

    /** One task of a parallel loop: {@code task} in [0, tasks), using the running worker's buffers. */
    private interface Task {
        void run(int task, Workspace ws);
    }

    /** Runs tasks 0..tasks-1 on the caller and the workers ({@link Crew}); returns when all are done, rethrowing the first failure. */
    private void parallelFor(int tasks, Task body) {
        if (crew == null || tasks == 1) {
            for (int t = 0; t < tasks; t++) body.run(t, workspaces[0]);
            return;
        }
        crew.run(tasks, (t, worker) -> body.run(t, workspaces[worker]));
    }

    /**
     * Into how many pieces to cut each of {@code units} work units (at most {@code max}) so the
     * tasks keep every thread busy: at least {@value #TASKS_PER_THREAD} tasks per thread where the
     * work allows, taken dynamically, so a thread that the OS deschedules for a while (a shared
     * machine) delays a call by one small task, not by half the call.
     */
    private int splits(int units, int max) {
        if (threads == 1) return 1;
        long s = ((long) TASKS_PER_THREAD * threads + units - 1) / units;
        return (int) Math.max(1, Math.min(max, s));
    }

    // ---------------------------------------------------------------- convolution forward

    @Override
    public synchronized void convForward(ConvGeom g, float[] x, float[] w, float[] b, float[] y) {
        forward(g, x, w, b, null, y);
    }

    /** The affine map, the residual and ReLU are applied to each tile as the last K block stores it. */
    @Override
    public synchronized void convForwardAffine(ConvGeom g, float[] x, float[] w, float[] b, float[] scale,
                                               float[] shift, float[] res, boolean relu, float[] y) {
        if ((scale == null) != (shift == null))
            throw new IllegalArgumentException("convForwardAffine: scale and shift must both be given or both be null");
        boolean none = scale == null && res == null && !relu;
        forward(g, x, w, b, none ? null : new Gemm.Epilogue(scale, shift, res, relu), y);
    }

    private void forward(ConvGeom g, float[] x, float[] w, float[] b, Gemm.Epilogue ep, float[] y) {
        if (WINOGRAD && Winograd.applies(g)) {
            forwardWinograd(g, x, w, false, b, ep, y);
            return;
        }
        int groups = g.groups(), kg = g.kg(), cg = g.cg(), depth = cg * g.r() * g.s();
        int hw = g.h() * g.w(), pix = g.oh() * g.ow();
        int mPanels = ceilDiv(kg, MR), nPanels = ceilDiv(pix, NR);
        // stride 2: im2col reads the phase planes of x (see Im2col.phased), split once per call; with
        // output rows of whole vectors, B is read in place from padded phase planes, not packed
        int units = g.n() * groups;
        boolean few = units * nPanels <= FEW_PANELS;
        // A = w_g (kg, depth): packed once per call when it meets enough B panels, else read in place.
        boolean pack = (long) g.n() * nPanels >= PACK_A_MIN_PANELS;
        Im2col.Phases padded = IN_PLACE && !few && pack && Im2col.readsInPlace(g) ? Im2col.Phases.of(g) : null;
        // the padded planes are a few percent larger than x: past an int's range, the packed path
        boolean inPlace = padded != null && (long) g.n() * g.c() * 4 * padded.size() <= Integer.MAX_VALUE - VL;
        Im2col.Phases f = inPlace ? padded : Im2col.phased(g) ? Im2col.Phases.unpadded(g) : null;
        int chanFloats = f != null ? 4 * f.size() : hw;
        float[] src = f != null ? splitPhases(g, f, x) : x;
        int[] offs = inPlace ? (tapOffsets = tapOffsets.length >= depth ? tapOffsets : new int[depth]) : null;
        if (inPlace) Im2col.tapOffsets(g, f, offs);
        if (few) {                                        // reads the weights in place: nothing to pack
            forwardFewPanels(g, src, chanFloats, w, b, ep, y);
            return;
        }
        int wStride = mPanels * MR * depth;               // floats per group in packedW
        float[] a = pack ? (packedW = Workspace.grow(packedW, groups * wStride)) : w;
        if (pack) {
            parallelFor(groups * mPanels, (t, ws) -> {
                int grp = t / mPanels, i0 = (t % mPanels) * MR;
                Gemm.packA(w, (grp * kg + i0) * depth, depth, 1, Math.min(MR, kg - i0), depth,
                        a, grp * wStride + i0 * depth);
            });
        }
        if (groups == 1 && g.n() > 1 && Im2col.shifts(g) && pix >= NR && pix % NR != 0) {
            forwardAcrossImages(g, src, a, pack, b, ep, y);
            return;
        }
        // Tasks: image x group x column strip (x row block when the strips are too few).

        int strips = splits(units, nPanels);
        int rowBlocks = units * strips >= threads ? 1 : splits(units * strips, mPanels);
        int kcb = blockDepth(depth);
        parallelFor(units * strips * rowBlocks, (t, ws) -> {
            int rb = t % rowBlocks, st = (t / rowBlocks) % strips, unit = t / (rowBlocks * strips);
            int img = unit / groups, grp = unit % groups;
            int i0 = rb * mPanels / rowBlocks * MR, i1 = Math.min(kg, (rb + 1) * mPanels / rowBlocks * MR);
            int jpa = st * nPanels / strips, jpb = (st + 1) * nPanels / strips;
            int xc = (img * g.c() + grp * cg) * chanFloats; // the group's first input channel
            int yc = (img * g.k() + grp * kg + i0) * pix; // the block's first output channel
            for (int pc = 0; pc < depth; pc += kcb) {
                int kc = Math.min(kcb, depth - pc);
                boolean first = pc == 0;
                Gemm.Epilogue e = pc + kc == depth ? ep : null;
                for (int jp = jpa; jp < jpb; jp++) {
                    int p0 = jp * NR, nr = Math.min(NR, pix - p0);
                    if (inPlace) {                        // the panel's second vector: the same row, the next, or none (nr = VL)
                        int oy = p0 / g.ow(), ox = p0 % g.ow(), base = xc + oy * f.cols() + ox;
                        int delta = nr <= VL ? 0 : ox + VL < g.ow() ? VL : f.cols() - ox;
                        for (int i = i0; i < i1; i += MR) {
                            Gemm.kernelColumnsAt(kc, a, i * depth + pc * MR, src, offs, pc, base, delta, ws.tile);
                            Gemm.storeTile(ws.tile, Math.min(MR, i1 - i), nr, y, yc + (i - i0) * pix + p0, pix,
                                    1f, first ? 0f : 1f, first ? b : null, i, e);
                        }
                        continue;
                    }
                    Im2col.packPanel(g, src, xc, pc, kc, p0, nr, ws.b);
                    if (pack) {
                        Gemm.panelColumn(i1 - i0, nr, kc, a, grp * wStride + i0 * depth + pc * MR, 1, MR, depth * MR,
                                ws.b, 0, y, yc + p0, pix, 1f, first ? 0f : 1f, first ? b : null, grp * kg + i0,
                                ws.tile, ws.aTail, e);
                    } else {
                        Gemm.panelColumn(i1 - i0, nr, kc, w, (grp * kg + i0) * depth + pc, depth, 1, MR * depth,
                                ws.b, 0, y, yc + p0, pix, 1f, first ? 0f : 1f, first ? b : null, grp * kg + i0,
                                ws.tile, ws.aTail, e);
                    }
                }
            }
        });
    }

    /**
     * The forward of a batch whose images' pixels do not fill whole panels (stride 1, same size,
     * {@code pix >= NR}; ResNet's layer3 and layer4 at batch 16: 196 and 49 pixels per image, 7 and 2
     * panels each, 12.5% and 31% of the columns computed for nothing): the panels run over the
     * pixels of the whole batch, a panel across two images packed by {@link Im2col#packPanelAcross}
     * and stored in two parts. Each column's sum is the one of the per-image panels (same K blocks,
     * same order), so an image gives the same bits alone and in any batch. {@code a} is the weights,
     * packed ({@code pack}) or read in place.
     */
    private void forwardAcrossImages(ConvGeom g, float[] x, float[] a, boolean pack, float[] b,
                                     Gemm.Epilogue ep, float[] y) {
        int kg = g.kg(), depth = g.cg() * g.r() * g.s(), pix = g.oh() * g.ow(), total = g.n() * pix;
        int mPanels = ceilDiv(kg, MR), nPanels = ceilDiv(total, NR), imgFloats = g.c() * g.h() * g.w();
        int strips = splits(1, nPanels);
        int rowBlocks = strips >= threads ? 1 : splits(strips, mPanels);
        int kcb = blockDepth(depth);
        parallelFor(strips * rowBlocks, (t, ws) -> {
            int rb = t % rowBlocks, st = t / rowBlocks;
            int i0 = rb * mPanels / rowBlocks * MR, i1 = Math.min(kg, (rb + 1) * mPanels / rowBlocks * MR);
            int jpa = st * nPanels / strips, jpb = (st + 1) * nPanels / strips;
            for (int pc = 0; pc < depth; pc += kcb) {
                int kc = Math.min(kcb, depth - pc);
                boolean first = pc == 0;
                Gemm.Epilogue e = pc + kc == depth ? ep : null;
                for (int jp = jpa; jp < jpb; jp++) {
                    int p0 = jp * NR, nr = Math.min(NR, total - p0), img = p0 / pix, split = Math.min(nr, pix - p0 % pix);
                    Im2col.packPanelAcross(g, x, imgFloats, pc, kc, p0, nr, ws.b, ws.b2);
                    int cOff = (img * g.k() + i0) * pix + p0 % pix, cOff2 = ((img + 1) * g.k() + i0) * pix;
                    // packed: A(i, p) at i0*depth + pc*MR + i*1 + p*MR; in place: at (i0 + i)*depth + pc + p; panels MR*depth apart either way
                    Gemm.panelColumn(i1 - i0, nr, split, kc, a, i0 * depth + pc * (pack ? MR : 1), pack ? 1 : depth, pack ? MR : 1,
                            MR * depth, ws.b, 0, y, cOff, cOff2, pix, 1f, first ? 0f : 1f, first ? b : null, i0, ws.tile, ws.aTail, e);
                }
            }
        });
    }

    /** x split into its phase planes in layout f (Im2col.splitPhases) in the workspace phasedX, the planes shared out over the threads. */
    private float[] splitPhases(ConvGeom g, Im2col.Phases f, float[] x) {
        int planes = g.n() * g.c(), tasks = Math.min(planes, TASKS_PER_THREAD * threads);
        float[] dst = phasedX = Workspace.grow(phasedX, planes * 4 * f.size());
        parallelFor(tasks, (t, ws) -> Im2col.splitPhases(g, f, x, t * planes / tasks, (t + 1) * planes / tasks, dst));
        return dst;
    }

    /**
     * A 3x3 stride-1 convolution as Winograd F(2x2, 3x3) ({@link Winograd}): the weights
     * transformed into U (packed A panels, one set per ξ, shared), then the tiles in chunks of a few
     * rows of one image, each chunk a task that runs all of it on its own buffers: the input tiles
     * into V (packed B panels: written straight in the layout the micro-kernel reads), the 16
     * products {@code M_ξ = U_ξ V_ξ}, and the output transform with the bias and the epilogue. A
     * chunk's V and M (0.5 MiB each) stay in L2 from the transform that writes them to the one
     * that reads them. {@code flipped}: g is a backward-data run as a forward and w the unflipped
     * weights it differentiates ({@link Winograd#transformWeights} reads each filter transposed and
     * reversed).
     */
    private void forwardWinograd(ConvGeom g, float[] x, float[] w, boolean flipped, float[] b, Gemm.Epilogue ep, float[] y) {
        int c = g.c(), k = g.k(), tw = Winograd.tilesW(g), th = Winograd.tilesH(g), rt = Winograd.rowTiles(g);
        // each ξ's region is padded by 64 bytes: 16 regions a multiple of 4 KiB apart would share L1 sets
        int mPanels = ceilDiv(k, MR), uStride = mPanels * MR * c + WINO_SKEW;
        float[] u = winoU = Workspace.grow(winoU, 16 * uStride);
        int wTasks = splits(1, mPanels);
        parallelFor(wTasks, (t, ws) -> Winograd.transformWeights(g, w, flipped, t * mPanels / wTasks, (t + 1) * mPanels / wTasks, u, uStride));
        // at least a full B panel of tiles a chunk: with 512 channels over 28x28 (rows of 16 places) the
        // chunk of winoChunkFloats was one row, half a panel, and Winograd slower than the direct path
        int rows = winoRows(g.n(), th, rt, Math.max(ceilDiv(NR, rt), winoChunkFloats / (16 * Math.max(c, k)) / rt)), chunks = ceilDiv(th, rows);
        int kcb = blockDepth(c);
        parallelFor(g.n() * chunks, (t, ws) -> {
            int img = t / chunks, ty0 = t % chunks * rows, ty1 = Math.min(th, ty0 + rows);
            int tiles = (ty1 - ty0) * rt, nPanels = ceilDiv(tiles, NR), ldm = nPanels * NR;
            int vStride = nPanels * c * NR + WINO_SKEW, mStride = k * ldm + WINO_SKEW;
            float[] v = ws.winoV = Workspace.grow(ws.winoV, 16 * vStride);
            float[] m = ws.winoM = Workspace.grow(ws.winoM, 16 * mStride + VL);
            if (tiles % NR != 0) winoZeroTail(16, c, nPanels, vStride, tiles % NR, v);   // the last panel's columns past the tiles
            Winograd.Scratch scratch = ws.wino(tw);
            for (int ci = 0; ci < c; ci++) Winograd.transformInput(g, x, img, ci, ty0, ty1, v, vStride, scratch);
            winoProducts(16, c, k, kcb, nPanels, u, uStride, v, vStride, m, mStride, ldm, ws);
            for (int kk = 0; kk < k; kk++) Winograd.transformOutput(g, m, mStride, ldm, img, kk, ty0, ty1, b, ep, y, scratch.lanes);
        });
    }

    /**
     * A 3x3 stride-1 backward-data as Winograd F(4x4, 3x3) ({@link Winograd4}): g the forward form
     * of it ({@link #backwardDataAsForward}), dy its input, w the unflipped weights it differentiates
     * ({@link Winograd4#transformWeights} reads each filter transposed and reversed), dx its output.
     * The weights transformed into U (packed A panels, one set per ξ, shared), then the batch's tiles
     * in chunks of whole column panels (a chunk may span images), each chunk a task that runs all of
     * it on its own buffers: the input tiles into V (packed B panels: written straight in the layout
     * the micro-kernel reads), the 36 products {@code M_ξ = U_ξ V_ξ}, and the output transform. A
     * chunk's V and M (at most winoChunkFloats each, or one panel) stay in L2 from the transform that
     * writes them to the one that reads them.
     */
    private void backwardDataWinograd4(ConvGeom g, float[] dy, float[] w, float[] dx) {
        int c = g.c(), k = g.k(), tw = Winograd4.tilesW(g), xis = Winograd4.XI;
        // each ξ's region is padded by 64 bytes: 36 regions a multiple of 4 KiB apart would share L1 sets
        int mPanels = ceilDiv(k, MR), uStride = mPanels * MR * c + WINO_SKEW;
        float[] u = flippedW = Workspace.grow(flippedW, xis * uStride);   // w~'s buffer: this call flips nothing
        int wTasks = splits(1, mPanels);
        parallelFor(wTasks, (t, ws) -> Winograd4.transformWeights(g, w, t * mPanels / wTasks, (t + 1) * mPanels / wTasks, u, uStride));
        int total = g.n() * Winograd4.tilesH(g) * tw;
        int chunk = NR * winoPanels(ceilDiv(total, NR), Math.max(1, winoChunkFloats / (xis * Math.max(c, k) * NR)));
        int chunks = ceilDiv(total, chunk), kcb = blockDepth(c);
        parallelFor(chunks, (task, ws) -> {
            int t0 = task * chunk, t1 = Math.min(total, t0 + chunk);
            int tiles = t1 - t0, nPanels = ceilDiv(tiles, NR), ldm = nPanels * NR;
            int vStride = nPanels * c * NR + WINO_SKEW, mStride = k * ldm + WINO_SKEW;
            float[] v = ws.winoV = Workspace.grow(ws.winoV, xis * vStride);
            float[] m = ws.winoM = Workspace.grow(ws.winoM, xis * mStride + VL);
            int filled = ceilDiv(tiles, VL) * VL;
            if (filled % NR != 0) winoZeroTail(xis, c, nPanels, vStride, filled % NR, v);   // ... past the transformed vectors
            Winograd4.Scratch scratch = ws.wino4(tw, chunk);
            for (int ci = 0; ci < c; ci++) Winograd4.transformInput(g, dy, ci, t0, t1, v, vStride, scratch);
            winoProducts(xis, c, k, kcb, nPanels, u, uStride, v, vStride, m, mStride, ldm, ws);
            for (int kk = 0; kk < k; kk++) Winograd4.transformOutput(g, m, mStride, ldm, kk, t0, t1, dx, scratch);
        });
    }

    /**
     * A Winograd chunk's products {@code M_ξ (k, nPanels*NR) = U_ξ (k, c) V_ξ (c, nPanels*NR)} for its
     * {@code xis} positions ξ, over the K blocks of c in order (each adding into M after the first),
     * whole panels: M's rows are nPanels*NR long, V's columns past the tiles hold zeros or values no
     * output reads.
     */
    private static void winoProducts(int xis, int c, int k, int kcb, int nPanels, float[] u, int uStride, float[] v, int vStride,
                                     float[] m, int mStride, int ldm, Workspace ws) {
        for (int xi = 0; xi < xis; xi++)
            for (int pc = 0; pc < c; pc += kcb) {
                int kc = Math.min(kcb, c - pc);
                float beta = pc == 0 ? 0f : 1f;
                for (int jp = 0; jp < nPanels; jp++)
                    Gemm.panelColumn(k, NR, kc, u, xi * uStride + pc * MR, 1, MR, c * MR,
                            v, xi * vStride + jp * c * NR + pc * NR, m, xi * mStride + jp * NR, ldm, 1f, beta,
                            null, 0, ws.tile, ws.aTail, null);
            }
    }

    /** Zeros columns {@code from..NR-1} of the last of nPanels B panels of V, each of its {@code xis} positions and c rows. */
    private static void winoZeroTail(int xis, int c, int nPanels, int vStride, int from, float[] v) {
        for (int xi = 0; xi < xis; xi++)
            for (int ci = 0; ci < c; ci++) {
                int at = xi * vStride + (nPanels - 1) * c * NR + ci * NR;
                java.util.Arrays.fill(v, at + from, at + NR, 0f);
            }
    }

    /**
     * Column panels per Winograd chunk, at most {@code maxPanels}: the count whose chunks, handed to
     * the threads in order as the crew does (each to the least loaded thread), finish first, a chunk
     * costing its panels plus a quarter (its own pass over U and its setup).
     */
    private int winoPanels(int panels, int maxPanels) {
        return balancedSize(maxPanels, per -> span(ceilDiv(panels, per), i -> Math.min(per, panels - i * per) + 0.25));
    }

    /**
     * Tile rows per Winograd chunk, at most {@code maxRows} (V and M within winoChunkFloats): the
     * count whose chunks, handed to the threads in order as the crew does (each to the least loaded
     * thread), finish first, a chunk costing its column panels plus a quarter panel (its own pass
     * over U and its setup). On one thread that is the largest count; on two it balances the
     * chunks, e.g. layer1 at batch 1 (28 tile rows of 32 columns): 14 chunks of 2 rows, not 7 of 4 (4 against 3).
     * The rows of a chunk do not change any sum, so the bits do not depend on this choice.
     */
    private int winoRows(int images, int th, int rt, int maxRows) {
        return balancedSize(maxRows, rows -> {
            int perImage = ceilDiv(th, rows);
            return span(images * perImage, i -> ceilDiv(Math.min(rows, th - i % perImage * rows) * rt, NR) + 0.25);
        });
    }

    /** The size in [1, max] whose chunks finish first ({@code spanOf}), the largest of equals. */
    private static int balancedSize(int max, java.util.function.IntToDoubleFunction spanOf) {
        int best = max;
        double bestSpan = Double.MAX_VALUE;
        for (int size = max; size >= 1; size--) {
            double span = spanOf.applyAsDouble(size);
            if (span < bestSpan - 1e-9) {
                bestSpan = span;
                best = size;
            }
        }
        return best;
    }

    /** When the last thread finishes chunks 0..chunks-1 of the given costs, each handed in order to the least loaded thread, as the crew does. */
    private double span(int chunks, java.util.function.IntToDoubleFunction cost) {
        double[] load = new double[threads];
        for (int i = 0; i < chunks; i++) {
            int min = 0;
            for (int t = 1; t < threads; t++) if (load[t] < load[min]) min = t;
            load[min] += cost.applyAsDouble(i);
        }
        double span = 0;
        for (double l : load) span = Math.max(span, l);
        return span;
    }

    /**
     * The forward when the output has few column panels (the late layers at batch 1: layer3 has 7,
     * layer4 2) and the weights are large (2.4 and 9.4 MB): col(x) is packed whole first, every
     * panel in parallel, into {@code packedB (units, nPanels, depth*NR + VL)}; then the output channels
     * are split over the threads (one row block per thread: every block streams all of col(x) once
     * per call, 2 MB for layer3, which leaves L2; with 4 blocks per thread layer3 took 1.54 ms on two
     * threads, with one 1.39 ms, and layer4, layer3.0 and layer4.0 did not change), and each block of
     * weight rows, read in place, meets every column panel while it is in L2. So each weight is read
     * from memory once per call, not once per column strip, and both cores work on every layer. The sums run over the same K blocks in the same order as in the column-strip
     * path, so the results are bit for bit those of that path.
     */
    private void forwardFewPanels(ConvGeom g, float[] x, int chanFloats, float[] w, float[] b, Gemm.Epilogue ep, float[] y) {
        int groups = g.groups(), kg = g.kg(), cg = g.cg(), depth = cg * g.r() * g.s();
        int pix = g.oh() * g.ow();
        int mPanels = ceilDiv(kg, MR), nPanels = ceilDiv(pix, NR), units = g.n() * groups;
        // floats per packed column panel, plus VL of slack: the im2col row stores run up to VL-1 past
        // a panel's last row, which must not reach the next panel (another thread may own it)
        int panel = depth * NR + VL;
        float[] bAll = packedB = Workspace.grow(packedB, units * nPanels * panel);
        parallelFor(units * nPanels, (t, ws) -> {
            int unit = t / nPanels, jp = t % nPanels, img = unit / groups, grp = unit % groups;
            int p0 = jp * NR;
            Im2col.packPanel(g, x, (img * g.c() + grp * cg) * chanFloats, 0, depth, p0, Math.min(NR, pix - p0), bAll, t * panel);
        });
        int rowBlocks = Math.min(mPanels, threads);
        int kcb = blockDepth(depth);
        parallelFor(units * rowBlocks, (t, ws) -> {
            int rb = t % rowBlocks, unit = t / rowBlocks, img = unit / groups, grp = unit % groups;
            int i0 = rb * mPanels / rowBlocks * MR, i1 = Math.min(kg, (rb + 1) * mPanels / rowBlocks * MR);
            int yc = (img * g.k() + grp * kg) * pix;      // the group's first output channel
            // the block's rows of this K block copied LDF apart (Gemm.kernelRowsFixed) when they meet enough panels
            boolean copy = nPanels >= COPY_A_MIN_PANELS;
            float[] a = copy ? (ws.a = Workspace.grow(ws.a, (i1 - i0) * Gemm.LDF)) : w;
            for (int pc = 0; pc < depth; pc += kcb) {
                int kc = Math.min(kcb, depth - pc);
                boolean first = pc == 0;
                Gemm.Epilogue e = pc + kc == depth ? ep : null;
                if (copy)
                    for (int i = i0; i < i1; i++) Gemm.copy(w, (grp * kg + i) * depth + pc, a, (i - i0) * Gemm.LDF, kc);
                int aOff = copy ? 0 : (grp * kg + i0) * depth + pc, lda = copy ? Gemm.LDF : depth;
                for (int jp = 0; jp < nPanels; jp++) {
                    int p0 = jp * NR, nr = Math.min(NR, pix - p0);
                    Gemm.panelColumn(i1 - i0, nr, kc, a, aOff, lda, 1, MR * lda,
                            bAll, (unit * nPanels + jp) * panel + pc * NR, y, yc + i0 * pix + p0, pix,
                            1f, first ? 0f : 1f, first ? b : null, grp * kg + i0, ws.tile, ws.aTail, e);
                }
            }
        });
    }

    // ---------------------------------------------------------------- convolution backward-data

    @Override
    public synchronized void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx) {
        if (asForward(g)) {
            backwardDataAsForward(g, dy, w, dx);
            return;
        }
        int groups = g.groups(), kg = g.kg(), cg = g.cg(), rs = g.r() * g.s(), depth = cg * rs;
        int hw = g.h() * g.w(), pix = g.oh() * g.ow();
        int nPanels = ceilDiv(pix, NR);
        boolean pointwise = Im2col.pointwise(g);
        // stride 2 over wide rows: col2im adds into dx's phase planes (whole-vector runs, see Im2col.col2imPhased), merged at the end
        boolean phased = Im2col.phasedCol2im(g);
        int chanFloats = phased ? Im2col.paddedPhaseFloats(g) : hw;
        float[] target = phased ? (phasedDx = Workspace.grow(phasedDx, g.n() * g.c() * chanFloats)) : dx;
        int units = g.n() * groups;
        int chanBlocks = splits(units, cg);
        // A = w_g^T: packed when it meets enough B panels; read in place, each step of k is a row
        // of w further, a new page for big layers: then blocks of at most TLB_DEPTH steps keep
        // those pages in the first-level TLB while all the row panels pass.
        boolean pack = nPanels >= PACK_A_MIN_PANELS;
        int kcb = blockDepth(kg, pack ? KC : TLB_DEPTH);
        // Tasks: image x group x block of input channels (x strip of output rows when the channels are
        // too few to keep the threads busy: conv1 has 3); each writes its own planes of dx. Strips
        // two apart touch disjoint rows of dx, so the even strips run first, then the odd ones.
        int stripRows = pointwise ? g.oh() : stripRows(g, units * cg), strips = ceilDiv(g.oh(), stripRows);
        if (strips > 1) Arrays.fill(target, 0, g.n() * g.c() * chanFloats, 0f);
        for (int wave = 0; wave < Math.min(2, strips); wave++) {
            int first = wave, waveStrips = (strips - wave + 1) / 2;
            parallelFor(units * chanBlocks * waveStrips, (t, ws) -> {
                int strip = first + 2 * (t % waveStrips), cb = t / waveStrips % chanBlocks, unit = t / (waveStrips * chanBlocks);
                int img = unit / groups, grp = unit % groups;
                int c0 = cb * cg / chanBlocks, c1 = (cb + 1) * cg / chanBlocks;
                if (c0 == c1) return;
                int pA = strip * stripRows * g.ow(), pB = Math.min(pix, (strip + 1) * stripRows * g.ow());
                int rows = (c1 - c0) * rs;                    // im2col rows of these channels
                int dxc = (img * g.c() + grp * cg + c0) * chanFloats; // first dx plane (phase planes) of the block
                int dyc = (img * g.k() + grp * kg) * pix;     // the group's first dy plane
                // A = w_g^T restricted to the block's rows: (rows, kg), A(q, k) = w[grp*kg + k][c0*rs + q],
                // packed per task, or read in place (MR adjacent values per k).
                int wc = grp * kg * depth + c0 * rs;
                float[] a = pack ? (ws.a = Workspace.grow(ws.a, ceilDiv(rows, MR) * MR * kg)) : w; // (ceil(rows/MR), kg, MR)
                if (pack) Gemm.packA(w, wc, 1, depth, rows, kg, a, 0);
                int aOff = pack ? 0 : wc, acs = pack ? MR : depth, aPanel = pack ? kg * MR : MR;
                float[] col = ws.col = Workspace.grow(ws.col, rows * NR + VL); // (rows, NR) column panel + slack
                if (!pointwise && strips == 1) Gemm.zero(target, dxc, (c1 - c0) * chanFloats);
                for (int p0 = pA; p0 < pB; p0 += NR) {
                    int nr = Math.min(NR, pB - p0);
                    for (int pc = 0; pc < kg; pc += kcb) {
                        int kc = Math.min(kcb, kg - pc);
                        float beta = pc == 0 ? 0f : 1f;
                        Gemm.packB(dy, dyc + pc * pix + p0, pix, 1, kc, nr, ws.b);
                        if (pointwise) {
                            Gemm.panelColumn(rows, nr, kc, a, aOff + pc * acs, 1, acs, aPanel, ws.b, dx, dxc + p0, hw,
                                    1f, beta, null, 0, ws.tile, ws.aTail);
                        } else {                              // whole rows of col: a partial panel's tiles store as vectors too (the columns past nr are 0 and unread)
                            Gemm.panelColumn(rows, NR, kc, a, aOff + pc * acs, 1, acs, aPanel, ws.b, col, 0, NR,
                                    1f, beta, null, 0, ws.tile, ws.aTail);
                        }
                    }
                    if (phased) Im2col.col2imPhased(g, col, rows, p0, nr, target, dxc);
                    else if (!pointwise) Im2col.col2imPanel(g, col, rows, p0, nr, dx, dxc);
                }
            });
        }
        if (phased) {
            int planes = g.n() * g.c(), tasks = Math.min(planes, TASKS_PER_THREAD * threads);
            parallelFor(tasks, (t, ws) -> Im2col.mergePhases(g, target, t * planes / tasks, (t + 1) * planes / tasks, dx));
        }
    }

    /**
     * Output rows per strip of backward-data's col2im path: all of them (one strip) when the call has
     * at least {@value #STRIP_BELOW} (image, input channel) pairs to share out; else strips of at
     * least {@code (r-1)*dilH/strideH} rows, so that the dx rows of strips two apart never meet (the
     * windows of strip s end where those of strip s+2 begin, at the earliest), and at most
     * {@value #MAX_STRIPS} strips. A function of the shape alone: the bits do not depend on the threads.
     */
    private static int stripRows(ConvGeom g, int channelTasks) {
        if (channelTasks >= STRIP_BELOW) return g.oh();
        int min = Math.max(1, (g.r() - 1) * g.dilH() / g.strideH());
        if (Im2col.phasedCol2im(g))                       // col2imPhased: the spread of the taps' row shifts on the phase planes
            min = Math.max(min, ((g.r() - 1) * g.dilH() - g.padTop() >> 1) - (-g.padTop() >> 1));
        return Math.max(min, ceilDiv(g.oh(), MAX_STRIPS));
    }

    /**
     * Whether backward-data runs as a forward convolution ({@link #backwardDataAsForward}): stride
     * and dilation 1, a kernel larger than 1x1 (a 1x1 one needs no col2im already), pads that leave
     * the flipped kernel a non-negative padding, and enough output pixels per weight that flipping
     * the weights (one pass over them) costs little next to the products.
     */
    private static boolean asForward(ConvGeom g) {
        return g.strideH() == 1 && g.strideW() == 1 && g.dilH() == 1 && g.dilW() == 1 && g.r() * g.s() > 1
                && g.padTop() < g.r() && g.padBottom() < g.r() && g.padLeft() < g.s() && g.padRight() < g.s()
                && (long) g.n() * g.oh() * g.ow() >= FLIP_MIN_PIXELS;
    }

    /**
     * Backward-data of a stride-1 convolution is itself a forward convolution (the transposed
     * convolution): {@code dx[c, iy, ix] = sum_{k,r,s} dy[k, iy + padTop - r, ix + padLeft - s] w[k, c, r, s]},
     * and with {@code r' = R-1-r, s' = S-1-s}
     * <pre>
     *   dx = conv(dy, w~),  w~[g*cg + c, k, r', s'] = w[g*kg + k, c, R-1-r', S-1-s']   (C, K/groups, R, S)
     *   pads (R-1-padTop, S-1-padLeft, R-1-padBottom, S-1-padRight), output (h, w)
     * </pre>
     * So it runs on the forward's packed im2col panels and tiles (and writes each dx element once)
     * instead of a column panel per pixel block added back into dx by col2im. As Winograd, F(4x4, 3x3)
     * ({@link Winograd4}: ResNet-18's layer1 and layer2, and layer3 and AlexNet's conv3-5 in a large
     * enough batch) where it applies, else F(2x2, 3x3) where that does (fewer channels); either weight
     * transform reads w~ out of w directly, so w is not flipped into a copy first (layer2's
     * backward-data on 2 threads 0.87-0.91 -> 0.81-0.85 ms, ad hoc; the same bits).
     */
    private void backwardDataAsForward(ConvGeom g, float[] dy, float[] w, float[] dx) {
        int groups = g.groups(), kg = g.kg(), cg = g.cg(), r = g.r(), s = g.s(), rs = r * s;
        ConvGeom t = ConvGeom.of("convBackwardData", g.n(), g.k(), g.oh(), g.ow(), g.c(), kg, r, s, 1, 1,
                r - 1 - g.padTop(), s - 1 - g.padLeft(), r - 1 - g.padBottom(), s - 1 - g.padRight(), 1, 1, groups);
        if (WINOGRAD && Winograd4.applies(t)) {           // F(4x4, 3x3) here only: see Winograd4's accuracy
            backwardDataWinograd4(t, dy, w, dx);
            return;
        }
        if (WINOGRAD && Winograd.applies(t)) {            // U is made from w itself, its taps read reversed: no flipped copy
            forwardWinograd(t, dy, w, true, null, null, dx);
            return;
        }
        float[] wt = flippedW = Workspace.grow(flippedW, g.k() * cg * rs);
        // blocks of FLIP_BLOCK x FLIP_BLOCK (k, c) pairs: FLIP_BLOCK*r*s contiguous floats read per k and
        // written per c, instead of one page per k (rows of the layer4 weights lie 18 KiB apart)
        int kBlocks = ceilDiv(kg, FLIP_BLOCK), cBlocks = ceilDiv(cg, FLIP_BLOCK);
        parallelFor(groups * kBlocks, (task, ws) -> {
            int grp = task / kBlocks, k0 = task % kBlocks * FLIP_BLOCK, k1 = Math.min(kg, k0 + FLIP_BLOCK);
            for (int cb = 0; cb < cBlocks; cb++) {
                int c0 = cb * FLIP_BLOCK, c1 = Math.min(cg, c0 + FLIP_BLOCK);
                for (int c = c0; c < c1; c++)
                    for (int k = k0; k < k1; k++) {
                        int src = ((grp * kg + k) * cg + c) * rs, dst = ((grp * cg + c) * kg + k) * rs;
                        if (rs == 9) flip9(w, src, wt, dst);
                        else for (int q = 0; q < rs; q++) wt[dst + q] = w[src + rs - 1 - q];   // (r', s') = (R-1-r, S-1-s)
                    }
            }
        });
        forward(t, dy, wt, null, null, dx);
    }

    /** The 3x3 case of the flip: nine taps reversed, straight-line (layer3's backward-data 1.70 -> 1.50 ms on 2 threads against the loop). */
    private static void flip9(float[] w, int src, float[] wt, int dst) {
        float t0 = w[src], t1 = w[src + 1], t2 = w[src + 2], t3 = w[src + 3], t4 = w[src + 4],
                t5 = w[src + 5], t6 = w[src + 6], t7 = w[src + 7], t8 = w[src + 8];
        wt[dst] = t8; wt[dst + 1] = t7; wt[dst + 2] = t6; wt[dst + 3] = t5; wt[dst + 4] = t4;
        wt[dst + 5] = t3; wt[dst + 6] = t2; wt[dst + 7] = t1; wt[dst + 8] = t0;
    }

    // ---------------------------------------------------------------- convolution backward-weights

    @Override
    public synchronized void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db) {
        int groups = g.groups(), kg = g.kg(), cg = g.cg(), depth = cg * g.r() * g.s();
        int hw = g.h() * g.w(), pix = g.oh() * g.ow();
        if (db != null) {
            for (int k = 0; k < g.k(); k++) {
                double acc = 0;
                for (int img = 0; img < g.n(); img++) acc += Gemm.sum(dy, (img * g.k() + k) * pix, pix);
                db[k] = (float) acc;
            }
        }
        if (dw == null) return;
        if (SHIFTED && shiftedGrids(g)) {
            backwardWeightsShifted(g, x, dy, dw);
            return;
        }
        if (ROW_TAPS && rowTaps(g)) {
            backwardWeightsRowTaps(g, x, dy, dw);
            return;
        }
        int nPanels = ceilDiv(depth, NR);                 // columns of dw_g in NR panels
        int colBlocks = splits(groups, nPanels);
        int kcb = blockDepth(pix);
        if (groups == 1 && colBlocks > 1 && nPanels / colBlocks < PACK_A_MIN_PANELS
                && (long) g.n() * ceilDiv(pix, kcb) >= 2L * threads
                && (long) (2 * threads - 1) * kg * depth <= SPLIT_SUM_MAX_FLOATS) {
            backwardWeightsSplitSum(g, x, dy, dw, kcb);
            return;
        }
        // Tasks: group x block of dw columns; each sums over every image and pixel into its own part of dw.
        // A = dy_g (kg, pixels), packed per K block or read in place; B = col^T packed for a chunk
        // of up to CHUNK column panels, then each row panel of A sweeps the chunk, so the tiles
        // it writes lie side by side in the rows of dw (one page, not one page per row).
        // When dy is packed and images are small, the K blocks run over the pixels of the whole batch:
        // images of fewer pixels than a block (layer4's 49 at batch 16) share one, and dw is read and
        // written once per block, not once per image (layer4: 4 times per call, not 16). Only when that
        // halves the blocks at least: layer3's 196 pixels (13 blocks across, 16 per image) ran 5% slower
        // across (each block's runs cut in two), layer4 and layer4.0 12-16% faster.
        int total = g.n() * pix;
        boolean across = (long) g.n() * ceilDiv(pix, kcb) >= 2L * ceilDiv(total, KC);
        parallelFor(groups * colBlocks, (t, ws) -> {
            int cb = t % colBlocks, grp = t / colBlocks;
            int jpa = cb * nPanels / colBlocks, jpb = (cb + 1) * nPanels / colBlocks;
            int dwc = grp * kg * depth;                   // the group's dw block (kg, depth)
            boolean pack = jpb - jpa >= PACK_A_MIN_PANELS;
            boolean span = pack && across;
            int kb = span ? blockDepth(total) : kcb, imgFloats = g.c() * hw;
            float[] a = pack ? (ws.a = Workspace.grow(ws.a, ceilDiv(kg, MR) * MR * kb)) : dy; // (ceil(kg/MR), kc, MR)
            float[] bs = ws.bs = Workspace.grow(ws.bs, Math.min(CHUNK, jpb - jpa) * kb * NR); // (chunk, kc, NR)
            // K blocks: [p, p + kc) of the batch's pixels when spanning images, else within one image
            for (int p = 0; p < total; ) {
                int img = p / pix, at = p % pix, kc = span ? Math.min(kb, total - p) : Math.min(kb, pix - at);
                float beta = p == 0 ? 0f : 1f;
                int xc = (img * g.c() + grp * cg) * hw;
                if (pack) {
                    for (int done = 0, i = img, from = at; done < kc; done += Math.min(kc - done, pix - from), i++, from = 0)
                        Gemm.packA(dy, (i * g.k() + grp * kg) * pix + from, pix, 1, kg, Math.min(kc - done, pix - from), kc,
                                a, done * MR);
                }
                int aOff = pack ? 0 : (img * g.k() + grp * kg) * pix + at, ars = pack ? 1 : pix, acs = pack ? MR : 1;
                int aPanel = pack ? kc * MR : MR * pix;
                weightProducts(g, x, xc, imgFloats, at, kc, jpa, jpb, a, aOff, ars, acs, aPanel, dw, dwc, beta, bs, ws);
                p += kc;
            }
        });
    }

    /**
     * One K block of backward-weights for the dw column panels jpa..jpb-1 of one group:
     * {@code C[:, q] = beta*C[:, q] + A col(x)^T[pc..pc+kc), q]}, A = dy's (kg, kc) block as
     * {@link Gemm#panelColumn} reads it (aOff, ars, acs, aPanel), C = dw's (kg, depth) block at cOff;
     * the block's pixels start at pixel pc of the image at xc and may run on into the next images
     * ({@code imgFloats} apart in x).
     * col(x)^T is packed CHUNK panels at a time into bs, then each row panel of A sweeps the chunk,
     * so the tiles it writes lie side by side in the rows of C (one page, not one page per row).
     */
    private static void weightProducts(ConvGeom g, float[] x, int xc, int imgFloats, int pc, int kc, int jpa, int jpb,
                                       float[] a, int aOff, int ars, int acs, int aPanel, float[] c, int cOff,
                                       float beta, float[] bs, Workspace ws) {
        int kg = g.kg(), depth = g.cg() * g.r() * g.s();
        for (int jc = jpa; jc < jpb; jc += CHUNK) {
            int jce = Math.min(jpb, jc + CHUNK);
            for (int jp = jc; jp < jce; jp++) {
                int q0 = jp * NR;
                Im2col.packPanelTransposed(g, x, xc, imgFloats, pc, kc, q0, Math.min(NR, depth - q0),
                        bs, (jp - jc) * kc * NR, ws.rows, ws.gather);
            }
            for (int i = 0, ao = aOff; i < kg; i += MR, ao += aPanel) {
                int mr = Math.min(MR, kg - i);
                for (int jp = jc; jp < jce; jp++) {
                    int q0 = jp * NR;
                    Gemm.panelColumn(mr, Math.min(NR, depth - q0), kc, a, ao, ars, acs, aPanel,
                            bs, (jp - jc) * kc * NR, c, cOff + i * depth + q0, depth,
                            1f, beta, null, 0, ws.tile, ws.aTail);
                }
            }
        }
    }

    /** -Dconvlens.shifted=false turns {@link #backwardWeightsShifted} off (A/B timing). */
    static final boolean SHIFTED = !"false".equals(System.getProperty("convlens.shifted"));
    /**
     * Cells per image ({@code oh * (ow + s - 1)}) from which backward-weights runs on shifted grids.
     * Measured at batch 16 on 2 threads (medians of 30 calls, alternating JVMs): 3x3 over 56x56 with
     * 64 channels (3248 cells) 22.0 -> 16.0 ms, over 28x28 with 128 (840) 17.6 -> 15.3, AlexNet's 5x5
     * over 27x27 (837) 32 -> 30; over 14x14 with 256 (224) 18.2 -> 17.3, but over 13x13 with 192 -> 384
     * (195) 15.3 -> 17.3 and over 7x7 with 512 (63) 16.3 -> 29: with few cells a tile's few steps pay
     * for its read and write of the sums, and a big layer's sums (r*s*k*c) outgrow L2.
     */
    private static final int SHIFTED_MIN_CELLS = 512;
    /** Floats of a run's sums by tap from which backward-weights leaves the shifted grids (see {@link #shiftedGrids}). */
    private static final int SHIFTED_MAX_SUMS = 1 << 20;

    /**
     * Backward-weights runs on shifted grids ({@link #backwardWeightsShifted}): stride 1, no dilation,
     * one group, more than NR/2 input channels, a kernel wider than 1x1 (a 1x1 im2col is x itself), at
     * least {@value #SHIFTED_MIN_CELLS} cells per image, and an image for every thread (the threads split
     * the images). The channels: a cell of x's grid holds NR of them, and its products cost the same with
     * 3 as with 32. Ad hoc, batch 16, 2 threads, 3x3 to 64 channels over 112x112 (medians of 30 calls), shifted
     * against im2col: 4 channels 33.4 against 18.3 ms, 8 35.1 / 24.6, 16 35.6 / 33.2, 32
     * 31.5 / 49.9; VGG-16's conv1_1 (3 channels, 224x224) 140.7 against 48.8 ms. And a run's sums by tap
     * ({@code r*s*k*c} floats) at most {@value #SHIFTED_MAX_SUMS}: each tile adds into them, and VGG-16's
     * 512 -> 512 over 28x28 (2.4 M floats, 9.4 MB a run) ran 72.8 against im2col's 63.9 ms at batch 4,
     * where 256 -> 256 over 56x56 (0.6 M) ran 60.2 against 71.7 (ad hoc, 2 threads, medians).
     */
    private boolean shiftedGrids(ConvGeom g) {
        return g.groups() == 1 && g.c() > NR / 2 && (long) g.r() * g.s() * g.k() * g.c() <= SHIFTED_MAX_SUMS
                && g.strideH() == 1 && g.strideW() == 1 && g.dilH() == 1 && g.dilW() == 1
                && g.r() * g.s() > 1 && g.n() >= threads && (long) g.oh() * (g.ow() + g.s() - 1) >= SHIFTED_MIN_CELLS;
    }

    /**
     * Backward-weights of a stride-1 convolution as r*s products of channel-last grids, without im2col.
     * x is laid on a grid of {@code gw = ow + s - 1} columns and {@code oh + r - 1} rows (its padding
     * as zero cells), dy on the same columns (the last s - 1 cells of each row zero). Output cell
     * {@code q = oy*gw + ox} then meets input cell {@code q + ry*gw + sx} for tap (ry, sx), so
     * <pre>  dw[:, :, ry, sx] = sum_img sum_q dy(:, q) x(:, q + ry*gw + sx)^T</pre>
     * where the zero cells of dy add nothing. Each tap's B panel is x's grid read from a shifted start,
     * so what is packed is x and dy once each (x NR channels a cell, dy MR output channels a cell, as
     * packed A panels lie), not col(x)^T, which holds every input pixel r*s times.
     *
     * <p>The images are cut into {@code min(n, 2*threads)} runs; a run packs one image at a time into
     * its worker's grids (an image's grids stay in that core's L2), sums it into its own dw by tap
     * {@code (r*s, k, c)} (tiles (input block, tap, row block), the row blocks innermost: one B panel
     * stays in L1 while the A panels of every row block pass), and at the end dw takes run 0 + run 1 +
     * ... in that order, element by element. The bits depend on the thread count (as in
     * {@link #backwardWeightsSplitSum}), not on the scheduling. The zero cells of dy meet real values
     * of x: an infinite x gives NaN in dw where the im2col paths may give an infinity.
     */
    private void backwardWeightsShifted(ConvGeom g, float[] x, float[] dy, float[] dw) {
        int n = g.n(), c = g.c(), k = g.k(), r = g.r(), s = g.s(), taps = r * s;
        int gw = g.ow() + s - 1, gh = g.oh() + r - 1, q = g.oh() * gw;   // grid columns and rows; dy's cells
        int cells = gh * gw + s - 1;                                      // x's grid and the slack the last tap reads
        int cBlocks = ceilDiv(c, NR), rowBlocks = ceilDiv(k, MR), kBlocks = ceilDiv(k, NR);
        int xImg = cBlocks * cells * NR, dyImg = rowBlocks * q * MR, hw = g.h() * g.w(), pix = g.oh() * g.ow();
        int cPad = cBlocks * NR, tapFloats = rowBlocks * MR * cPad, size = taps * tapFloats;
        int runs = Math.min(n, 2 * threads), tiles = cBlocks * taps * rowBlocks, kcb = blockDepth(q);
        float[] sums = tapSums = Workspace.grow(tapSums, runs * size);   // (runs, taps, kPad, cPad)
        parallelFor(runs, (run, ws) -> {
            float[] xs = ws.gridX = Workspace.grow(ws.gridX, xImg), ds = ws.gridDy = Workspace.grow(ws.gridDy, dyImg);
            int i0 = run * n / runs, i1 = (run + 1) * n / runs, base = run * size;
            for (int img = i0; img < i1; img++) {
                for (int b = 0; b < cBlocks; b++)
                    Im2col.channelsLast(x, (img * c + b * NR) * hw, hw, Math.min(NR, c - b * NR), g.h(), g.w(), gh, gw,
                            g.padTop(), g.padLeft(), s - 1, xs, b * cells * NR);
                for (int b = 0; b < kBlocks; b++)                 // MR output channels a cell, as packA lays a panel
                    Im2col.channelSlices(dy, (img * k + b * NR) * pix, pix, Math.min(NR, k - b * NR), g.oh(), g.ow(), gw,
                            q * MR, ds, b * (NR / MR) * q * MR, ws.block);
                // tiles (input block, tap, row block), the row blocks innermost: one B panel (kc cells of
                // x's grid from the tap's shift) stays in L1 while the A panels of every row block pass
                for (int p0 = 0; p0 < q; p0 += kcb) {
                    int kc = Math.min(kcb, q - p0);
                    boolean first = img == i0 && p0 == 0;
                    for (int tile = 0; tile < tiles; tile++) {
                        int rb = tile % rowBlocks, tap = tile / rowBlocks % taps, cb = tile / (rowBlocks * taps);
                        int shift = tap / s * gw + tap % s;
                        Gemm.kernelColumns(kc, ds, rb * q * MR + p0 * MR, MR, xs, cb * cells * NR + (p0 + shift) * NR, ws.tile);
                        int cOff = base + tap * tapFloats + rb * MR * cPad + cb * NR;
                        for (int i = 0; i < MR; i++) {
                            if (first) Gemm.copy(ws.tile, i * NR, sums, cOff + i * cPad, NR);
                            else Gemm.addInto(ws.tile, i * NR, sums, cOff + i * cPad, NR);
                        }
                    }
                }
            }
        });
        int chunks = Math.min(k, threads * TASKS_PER_THREAD);
        parallelFor(chunks, (t, ws) -> {
            for (int co = t * k / chunks, end = (t + 1) * k / chunks; co < end; co++)
                for (int ci = 0; ci < c; ci++)
                    for (int tap = 0, d = (co * c + ci) * taps; tap < taps; tap++) {
                        int e = tap * tapFloats + co * cPad + ci;
                        float v = sums[e];
                        for (int run = 1; run < runs; run++) v += sums[run * size + e];
                        dw[d + tap] = v;
                    }
        });
    }

    /** -Dconvlens.rowTaps=false turns {@link #backwardWeightsRowTaps} off (A/B timing). */
    static final boolean ROW_TAPS = !"false".equals(System.getProperty("convlens.rowTaps"));

    /**
     * Backward-weights runs with a row's taps in the lanes ({@link #backwardWeightsRowTaps}): one group,
     * no dilation, at most {@value #ROW_TAPS_MAX_CHANNELS} input channels (a network's first layer, whose
     * dw has few columns: im2col per K block was most of its work), a kernel at least MR/2 wide (lanes
     * used: conv1's 7 of 8), output rows of at least NR pixels (a row is one K block), and an image for
     * every thread (the threads split the images).
     */
    private boolean rowTaps(ConvGeom g) {
        return g.groups() == 1 && g.dilH() == 1 && g.dilW() == 1 && g.c() <= ROW_TAPS_MAX_CHANNELS
                && g.s() >= MR / 2 && g.ow() >= NR && g.n() >= threads;
    }

    private static final int ROW_TAPS_MAX_CHANNELS = 4;

    /**
     * Backward-weights of a first layer (few input channels, a wide kernel: ResNet's conv1) as products
     * whose A is x itself, read in place:
     * <pre>  dw[k, c, ry, t] = sum_img sum_(oy, ox) dy(k, oy, ox) xp(c, sy*oy + ry, sx*ox + t)</pre>
     * with sy, sx the strides and xp the image padded (its padding as zeros, the row long enough for every
     * lane). For a fixed (c, ry) and output row oy, the MR values {@code xp(c, sy*oy + ry, sx*ox + t0 .. t0 + MR)}
     * of a tap panel's taps lie side by side, and step by sx from one ox to the next: that is the A panel
     * {@link Gemm#kernelColumns} reads, {@code A(i, ox) = a[aOff + ox*sx + i]}, with no packing. B is dy
     * channel-last (NR output channels a pixel, {@link Im2col#channelsLast}), packed for a band of output
     * rows. A tile (MR taps, NR output channels) sums one output row (ow products) and is added into
     * the run's sums {@code (c*r*sp*MR, ceil(k/NR)*NR)}, sp = ceil(s/MR) tap panels; lanes s..sp*MR-1
     * are taps past the kernel, computed and dropped (conv1: 1 in 8).
     *
     * <p>Before (im2col path): conv1's dw (64 x 147) met each packed A block with five B panels and
     * each im2col'd B block with eight A panels, so packing was as much work as the products. The
     * images are cut into {@code min(n, 2*threads)} runs, each with its own sums, and dw takes run 0 +
     * run 1 + ... in that order: the bits depend on the thread count (as {@link #backwardWeightsShifted}),
     * not on the scheduling.
     */
    private void backwardWeightsRowTaps(ConvGeom g, float[] x, float[] dy, float[] dw) {
        int n = g.n(), c = g.c(), k = g.k(), r = g.r(), s = g.s(), sy = g.strideH(), sx = g.strideW();
        int oh = g.oh(), ow = g.ow(), h = g.h(), w = g.w(), hw = h * w, pix = oh * ow;
        int sp = ceilDiv(s, MR), kBlocks = ceilDiv(k, NR), kPad = kBlocks * NR, panels = c * r * sp;
        int hp = sy * (oh - 1) + r, wp = Math.max(sx * (ow - 1) + sp * MR, g.padLeft() + w);   // xp's rows and columns
        int band = Math.max(1, Math.min(oh, ROW_TAPS_BAND_FLOATS / (ow * kPad)));            // output rows of dy packed at once
        int runs = Math.min(n, 2 * threads), size = panels * MR * kPad;
        float[] sums = tapSums = Workspace.grow(tapSums, runs * size);                       // (runs, panels*MR, kPad)
        parallelFor(runs, (run, ws) -> {
            float[] xp = ws.gridX = Workspace.grow(ws.gridX, c * hp * wp);
            float[] ds = ws.gridDy = Workspace.grow(ws.gridDy, kBlocks * band * ow * NR);
            int base = run * size;
            Gemm.zero(sums, base, size);
            for (int img = run * n / runs, end = (run + 1) * n / runs; img < end; img++) {
                Gemm.zero(xp, 0, c * hp * wp);
                for (int ci = 0; ci < c; ci++)
                    for (int y = 0; y < h; y++) {
                        int py = y + g.padTop();
                        if (py < hp) System.arraycopy(x, (img * c + ci) * hw + y * w, xp, (ci * hp + py) * wp + g.padLeft(), w);
                    }
                for (int oy0 = 0; oy0 < oh; oy0 += band) {
                    int rows = Math.min(band, oh - oy0);
                    for (int b = 0; b < kBlocks; b++)
                        Im2col.channelsLast(dy, (img * k + b * NR) * pix + oy0 * ow, pix, Math.min(NR, k - b * NR),
                                rows, ow, rows, ow, 0, 0, 0, ds, b * band * ow * NR);
                    for (int oy = oy0; oy < oy0 + rows; oy++)
                        for (int b = 0; b < kBlocks; b++) {
                            int bOff = (b * band + oy - oy0) * ow * NR;
                            for (int panel = 0; panel < panels; panel++) {     // panel = (ci, ry, tap panel)
                                int ci = panel / (r * sp), ry = panel / sp % r, spi = panel % sp;
                                Gemm.kernelColumns(ow, xp, (ci * hp + sy * oy + ry) * wp + spi * MR, sx, ds, bOff, ws.tile);
                                for (int i = 0, d = base + panel * MR * kPad + b * NR; i < MR; i++, d += kPad)
                                    Gemm.addInto(ws.tile, i * NR, sums, d, NR);
                            }
                        }
                }
            }
        });
        int taps = r * s;
        for (int co = 0; co < k; co++)
            for (int ci = 0; ci < c; ci++)
                for (int ry = 0; ry < r; ry++)
                    for (int t = 0; t < s; t++) {
                        int e = ((ci * r + ry) * sp * MR + t) * kPad + co;
                        float v = sums[e];
                        for (int run = 1; run < runs; run++) v += sums[run * size + e];
                        dw[(co * c + ci) * taps + ry * s + t] = v;
                    }
    }

    /** Floats of dy packed channel-last at once by {@link #backwardWeightsRowTaps} (256 KiB: in L2 with xp). */
    private static final int ROW_TAPS_BAND_FLOATS = 64 << 10;

    /**
     * Backward-weights of a layer whose dw is small and whose column blocks would meet too few B
     * panels each to pack dy (the early layers: layer1's dw is 64 x 576, nine panels per thread):
     * the sum over (image, pixel) is split instead, when it has at least {@code 2*threads} K blocks
     * (else one run would take the whole sum). The n * ceil(pix/kcb) K blocks, in order, are
     * cut into {@code 2*threads} runs; run 0 sums into dw, run r into its own partial (kg, depth);
     * each run packs its dy block once for all the panels. Then dw += partial 1 + partial 2 + ...,
     * in that order, element-wise over the threads. The bits depend on the thread count (the runs'
     * sums are added at their ends), not on the scheduling.
     */
    private void backwardWeightsSplitSum(ConvGeom g, float[] x, float[] dy, float[] dw, int kcb) {
        int kg = g.k(), cg = g.c(), depth = cg * g.r() * g.s(), hw = g.h() * g.w(), pix = g.oh() * g.ow();
        int nPanels = ceilDiv(depth, NR), pBlocks = ceilDiv(pix, kcb), blocks = g.n() * pBlocks;
        int runs = 2 * threads, size = kg * depth;       // blocks >= runs (the caller checks)
        float[] parts = partialDw = Workspace.grow(partialDw, (runs - 1) * size);
        parallelFor(runs, (r, ws) -> {
            int b0 = r * blocks / runs, b1 = (r + 1) * blocks / runs;
            float[] c = r == 0 ? dw : parts;
            int cOff = r == 0 ? 0 : (r - 1) * size;
            float[] a = ws.a = Workspace.grow(ws.a, ceilDiv(kg, MR) * MR * kcb); // (ceil(kg/MR), kc, MR)
            float[] bs = ws.bs = Workspace.grow(ws.bs, Math.min(CHUNK, nPanels) * kcb * NR);
            for (int bk = b0; bk < b1; bk++) {
                int img = bk / pBlocks, pc = bk % pBlocks * kcb, kc = Math.min(kcb, pix - pc);
                float beta = bk == b0 ? 0f : 1f;
                int xc = img * cg * hw, dyc = img * kg * pix;
                Gemm.packA(dy, dyc + pc, pix, 1, kg, kc, a, 0);
                weightProducts(g, x, xc, 0, pc, kc, 0, nPanels, a, 0, 1, MR, kc * MR, c, cOff, beta, bs, ws);
            }
        });
        int chunks = Math.max(1, Math.min(threads * TASKS_PER_THREAD, size / 4096));
        parallelFor(chunks, (t, ws) -> {
            int e0 = (int) ((long) t * size / chunks), e1 = (int) ((long) (t + 1) * size / chunks);
            for (int r = 1; r < runs; r++) Gemm.addInto(parts, (r - 1) * size + e0, dw, e0, e1 - e0);
        });
    }

    // ---------------------------------------------------------------- gemm

    /**
     * One row of A (a fully connected layer at batch 1): {@code c[j] = alpha * sum_p a[p] B(p, j) + beta*c[j]}.
     * The register-tiled kernel would compute 8 rows for 1 and gather B^T with scalar loads; here B is
     * read once, with unit stride: with B stored (n, kk) ({@code transB}, a Linear layer's weight) each
     * c[j] is a dot product of two contiguous rows; with B stored (kk, n) the rows of B are added into a
     * block of c's columns, scaled by a[p], in order of p, eight rows per pass over the block
     * ({@link Gemm#axpy8}: AlexNet saliency, whose fc6 backward streams 151 MB here, 49-61 -> 43 ms).
     * Column blocks go to the threads.
     */
    private void gemv(boolean transB, int n, int kk, float alpha, float[] a, int aOff, float[] b, int bOff, int ldb,
                      float beta, float[] c, int cOff) {
        int blocks = (long) n * kk < SMALL_GEMM ? 1 : splits(1, ceilDiv(n, GEMV_COLUMNS));
        parallelFor(blocks, (t, ws) -> {
            int j0 = t * n / blocks, j1 = (t + 1) * n / blocks;
            if (transB) {
                for (int j = j0; j < j1; j++) {
                    float v = alpha * Gemm.dot(a, aOff, b, bOff + j * ldb, kk, ws.lanes);
                    c[cOff + j] = beta == 0f ? v : v + beta * c[cOff + j];
                }
                return;
            }
            for (int jc = j0; jc < j1; jc += GEMV_COLUMNS) {
                int width = Math.min(GEMV_COLUMNS, j1 - jc);
                float[] acc = ws.row;
                Gemm.zero(acc, 0, width);
                int p = 0;
                for (; p + 8 <= kk; p += 8) Gemm.axpy8(a, aOff + p, b, bOff + p * ldb + jc, ldb, acc, 0, width);
                for (; p < kk; p++) Gemm.axpy(a[aOff + p], b, bOff + p * ldb + jc, acc, 0, width);
                for (int j = 0; j < width; j++) {
                    float v = alpha * acc[j];
                    c[cOff + jc + j] = beta == 0f ? v : v + beta * c[cOff + jc + j];
                }
            }
        });
    }

    /**
     * Max pooling as {@link Kernels#maxPoolForward}, split over the (n, c) planes; {@link Pooling}
     * has the paths (ResNet's stem pool VL outputs at a time; other 3x3 windows with selects, not
     * branches: on real data the comparisons are coin flips). Same ties (first max in row-major
     * order) and NaN rule (a NaN always takes the place) as the definition, so the same bits.
     */
    @Override
    public synchronized void maxPoolForward(PoolGeom g, float[] x, float[] y, int[] switches) {
        int planes = g.n() * g.c();
        int tasks = threads == 1 ? 1 : (int) Math.min(Math.min((long) TASKS_PER_THREAD * threads, planes),
                (long) x.length / ELEMENTWISE_CHUNK);
        if (tasks <= 1) {
            Pooling.maxPool(g, x, y, switches, 0, planes, workspaces[0].pool);
            return;
        }
        parallelFor(tasks, (t, ws) -> Pooling.maxPool(g, x, y, switches, t * planes / tasks, (t + 1) * planes / tasks, ws.pool));
    }

    /**
     * Unpooling as {@link Kernels#maxPoolBackward}, split over the (n, c) planes: a switch from
     * {@code maxPoolForward} points into its own plane, so each plane's scatter reads only its dy
     * and writes only its dx plane, adding into each dx element in the order of o as the reference
     * does (same bits, any thread count). A task that meets a switch outside its plane stops, and
     * then the whole call falls back to the reference loop, which rewrites all of dx.
     */
    @Override
    public synchronized void maxPoolBackward(PoolGeom g, float[] dy, int[] switches, float[] dx) {
        int planes = g.n() * g.c(), hw = g.h() * g.w(), ohw = g.oh() * g.ow();
        int tasks = threads == 1 ? 1 : (int) Math.min(Math.min((long) TASKS_PER_THREAD * threads, planes),
                (long) Math.max(dx.length, dy.length) / ELEMENTWISE_CHUNK);
        if (tasks <= 1 || switches.length != planes * ohw || dx.length != planes * hw) {
            Kernels.super.maxPoolBackward(g, dy, switches, dx);
            return;
        }
        AtomicBoolean leaves = new AtomicBoolean();
        parallelFor(tasks, (t, ws) -> {
            for (int p = planes * t / tasks, p1 = planes * (t + 1) / tasks; p < p1; p++) {
                int lo = p * hw;
                Arrays.fill(dx, lo, lo + hw, 0f);
                for (int o = p * ohw, end = o + ohw; o < end; o++) {
                    int i = switches[o];
                    if (i < lo || i >= lo + hw) {
                        leaves.set(true);
                        return;
                    }
                    dx[i] += dy[o];
                }
            }
        });
        if (leaves.get()) Kernels.super.maxPoolBackward(g, dy, switches, dx);
    }

    // ---------------------------------------------------------------- elementwise

    /** A kernel over the range {@code [i0, i1)} of flat arrays. */
    private interface Range {
        void run(int i0, int i1);
    }

    /**
     * Runs {@code body} over {@code [0, len)} cut into ranges for the threads (at least
     * {@value #ELEMENTWISE_CHUNK} elements each, {@value #TASKS_PER_THREAD} per thread where the
     * length allows); the cuts fall on multiples of 16 floats, so no two threads write the same
     * 64-byte cache line. Each element is computed by the same code whatever the cut.
     */
    private void elementwise(int len, Range body) {
        int tasks = threads == 1 ? 1 : (int) Math.min((long) TASKS_PER_THREAD * threads, len / ELEMENTWISE_CHUNK);
        if (tasks <= 1) {
            body.run(0, len);
            return;
        }
        parallelFor(tasks, (t, ws) -> {
            int i0 = (int) ((long) len * t / tasks) & ~15, i1 = t + 1 == tasks ? len : (int) ((long) len * (t + 1) / tasks) & ~15;
            body.run(i0, i1);
        });
    }

    /** {@link Kernels#reluForward} in vectors ({@link Elementwise#relu}), split over the threads; bits as the reference. */
    @Override
    public synchronized void reluForward(float[] x, float[] y) {
        elementwise(y.length, (i0, i1) -> Elementwise.relu(x, y, i0, i1));
    }

    /** {@link Kernels#reluBackward} under either mask, in vectors, split over the threads; bits as the reference. */
    @Override
    public synchronized void reluBackward(float[] x, float[] dy, float[] dx, boolean forwardMask, boolean signalMask) {
        elementwise(dx.length, (i0, i1) -> Elementwise.reluBackward(x, dy, dx, forwardMask, signalMask, i0, i1));
    }

    /** {@link Kernels#add} in vectors, split over the threads; bits as the reference. */
    @Override
    public synchronized void add(float[] a, float[] b, float[] y) {
        elementwise(y.length, (i0, i1) -> Elementwise.add(a, b, y, i0, i1));
    }

    /** {@link Kernels#addRelu} in one pass of vectors ({@link Elementwise#addRelu}), split over the threads; bits as the reference. */
    @Override
    public synchronized void addRelu(float[] a, float[] b, float[] y) {
        elementwise(y.length, (i0, i1) -> Elementwise.addRelu(a, b, y, i0, i1));
    }

    /**
     * {@link Kernels#allFinite} in vectors ({@link Elementwise#allFinite}), split over the threads: a
     * pass over memory (a serial {@code s += v * 0f} over AlexNet's 61M gradients took 68 ms, ad hoc).
     */
    @Override
    public synchronized boolean allFinite(float[] x) {
        java.util.concurrent.atomic.AtomicBoolean finite = new java.util.concurrent.atomic.AtomicBoolean(true);
        elementwise(x.length, (i0, i1) -> {
            if (!Elementwise.allFinite(x, i0, i1)) finite.set(false);
        });
        return finite.get();
    }

    /**
     * {@link Kernels#sgdUpdate} split over the threads, each range by the reference loop: the update
     * reads three arrays and writes two, bound by memory (an ad-hoc timing here of the momentum update
     * of AlexNet's 61M parameters: 50 ms on one thread, 30 ms on two); bits as the reference.
     */
    @Override
    public synchronized void sgdUpdate(float[] p, float[] g, float[] buf, boolean first, float lr, float momentum,
                                       float keep, float weightDecay, boolean nesterov) {
        elementwise(p.length, (i0, i1) -> Kernels.sgdUpdate(i0, i1, p, g, buf, first, lr, momentum, keep, weightDecay, nesterov));
    }

    // ---------------------------------------------------------------- batch norm

    /*
     * Batch norm: channels are independent, so they are split over the threads; BatchNorm's loops give
     * the reference's bits for any range of channels (each channel's sums in the reference's order,
     * the maps in vectors of doubles), so the bits never depend on the thread count.
     */

    /** The first channel of task t of {@code tasks} over c channels. */
    private static int channel(int c, int t, int tasks) {
        return (int) ((long) c * t / tasks);
    }

    /** Into how many channel ranges to cut a batch norm over {@code len} values: one when it is short. */
    private int channelTasks(int c, long len) {
        return len < 2L * ELEMENTWISE_CHUNK ? 1 : splits(1, c);
    }

    /**
     * Batch-norm training forward as {@link Kernels#batchNormTrainForward}: the same bits, channels split over
     * the threads, the statistics and then the map as two parallel loops (see {@link BatchNorm} for why).
     */
    @Override
    public synchronized void batchNormTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                                   float[] y, float[] mean, float[] invStd, float[] var) {
        batchNormTrain(n, c, hw, eps, x, gamma, beta, y, mean, invStd, var, false);
    }

    /** As {@link Kernels#batchNormReluTrainForward}: the ReLU in the map's pass. */
    @Override
    public synchronized void batchNormReluTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                                       float[] y, float[] mean, float[] invStd, float[] var) {
        batchNormTrain(n, c, hw, eps, x, gamma, beta, y, mean, invStd, var, true);
    }

    private void batchNormTrain(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                float[] y, float[] mean, float[] invStd, float[] var, boolean relu) {
        int tasks = channelTasks(c, (long) n * c * hw);
        double[] ms = new double[2 * c];
        parallelFor(tasks, (t, ws) -> BatchNorm.trainStatistics(channel(c, t, tasks), channel(c, t + 1, tasks),
                n, c, hw, eps, x, mean, invStd, var, ms));
        parallelFor(tasks, (t, ws) -> BatchNorm.trainMaps(channel(c, t, tasks), channel(c, t + 1, tasks),
                n, c, hw, x, gamma, beta, ms, relu, y));
    }

    /** Batch-norm training backward as {@link Kernels#batchNormTrainBackward}: the same bits, channels split over the threads, the sums and then the map. */
    @Override
    public synchronized void batchNormTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                                                    float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        batchNormTrainBackward(n, c, hw, x, gamma, null, dy, mean, invStd, dx, dgamma, dbeta);
    }

    /** As {@link Kernels#batchNormReluTrainBackward}: dy masked by {@code y > 0} where the sums and the map read it. */
    @Override
    public synchronized void batchNormReluTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] y, float[] dy,
                                                        float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        batchNormTrainBackward(n, c, hw, x, gamma, y, dy, mean, invStd, dx, dgamma, dbeta);
    }

    /** The training backward, dy read where {@code mask > 0} only (0 elsewhere); mask null for all of dy. */
    private void batchNormTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] mask, float[] dy,
                                        float[] mean, float[] invStd, float[] dx, float[] dgamma, float[] dbeta) {
        int tasks = channelTasks(c, (long) n * c * hw);
        double[] ms = new double[2 * c];
        for (int ch = 0; ch < c; ch++) {
            ms[2 * ch] = mean[ch];
            ms[2 * ch + 1] = invStd[ch];
        }
        double[] sums = gradientSums(tasks, n, c, hw, x, mask, dy, ms, dgamma, dbeta);
        if (dx != null) parallelFor(tasks, (t, ws) -> BatchNorm.trainBackwardMaps(channel(c, t, tasks), channel(c, t + 1, tasks),
                n, c, hw, x, gamma, mask, dy, ms, sums, dx));
    }

    /** Batch-norm inference forward as {@link Kernels#batchNormInferenceForward}: the same bits, channels split over the threads. */
    @Override
    public synchronized void batchNormInferenceForward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] beta,
                                                       float[] mean, float[] var, float[] y) {
        int tasks = channelTasks(c, (long) n * c * hw);
        parallelFor(tasks, (t, ws) -> BatchNorm.inferenceForward(channel(c, t, tasks), channel(c, t + 1, tasks),
                n, c, hw, eps, x, gamma, beta, mean, var, y));
    }

    /** Batch-norm inference backward as {@link Kernels#batchNormInferenceBackward}: the same bits, channels split over the threads. */
    @Override
    public synchronized void batchNormInferenceBackward(int n, int c, int hw, float eps, float[] x, float[] gamma, float[] mean,
                                                        float[] var, float[] dy, float[] dx, float[] dgamma, float[] dbeta) {
        int tasks = channelTasks(c, (long) n * c * hw);
        double[] ms = new double[2 * c];
        for (int ch = 0; ch < c; ch++) {
            ms[2 * ch] = mean[ch];
            ms[2 * ch + 1] = 1.0 / Math.sqrt((double) var[ch] + eps);
        }
        if (dgamma != null || dbeta != null) gradientSums(tasks, n, c, hw, x, null, dy, ms, dgamma, dbeta);
        if (dx != null) parallelFor(tasks, (t, ws) -> BatchNorm.inferenceBackwardMaps(channel(c, t, tasks), channel(c, t + 1, tasks),
                n, c, hw, gamma, ms, dy, dx));
    }

    /**
     * Batch norm's backward sums ({@link BatchNorm#gradientSums}) for the {@code (mean, scale)} pairs ms, dy
     * read where {@code mask > 0} (mask null: everywhere), as a parallel loop of its own; writes dgamma and
     * dbeta (each may be null) and returns the sums.
     */
    private double[] gradientSums(int tasks, int n, int c, int hw, float[] x, float[] mask, float[] dy, double[] ms,
                                  float[] dgamma, float[] dbeta) {
        double[] sums = new double[2 * c];
        parallelFor(tasks, (t, ws) -> BatchNorm.gradientSums(channel(c, t, tasks), channel(c, t + 1, tasks), n, c, hw, x, mask, dy, ms, sums));
        for (int ch = 0; ch < c; ch++) {
            if (dgamma != null) dgamma[ch] = (float) sums[2 * ch + 1];
            if (dbeta != null) dbeta[ch] = (float) sums[2 * ch];
        }
        return sums;
    }

    @Override
    public synchronized void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float beta, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || kk < 0)
            throw new IllegalArgumentException("gemm: negative size m=" + m + ", n=" + n + ", k=" + kk);
        if (m == 0 || n == 0) return;
        if (kk == 0 || alpha == 0f) {                     // C = beta * C, without reading C when beta is 0
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    int ci = cOff + i * ldc + j;
                    c[ci] = beta == 0f ? 0f : beta * c[ci];
                }
            return;
        }
        if (m == 1 && (!transA || lda == 1)) {
            gemv(transB, n, kk, alpha, a, aOff, b, bOff, ldb, beta, c, cOff);
            return;
        }
        if (transB && m <= NR && n % MR == 0 && (long) n * kk >= WEIGHT_ROWS_MIN) {
            gemmWeightRows(transA, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        // A (i, p) = a[aOff + i*ars + p*acs], B (p, j) = b[bOff + p*brs + j*bcs]
        int ars = transA ? 1 : lda, acs = transA ? lda : 1, brs = transB ? 1 : ldb, bcs = transB ? ldb : 1;
        if (kk <= KC && (long) kk * n <= SHALLOW_B_MAX && (long) m * n >= SHALLOW_C_MIN) {
            gemmShallow(m, n, kk, alpha, a, aOff, ars, acs, b, bOff, brs, bcs, beta, c, cOff, ldc);
            return;
        }
        int mPanels = ceilDiv(m, MR), nPanels = ceilDiv(n, NR);
        boolean small = (long) m * n * kk < SMALL_GEMM;
        int colBlocks = small ? 1 : splits(1, nPanels);
        int rowBlocks = small || colBlocks >= threads ? 1 : splits(colBlocks, mPanels);
        int kcb = blockDepth(kk);
        // Tasks: column block x row block of C.
        parallelFor(colBlocks * rowBlocks, (t, ws) -> {
            int rb = t % rowBlocks, cb = t / rowBlocks;
            int i0 = rb * mPanels / rowBlocks * MR, i1 = Math.min(m, (rb + 1) * mPanels / rowBlocks * MR);
            int jpa = cb * nPanels / colBlocks, jpb = (cb + 1) * nPanels / colBlocks;
            for (int pc = 0; pc < kk; pc += kcb) {
                int kc = Math.min(kcb, kk - pc);
                float bt = pc == 0 ? beta : 1f;
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    boolean pack = jpb - jpa >= PACK_A_MIN_PANELS;
                    float[] ap = pack ? (ws.a = Workspace.grow(ws.a, ceilDiv(mc, MR) * MR * kc)) : a; // (ceil(mc/MR), kc, MR)
                    if (pack) Gemm.packA(a, aOff + ic * ars + pc * acs, ars, acs, mc, kc, ap, 0);
                    int ao = pack ? 0 : aOff + ic * ars + pc * acs;
                    for (int jp = jpa; jp < jpb; jp++) {
                        int j0 = jp * NR, nr = Math.min(NR, n - j0);
                        Gemm.packB(b, bOff + pc * brs + j0 * bcs, brs, bcs, kc, nr, ws.b);
                        if (pack) {
                            Gemm.panelColumn(mc, nr, kc, ap, 0, 1, MR, kc * MR, ws.b,
                                    c, cOff + ic * ldc + j0, ldc, alpha, bt, null, 0, ws.tile, ws.aTail);
                        } else {
                            Gemm.panelColumn(mc, nr, kc, a, ao, ars, acs, MR * ars, ws.b,
                                    c, cOff + ic * ldc + j0, ldc, alpha, bt, null, 0, ws.tile, ws.aTail);
                        }
                    }
                }
            }
        });
    }

    /**
     * {@code C = alpha A B + beta C} with a shallow depth ({@code kk <= KC}: one K block) and a large C:
     * the weight gradient of a fully connected layer at a small batch ({@code dw = dy^T x}, AlexNet's
     * fc6 at batch 16: (4096, 9216) from a depth of 16). Storing C is then the whole cost, and the
     * blocked path stores it one column panel at a time down MC rows: MC rows of C written
     * concurrently, 128 bytes at a time, 4.4 GB/s for fc6 (31-34 ms on 2 threads, ad hoc). Here all of
     * B is packed once ({@code kk*n <= SHALLOW_B_MAX} floats: in L2) and each task sweeps whole row
     * panels of C left to right, so C is written as MR rows in sequence. Each element is the same
     * sum, over p in order, with the same alpha/beta store as the blocked path: the same bits.
     */
    private void gemmShallow(int m, int n, int kk, float alpha, float[] a, int aOff, int ars, int acs,
                             float[] b, int bOff, int brs, int bcs, float beta, float[] c, int cOff, int ldc) {
        int nPanels = ceilDiv(n, NR), mPanels = ceilDiv(m, MR), panel = kk * NR;
        float[] bAll = packedB = Workspace.grow(packedB, nPanels * panel);
        int packTasks = splits(1, nPanels);
        parallelFor(packTasks, (t, ws) -> {
            for (int jp = t * nPanels / packTasks, end = (t + 1) * nPanels / packTasks; jp < end; jp++) {
                int j0 = jp * NR;
                Gemm.packB(b, bOff + j0 * bcs, brs, bcs, kk, Math.min(NR, n - j0), bAll, jp * panel);
            }
        });
        int tasks = splits(1, mPanels);
        parallelFor(tasks, (t, ws) -> {
            for (int ip = t * mPanels / tasks, end = (t + 1) * mPanels / tasks; ip < end; ip++) {
                int i0 = ip * MR, mr = Math.min(MR, m - i0);
                for (int jp = 0; jp < nPanels; jp++) {
                    int j0 = jp * NR;
                    Gemm.panelColumn(mr, Math.min(NR, n - j0), kk, a, aOff + i0 * ars, ars, acs, MR * ars, bAll, jp * panel,
                            c, cOff + i0 * ldc + j0, ldc, alpha, beta, null, 0, ws.tile, ws.aTail);
                }
            }
        });
    }

    /**
     * {@code C = alpha A B + beta C} with B stored transposed and large, and few rows of A: a Linear
     * layer's forward at a small batch ({@code y = x W^T}, W (n, kk) row j = output j, m <= NR images).
     * Computed as {@code C^T = W A^T}: eight rows of W, read in place as they lie
     * ({@link Gemm#kernelRows}), against A^T packed once as one panel (kk, NR) whose columns past m
     * are zero, over the whole depth in one pass, so each tile is stored once, transposed into C.
     * The blocked path packed W^T panel by panel (a transpose of every weight) and met each panel with
     * only m/MR row tiles: 5.9% of an AlexNet training step at batch 16 went to that packing. Up to VL
     * rows of A, the tile is one vector wide ({@link Gemm#kernelRowsNarrow}): half the multiply-adds of
     * a two-vector tile with half its columns zero. The sums run over p in order, one chain per element.
     */
    private void gemmWeightRows(boolean transA, int m, int n, int kk, float alpha, float[] a, int aOff, int lda,
                                float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        boolean narrow = m <= VL;                          // one vector of columns: Gemm.kernelRowsNarrow
        int width = narrow ? VL : NR;
        float[] at = packedB = Workspace.grow(packedB, kk * width + VL);
        int ars = transA ? 1 : lda, acs = transA ? lda : 1;
        for (int p = 0; p < kk; p++) {                     // A^T (p, i) = A (i, p): written in order, m rows of A read side by side
            int d = p * width, src = aOff + p * acs;
            for (int i = 0; i < m; i++) at[d + i] = a[src + i * ars];
            for (int i = m; i < width; i++) at[d + i] = 0f;
        }
        int tiles = n / MR, tasks = splits(1, tiles);
        parallelFor(tasks, (t, ws) -> {
            for (int tile = t * tiles / tasks, end = (t + 1) * tiles / tasks; tile < end; tile++) {
                int j0 = tile * MR;
                if (narrow) Gemm.kernelRowsNarrow(kk, b, bOff + j0 * ldb, ldb, at, 0, ws.tile);
                else Gemm.kernelRows(kk, b, bOff + j0 * ldb, ldb, at, 0, ws.tile);
                for (int jj = 0; jj < MR; jj++)
                    for (int i = 0; i < m; i++) {
                        int ci = cOff + i * ldc + j0 + jj;
                        float v = alpha * ws.tile[jj * NR + i];
                        c[ci] = beta == 0f ? v : v + beta * c[ci];
                    }
            }
        });
    }
}
