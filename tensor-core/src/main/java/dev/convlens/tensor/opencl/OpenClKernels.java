package dev.convlens.tensor.opencl;

import com.aparapi.Kernel;
import com.aparapi.device.Device;
import com.aparapi.device.OpenCLDevice;
import com.aparapi.exception.CompileFailedException;
import com.aparapi.internal.kernel.KernelManager;
import com.aparapi.internal.opencl.OpenCLLoader;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.PoolGeom;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code opencl} kernel layer: every primitive of {@link Kernels} as an OpenCL kernel written in
 * Java and translated by Aparapi ({@link ClProgram} holds them all). Convolutions run as im2col (or
 * col2im) on the device followed by a GEMM tiled through local memory; pooling, ReLU, add and batch
 * norm have one work item per element (per channel for the reductions).
 *
 * <h2>What lives on the device, and what is copied</h2>
 * Aparapi runs in explicit mode: nothing is copied unless this class says so. Each call puts its
 * inputs once, runs all its launches on the device (a convolution of a batch of N images with G
 * groups is 2*N*G launches, a training batch norm 2, reading and writing device buffers only),
 * and gets its outputs once. Between two calls a tensor is <em>not</em> kept on the device: the ops
 * hand {@code float[]} to the kernels and take {@code float[]} back, so every call copies its
 * inputs in and its outputs out. The im2col workspace is device-only (written and read there, never
 * fetched). On a CPU OpenCL driver such as PoCL the buffers share the Java arrays' memory, so the
 * copies cost little there; on a discrete GPU they are real PCIe transfers.
 *
 * <h2>Where it runs</h2>
 * Aparapi silently falls back to a Java thread pool when a kernel cannot be translated or compiled.
 * This class compiles the program for one OpenCL device when it is created (failing loudly if it
 * cannot), pins the kernel to that device, and checks after every launch that it ran there
 * ({@link Kernel#isRunningCL()}); a launch that ran anywhere else throws {@link IllegalStateException}.
 *
 * <p>One instance serves the whole JVM ({@link #shared()}); its methods are synchronized, so calls
 * from several threads take turns on the device.
 */
public final class OpenClKernels implements Kernels {
    /** Aparapi's logger (its Config names it after the property that sets its level), held so the level sticks. */
    private static final Logger APARAPI_LOG = Logger.getLogger("com.aparapi.logLevel");
    private static OpenClKernels shared;
    private static Throwable sharedFailure;

    private final OpenCLDevice device;
    private final ClProgram prog = new ClProgram();
    private final float[] noF = new float[1];
    private final int[] noI = new int[1];
    /** The im2col workspace (cg*r*s, oh*ow), grown as needed; device-only. */
    private float[] col = new float[1];
    private long launches;

    private OpenClKernels(OpenCLDevice device) throws CompileFailedException {
        this.device = device;
        prog.setExplicit(true);
        LinkedHashSet<Device> only = new LinkedHashSet<>();
        only.add(device);
        KernelManager.instance().setPreferredDevices(prog, only);
        prog.compile(device);
    }

    /**
     * The JVM's OpenCL kernels on the device {@link #pick} chooses, compiled on first use.
     *
     * @throws IllegalStateException when OpenCL or its native library is missing, no device is
     *         found, or the program does not compile; the message says which
     */
    public static synchronized OpenClKernels shared() {
        if (shared != null) return shared;
        if (sharedFailure != null) throw new IllegalStateException(sharedFailure.getMessage(), sharedFailure);
        try {
            String mode = System.getProperty("com.aparapi.executionMode");
            if (mode != null) {
                throw new IllegalStateException("OpenCL: the system property com.aparapi.executionMode=" + mode
                        + " is set; Aparapi misreports the device under it, so convlens refuses it (unset it)");
            }
            if (!Boolean.getBoolean("convlens.opencl.verbose")) APARAPI_LOG.setLevel(Level.SEVERE);
            List<OpenCLDevice> all = devices();
            if (all.isEmpty()) throw new IllegalStateException("OpenCL: no OpenCL device found" + whyNone());
            OpenCLDevice dev = pick(all);
            try {
                shared = new OpenClKernels(dev);
                // again: Aparapi's Config sets the level when its classes load
                if (!Boolean.getBoolean("convlens.opencl.verbose")) APARAPI_LOG.setLevel(Level.SEVERE);
            } catch (CompileFailedException | RuntimeException e) {
                throw new IllegalStateException("OpenCL: the kernels did not compile for " + describe(dev) + ": " + e, e);
            }
            return shared;
        } catch (IllegalStateException e) {
            sharedFailure = e;
            throw e;
        } catch (LinkageError e) { // the Aparapi native library did not load
            IllegalStateException ise = new IllegalStateException("OpenCL: Aparapi's native library did not load: " + e, e);
            sharedFailure = ise;
            throw ise;
        }
    }

    /**
     * What {@code convlens devices} shows, without Aparapi types: one line per OpenCL device (as
     * {@link #devices()} orders them), the index {@link #pick} chooses (-1 when none can be), and
     * why not, when none can be.
     */
    public record Survey(List<String> devices, int picked, String problem) {}

    /** The devices, the one picked, and what is wrong when none can be (no runtime, no device, bad index). */
    public static Survey survey() {
        List<OpenCLDevice> all;
        try {
            all = devices();
        } catch (LinkageError e) {
            return new Survey(List.of(), -1, "Aparapi's native library did not load: " + e);
        }
        List<String> lines = new ArrayList<>();
        for (OpenCLDevice d : all) lines.add(describe(d));
        if (all.isEmpty()) return new Survey(lines, -1, "no OpenCL device found" + whyNone());
        try {
            return new Survey(lines, all.indexOf(pick(all)), null);
        } catch (IllegalStateException e) {
            return new Survey(lines, -1, e.getMessage());
        }
    }

    /** Every OpenCL device of every platform, GPUs first, then accelerators, then CPUs; empty when OpenCL is missing. */
    static List<OpenCLDevice> devices() {
        List<OpenCLDevice> all = new ArrayList<>();
        if (!openClAvailable()) return all;
        for (Device.TYPE t : new Device.TYPE[] {Device.TYPE.GPU, Device.TYPE.ACC, Device.TYPE.CPU}) {
            List<OpenCLDevice> some = OpenCLDevice.listDevices(t);
            if (some != null) all.addAll(some);
        }
        return all;
    }

    /** True when Aparapi's native library loaded and found an OpenCL runtime (an ICD loader and a driver). */
    public static boolean openClAvailable() {
        try {
            return OpenCLLoader.isOpenCLAvailable();
        } catch (LinkageError e) {
            return false;
        }
    }

    private static String whyNone() {
        return openClAvailable() ? " (an OpenCL runtime is there but lists no device)"
                : " (no OpenCL runtime: install an ICD loader and a driver, e.g. Debian's ocl-icd-libopencl1 and "
                + "pocl-opencl-icd)";
    }

    /**
     * The device convlens uses among {@code all} (ordered as {@link #devices()}): the one at index
     * {@code convlens.opencl.device} if that property is set, else the first, i.e. a GPU when there is one.
     */
    static OpenCLDevice pick(List<OpenCLDevice> all) {
        Integer i = Integer.getInteger("convlens.opencl.device");
        if (i != null) {
            if (i < 0 || i >= all.size()) {
                throw new IllegalStateException("OpenCL: convlens.opencl.device=" + i + " but there are " + all.size()
                        + " devices (0.." + (all.size() - 1) + ")");
            }
            return all.get(i);
        }
        return all.get(0);
    }

    /** One line about a device: type, name, platform, compute units, memory. */
    static String describe(OpenCLDevice d) {
        return d.getType() + " '" + d.getName().trim() + "' (" + d.getOpenCLPlatform().getName().trim() + ", "
                + d.getMaxComputeUnits() + " compute units, " + (d.getGlobalMemSize() >> 20) + " MiB, local "
                + (d.getLocalMemSize() >> 10) + " KiB)";
    }

    /** "opencl(DEVICE)", e.g. {@code opencl(CPU pthread-skylake-avx512-...)}: the layer and the device it picked. */
    @Override
    public String name() {
        return "opencl(" + device.getType() + " " + device.getName().trim() + ")";
    }

    /** The OpenCL device every launch runs on. */
    OpenCLDevice device() {
        return device;
    }

    /** One line about the device every launch runs on (as in {@link Survey#devices()}). */
    public String deviceDescription() {
        return describe(device);
    }

    /** Launches so far (each checked to have run on {@link #device()}). */
    public synchronized long launches() {
        return launches;
    }

    /** True when the last launch ran on the OpenCL device (Aparapi's own answer, not an assumption). */
    public synchronized boolean lastRanOnOpenCl() {
        return launches > 0 && prog.isRunningCL() && prog.getTargetDevice() instanceof OpenCLDevice
                && ((OpenCLDevice) prog.getTargetDevice()).getDeviceId() == device.getDeviceId();
    }

    /** Aparapi's device-usage report for the program's kernel class (which devices ran it, and times). */
    public synchronized String usageReport() {
        StringBuilder sb = new StringBuilder();
        try {
            KernelManager.instance().reportDeviceUsage(sb, true);
        } catch (RuntimeException e) { // Aparapi's report fails on a kernel class left with no device
            sb.append("(Aparapi's device-usage report failed: ").append(e).append(")\n");
        }
        sb.append("convlens program: ").append(launches).append(" launches, target device ")
                .append(prog.getTargetDevice() == null ? "none" : prog.getTargetDevice().getShortDescription())
                .append(", running OpenCL: ").append(prog.isRunningCL()).append('\n');
        return sb.toString();
    }

    // ---------------------------------------------------------------- launching

    private void bind(float[] a, float[] b, float[] c, float[] d, float[] e, int[] sw) {
        prog.a = a == null ? noF : a;
        prog.b = b == null ? noF : b;
        prog.c = c == null ? noF : c;
        prog.d = d == null ? noF : d;
        prog.e = e == null ? noF : e;
        prog.sw = sw == null ? noI : sw;
    }

    private void put(float[]... in) {
        for (float[] x : in) prog.put(x);
    }

    /** One 1-D launch of {@code count} work items of {@code mode}, then the check of where it ran. */
    private void launch(int mode, int count) {
        prog.p[ClProgram.MODE] = mode;
        prog.p[ClProgram.COUNT] = count;
        prog.put(prog.p).put(prog.fp);
        int global = roundUp(Math.max(count, 1), ClProgram.WG);
        prog.execute(device.createRange(global, ClProgram.WG));
        checkRanOnDevice(mode);
    }

    private void checkRanOnDevice(int mode) {
        launches++;
        if (!lastRanOnOpenCl()) {
            throw new IllegalStateException("OpenCL: kernel mode " + mode + " was meant for " + describe(device)
                    + " but ran on " + prog.getTargetDevice().getShortDescription() + " (Aparapi fell back); "
                    + "run with -Dconvlens.opencl.verbose=true to see why");
        }
    }

    private static int roundUp(int x, int m) {
        return (x + m - 1) / m * m;
    }

    private float[] workspace(int size) {
        if (col.length < size) col = new float[size];
        return col;
    }

    private void setConv(ConvGeom g) {
        int[] p = prog.p;
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
        int[] p = prog.p;
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

    /** One tiled GEMM launch on the arrays already bound to a, b, c. */
    private void gemmLaunch(boolean transA, boolean transB, int m, int n, int kk, float alpha, int aOff, int lda,
                            int bOff, int ldb, float beta, int cOff, int ldc) {
        int[] p = prog.p;
        p[ClProgram.MODE] = ClProgram.GEMM;
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
        prog.fp[ClProgram.ALPHA] = alpha;
        prog.fp[ClProgram.BETA] = beta;
        prog.put(p).put(prog.fp);
        int tm = ClProgram.TM; // 16 x 16 items per TM x TM tile of C
        prog.execute(device.createRange2D(roundUp(n, tm) / 4, roundUp(m, tm) / 4, 16, 16));
        checkRanOnDevice(ClProgram.GEMM);
    }

    // ---------------------------------------------------------------- convolution and GEMM

    @Override
    public synchronized void convForward(ConvGeom g, float[] x, float[] w, float[] bias, float[] y) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        // a = w (K, cg*r*s), b = col (cg*r*s, oh*ow), c = y, d = x, e = bias
        bind(w, workspace(crs * ohw), y, x, bias, null);
        put(w, x);
        if (bias != null) put(bias);
        setConv(g);
        for (int n = 0; n < g.n(); n++) {
            prog.p[ClProgram.IMG] = n;
            if (bias != null) launch(ClProgram.BIAS_FILL, g.k() * ohw);
            for (int grp = 0; grp < g.groups(); grp++) {
                prog.p[ClProgram.GRP] = grp;
                launch(ClProgram.IM2COL, crs * ohw);
                gemmLaunch(false, false, kg, ohw, crs, 1f, grp * kg * crs, crs, 0, ohw,
                        bias != null ? 1f : 0f, (n * g.k() + grp * kg) * ohw, ohw);
            }
        }
        prog.get(y);
    }

    @Override
    public synchronized void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        // a = w, b = dy, c = col (the column gradient), d = dx
        bind(w, dy, workspace(crs * ohw), dx, null, null);
        put(w, dy);
        setConv(g);
        for (int n = 0; n < g.n(); n++) {
            prog.p[ClProgram.IMG] = n;
            for (int grp = 0; grp < g.groups(); grp++) {
                // dcol (crs, ohw) = w_g^T (crs, kg) * dy_g (kg, ohw)
                gemmLaunch(true, false, crs, ohw, kg, 1f, grp * kg * crs, crs, (n * g.k() + grp * kg) * ohw, ohw,
                        0f, 0, ohw);
                prog.p[ClProgram.GRP] = grp;
                launch(ClProgram.COL2IM, cg * g.h() * g.w());
            }
        }
        prog.get(dx);
    }

    @Override
    public synchronized void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db) {
        int cg = g.cg(), kg = g.kg(), ohw = g.oh() * g.ow(), crs = cg * g.r() * g.s();
        // a = dy, b = col, c = dw, d = x, e = db
        bind(dy, workspace(crs * ohw), dw, x, db, null);
        put(dy, x);
        setConv(g);
        if (db != null) {
            launch(ClProgram.BIAS_GRAD, g.k());
            prog.get(db);
        }
        if (dw == null) return;
        for (int n = 0; n < g.n(); n++) {
            prog.p[ClProgram.IMG] = n;
            for (int grp = 0; grp < g.groups(); grp++) {
                prog.p[ClProgram.GRP] = grp;
                launch(ClProgram.IM2COL, crs * ohw);
                // dw_g (kg, crs) (+)= dy_g (kg, ohw) * col^T (ohw, crs)
                gemmLaunch(false, true, kg, crs, ohw, 1f, (n * g.k() + grp * kg) * ohw, ohw, 0, ohw,
                        n == 0 ? 0f : 1f, grp * kg * crs, crs);
            }
        }
        prog.get(dw);
    }

    @Override
    public synchronized void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float beta, float[] c, int cOff, int ldc) {
        bind(a, b, c, null, null, null);
        put(a, b);
        if (beta != 0) put(c);
        gemmLaunch(transA, transB, m, n, kk, alpha, aOff, lda, bOff, ldb, beta, cOff, ldc);
        prog.get(c);
    }

    // ---------------------------------------------------------------- pooling, ReLU, add

    @Override
    public synchronized void maxPoolForward(PoolGeom g, float[] x, float[] y, int[] switches) {
        bind(null, null, y, x, null, switches);
        put(x);
        setPool(g);
        launch(ClProgram.POOL_FWD, y.length);
        prog.get(y);
        prog.get(switches);
    }

    /**
     * Unpooling as a gather (each input sums the outputs whose window covers it and whose switch
     * points at it), so no atomics are needed. That reads only the windows that cover an input; if a
     * switch points outside its own window (switches not made by {@link #maxPoolForward}), the
     * reference scatter runs instead, on the host.
     */
    @Override
    public synchronized void maxPoolBackward(PoolGeom g, float[] dy, int[] switches, float[] dx) {
        if (!switchesInsideWindows(g, switches)) {
            Kernels.super.maxPoolBackward(g, dy, switches, dx);
            return;
        }
        bind(dy, null, null, dx, null, switches);
        put(dy);
        prog.put(switches);
        setPool(g);
        launch(ClProgram.POOL_BWD, dx.length);
        prog.get(dx);
    }

    private static boolean switchesInsideWindows(PoolGeom g, int[] switches) {
        int hw = g.h() * g.w(), ohw = g.oh() * g.ow();
        for (int o = 0; o < switches.length; o++) {
            int s = switches[o];
            int plane = o / ohw, oy = (o % ohw) / g.ow(), ox = o % g.ow();
            if (s / hw != plane) return false;
            int dyi = s % hw / g.w() - (oy * g.strideH() - g.padTop());
            int dxi = s % g.w() - (ox * g.strideW() - g.padLeft());
            if (dyi < 0 || dyi % g.dilH() != 0 || dyi / g.dilH() >= g.kernelH()) return false;
            if (dxi < 0 || dxi % g.dilW() != 0 || dxi / g.dilW() >= g.kernelW()) return false;
        }
        return true;
    }

    @Override
    public synchronized void reluForward(float[] x, float[] y) {
        bind(null, null, y, x, null, null);
        put(x);
        launch(ClProgram.RELU_FWD, y.length);
        prog.get(y);
    }

    @Override
    public synchronized void reluBackward(float[] x, float[] dy, float[] dx, boolean forwardMask, boolean signalMask) {
        bind(dy, null, dx, x, null, null);
        put(dy, x);
        prog.p[ClProgram.FWD_MASK] = forwardMask ? 1 : 0;
        prog.p[ClProgram.SIG_MASK] = signalMask ? 1 : 0;
        launch(ClProgram.RELU_BWD, dx.length);
        prog.get(dx);
    }

    @Override
    public synchronized void add(float[] a, float[] b, float[] y) {
        bind(a, b, y, null, null, null);
        put(a, b);
        launch(ClProgram.ADD, y.length);
        prog.get(y);
    }

    // ---------------------------------------------------------------- batch norm

    /** The per-channel pack (see {@link ClProgram}): gamma (1 when null), beta (0 when null), then room for the rest. */
    private static float[] pack(int c, float[] gamma, float[] beta) {
        float[] e = new float[7 * c];
        for (int ch = 0; ch < c; ch++) {
            e[ClProgram.GAMMA * c + ch] = gamma == null ? 1f : gamma[ch];
            e[ClProgram.BETA_V * c + ch] = beta == null ? 0f : beta[ch];
        }
        return e;
    }

    private void setBn(int n, int c, int hw) {
        prog.p[ClProgram.N] = n;
        prog.p[ClProgram.C] = c;
        prog.p[ClProgram.HW] = hw;
        prog.fp[ClProgram.INV_M] = (float) (1.0 / ((double) n * hw));
    }

    @Override
    public synchronized void batchNormTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                                   float[] beta, float[] y, float[] mean, float[] invStd, float[] var) {
        float[] e = pack(c, gamma, beta);
        bind(null, null, y, x, e, null);
        put(x, e);
        setBn(n, c, hw);
        prog.fp[ClProgram.EPS] = eps;
        launch(ClProgram.BN_STATS, c);
        launch(ClProgram.BN_NORM, y.length);
        prog.get(y);
        prog.get(e);
        System.arraycopy(e, ClProgram.MEAN * c, mean, 0, c);
        System.arraycopy(e, ClProgram.INV_STD * c, invStd, 0, c);
        System.arraycopy(e, ClProgram.VAR * c, var, 0, c);
    }

    @Override
    public synchronized void batchNormTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                                                    float[] mean, float[] invStd, float[] dx, float[] dgamma,
                                                    float[] dbeta) {
        float[] e = pack(c, gamma, null);
        System.arraycopy(mean, 0, e, ClProgram.MEAN * c, c);
        System.arraycopy(invStd, 0, e, ClProgram.INV_STD * c, c);
        bind(dy, null, dx, x, e, null);
        put(dy, x, e);
        setBn(n, c, hw);
        launch(ClProgram.BN_BWD_SUMS, c);
        if (dx != null) {
            launch(ClProgram.BN_BWD_DX, dx.length);
            prog.get(dx);
        }
        prog.get(e);
        if (dgamma != null) System.arraycopy(e, ClProgram.SUM_DY_XHAT * c, dgamma, 0, c);
        if (dbeta != null) System.arraycopy(e, ClProgram.SUM_DY * c, dbeta, 0, c);
    }

    /** The pack for fixed statistics: invStd = 1/sqrt(var + eps) of the C stored variances (C scalars, on the host). */
    private static float[] packFixed(int c, float eps, float[] gamma, float[] beta, float[] mean, float[] var) {
        float[] e = pack(c, gamma, beta);
        for (int ch = 0; ch < c; ch++) {
            e[ClProgram.MEAN * c + ch] = mean[ch];
            e[ClProgram.INV_STD * c + ch] = (float) (1.0 / Math.sqrt((double) var[ch] + eps));
        }
        return e;
    }

    @Override
    public synchronized void batchNormInferenceForward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                                       float[] beta, float[] mean, float[] var, float[] y) {
        float[] e = packFixed(c, eps, gamma, beta, mean, var);
        bind(null, null, y, x, e, null);
        put(x, e);
        setBn(n, c, hw);
        launch(ClProgram.BN_NORM, y.length);
        prog.get(y);
    }

    @Override
    public synchronized void batchNormInferenceBackward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                                        float[] mean, float[] var, float[] dy, float[] dx,
                                                        float[] dgamma, float[] dbeta) {
        float[] e = packFixed(c, eps, gamma, null, mean, var);
        bind(dy, null, dx, x, e, null);
        put(dy, x, e);
        setBn(n, c, hw);
        if (dgamma != null || dbeta != null) {
            launch(ClProgram.BN_BWD_SUMS, c);
            prog.get(e);
            if (dgamma != null) System.arraycopy(e, ClProgram.SUM_DY_XHAT * c, dgamma, 0, c);
            if (dbeta != null) System.arraycopy(e, ClProgram.SUM_DY * c, dbeta, 0, c);
        }
        if (dx != null) {
            launch(ClProgram.BN_BWD_DX_FIXED, dx.length);
            prog.get(dx);
        }
    }
}
