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
 * Aparapi runs in explicit mode: nothing is copied unless this class says so. Work arrives as a
 * {@link ClPass}: a list of launches over one arena of device memory ({@link ClProgram}), which
 * {@link #run} puts on the device once, runs there launch after launch, and gets back once. A
 * {@code Kernels} method of this class is a pass of one op (its inputs copied in, its outputs out);
 * {@code dev.convlens.nn.ClGraph} records a whole network's forward pass, or its backward pass, as one
 * pass, so every intermediate tensor stays on the device from the launch that writes it to the
 * last that reads it. The im2col workspace is device-only. On a CPU OpenCL driver such as PoCL the
 * buffers share the Java arrays' memory, so the copies cost little there; on a discrete GPU they are
 * real PCIe transfers.
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
    private long launches, passes;

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

    /** Passes run so far ({@link #run}): each is one transfer of the arena in and one out. */
    public synchronized long passes() {
        return passes;
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

    // ---------------------------------------------------------------- running a pass

    /**
     * Runs a recorded pass: fills the arena with its uploads, puts it on the device once, runs
     * every launch (each checked to have run on {@link #device()}), gets the arena once, and copies
     * the downloads into their host arrays. Passes from several threads take turns.
     *
     * @throws IllegalStateException when a launch ran anywhere but the OpenCL device
     */
    public synchronized void run(ClPass pass) {
        if (pass.launches.isEmpty() && pass.downloads.isEmpty() && pass.intDownloads.isEmpty()) return;
        int total = pass.floats + pass.workspace;
        // Aparapi moves whole arrays: an arena much larger than this pass needs would be copied whole
        // both ways, so it is replaced (a new device buffer) when too small or more than 4x too large
        if (prog.m.length < total || prog.m.length > 4L * total + 4096) prog.m = new float[Math.max(total, 1)];
        if (prog.si.length < pass.ints || prog.si.length > 4L * pass.ints + 4096) prog.si = new int[Math.max(pass.ints, 1)];
        float[] m = prog.m;
        int[] si = prog.si;
        for (ClPass.Copy u : pass.uploads) System.arraycopy(u.host(), 0, m, u.slot().off(), u.host().length);
        for (ClPass.IntCopy u : pass.intUploads) System.arraycopy(u.host(), 0, si, u.slot().off(), u.host().length);
        prog.put(m);
        prog.put(si);
        for (ClPass.Launch l : pass.launches) {
            System.arraycopy(l.p(), 0, prog.p, 0, ClProgram.P_LEN);
            System.arraycopy(l.fp(), 0, prog.fp, 0, prog.fp.length);
            for (int i : l.wsIdx()) prog.p[i] += pass.floats;
            prog.put(prog.p).put(prog.fp);
            prog.execute(l.global1() == 0 ? device.createRange(l.global0(), ClProgram.WG)
                    : device.createRange2D(l.global0(), l.global1(), 16, 16));
            checkRanOnDevice(l.p()[ClProgram.MODE]);
        }
        prog.get(m);
        if (!pass.intDownloads.isEmpty()) prog.get(si);
        passes++;
        for (ClPass.Copy d : pass.downloads) System.arraycopy(m, d.slot().off(), d.host(), 0, d.host().length);
        for (ClPass.IntCopy d : pass.intDownloads) System.arraycopy(si, d.slot().off(), d.host(), 0, d.host().length);
    }

    private void checkRanOnDevice(int mode) {
        launches++;
        if (!lastRanOnOpenCl()) {
            throw new IllegalStateException("OpenCL: kernel mode " + mode + " was meant for " + describe(device)
                    + " but ran on " + prog.getTargetDevice().getShortDescription() + " (Aparapi fell back); "
                    + "run with -Dconvlens.opencl.verbose=true to see why");
        }
    }

    // ---------------------------------------------------------------- the Kernels methods: one-op passes

    @Override
    public void convForward(ConvGeom g, float[] x, float[] w, float[] bias, float[] y) {
        convForwardAffine(g, x, w, bias, null, null, null, false, y);
    }

    @Override
    public void convForwardAffine(ConvGeom g, float[] x, float[] w, float[] b, float[] scale, float[] shift,
                                  float[] res, boolean relu, float[] y) {
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length);
        pass.conv(g, pass.upload(x), pass.upload(w), pass.uploadOrNull(b), pass.uploadOrNull(scale),
                pass.uploadOrNull(shift), pass.uploadOrNull(res), relu, ys);
        pass.download(ys, y);
        run(pass);
    }

    @Override
    public void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx) {
        ClPass pass = new ClPass();
        ClPass.Slot dxs = pass.alloc(dx.length);
        pass.convBackwardData(g, pass.upload(dy), pass.upload(w), dxs);
        pass.download(dxs, dx);
        run(pass);
    }

    @Override
    public void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db) {
        ClPass pass = new ClPass();
        ClPass.Slot dws = dw == null ? null : pass.alloc(dw.length), dbs = db == null ? null : pass.alloc(db.length);
        pass.convBackwardWeights(g, dw == null ? null : pass.upload(x), pass.upload(dy), dws, dbs);
        if (dw != null) pass.download(dws, dw);
        if (db != null) pass.download(dbs, db);
        run(pass);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        ClPass pass = new ClPass();
        ClPass.Slot cs = pass.upload(c); // also when beta is 0: C outside the (m, n) block at cOff keeps its values
        pass.gemm(transA, transB, m, n, kk, alpha, pass.upload(a), aOff, lda, pass.upload(b), bOff, ldb, beta, cs, cOff, ldc);
        pass.download(cs, c);
        run(pass);
    }

    @Override
    public void maxPoolForward(PoolGeom g, float[] x, float[] y, int[] switches) {
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length), sws = pass.allocInts(switches.length);
        pass.maxPool(g, pass.upload(x), ys, sws);
        pass.download(ys, y);
        pass.downloadInts(sws, switches);
        run(pass);
    }

    /**
     * Unpooling as a gather (each input sums the outputs whose window covers it and whose switch
     * points at it), so no atomics are needed. That reads only the windows that cover an input; if a
     * switch points outside its own window (switches not made by {@link #maxPoolForward}), the
     * reference scatter runs instead, on the host.
     */
    @Override
    public void maxPoolBackward(PoolGeom g, float[] dy, int[] switches, float[] dx) {
        if (!switchesInsideWindows(g, switches)) {
            Kernels.super.maxPoolBackward(g, dy, switches, dx);
            return;
        }
        ClPass pass = new ClPass();
        ClPass.Slot dxs = pass.alloc(dx.length);
        pass.maxPoolBackward(g, pass.upload(dy), pass.uploadInts(switches), dxs);
        pass.download(dxs, dx);
        run(pass);
    }

    /** True when every switch lies inside its own output's window (what the gather of unpooling needs). */
    public static boolean switchesInsideWindows(PoolGeom g, int[] switches) {
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
    public void reluForward(float[] x, float[] y) {
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length);
        pass.relu(pass.upload(x), ys);
        pass.download(ys, y);
        run(pass);
    }

    @Override
    public void reluBackward(float[] x, float[] dy, float[] dx, boolean forwardMask, boolean signalMask) {
        ClPass pass = new ClPass();
        ClPass.Slot dxs = pass.alloc(dx.length);
        pass.reluBackward(forwardMask ? pass.upload(x) : null, pass.upload(dy), dxs, forwardMask, signalMask);
        pass.download(dxs, dx);
        run(pass);
    }

    @Override
    public void add(float[] a, float[] b, float[] y) {
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length);
        pass.add(pass.upload(a), pass.upload(b), ys);
        pass.download(ys, y);
        run(pass);
    }

    // ---------------------------------------------------------------- batch norm

    /** The per-channel pack (see {@link ClProgram}): gamma (1 when null), beta (0 when null), then room for the rest. */
    public static float[] pack(int c, float[] gamma, float[] beta) {
        float[] e = new float[7 * c];
        for (int ch = 0; ch < c; ch++) {
            e[ClProgram.GAMMA * c + ch] = gamma == null ? 1f : gamma[ch];
            e[ClProgram.BETA_V * c + ch] = beta == null ? 0f : beta[ch];
        }
        return e;
    }

    /** The pack for the training backward: gamma, and the batch's mean and invStd saved by the forward. */
    public static float[] packStats(int c, float[] gamma, float[] mean, float[] invStd) {
        float[] e = pack(c, gamma, null);
        System.arraycopy(mean, 0, e, ClProgram.MEAN * c, c);
        System.arraycopy(invStd, 0, e, ClProgram.INV_STD * c, c);
        return e;
    }

    @Override
    public void batchNormTrainForward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                      float[] beta, float[] y, float[] mean, float[] invStd, float[] var) {
        float[] e = pack(c, gamma, beta);
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length), es = pass.upload(e);
        pass.batchNormTrain(n, c, hw, eps, pass.upload(x), es, ys);
        pass.download(ys, y);
        pass.download(es, e);
        run(pass);
        System.arraycopy(e, ClProgram.MEAN * c, mean, 0, c);
        System.arraycopy(e, ClProgram.INV_STD * c, invStd, 0, c);
        System.arraycopy(e, ClProgram.VAR * c, var, 0, c);
    }

    @Override
    public void batchNormTrainBackward(int n, int c, int hw, float[] x, float[] gamma, float[] dy,
                                       float[] mean, float[] invStd, float[] dx, float[] dgamma,
                                       float[] dbeta) {
        float[] e = packStats(c, gamma, mean, invStd);
        ClPass pass = new ClPass();
        ClPass.Slot es = pass.upload(e), dxs = dx == null ? null : pass.alloc(dx.length);
        pass.batchNormTrainBackward(n, c, hw, pass.upload(x), pass.upload(dy), es, dxs);
        if (dx != null) pass.download(dxs, dx);
        pass.download(es, e);
        run(pass);
        if (dgamma != null) System.arraycopy(e, ClProgram.SUM_DY_XHAT * c, dgamma, 0, c);
        if (dbeta != null) System.arraycopy(e, ClProgram.SUM_DY * c, dbeta, 0, c);
    }

    /** The pack for fixed statistics: invStd = 1/sqrt(var + eps) of the C stored variances (C scalars, on the host). */
    public static float[] packFixed(int c, float eps, float[] gamma, float[] beta, float[] mean, float[] var) {
        float[] e = pack(c, gamma, beta);
        for (int ch = 0; ch < c; ch++) {
            e[ClProgram.MEAN * c + ch] = mean[ch];
            e[ClProgram.INV_STD * c + ch] = (float) (1.0 / Math.sqrt((double) var[ch] + eps));
        }
        return e;
    }

    @Override
    public void batchNormInferenceForward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                          float[] beta, float[] mean, float[] var, float[] y) {
        ClPass pass = new ClPass();
        ClPass.Slot ys = pass.alloc(y.length);
        pass.batchNormApply(n, c, hw, pass.upload(x), pass.upload(packFixed(c, eps, gamma, beta, mean, var)), ys);
        pass.download(ys, y);
        run(pass);
    }

    /** Fixed statistics: dx = dy * gamma * invStd (a channel scaling); dgamma, dbeta the sums of dy*xhat and dy. */
    @Override
    public void batchNormInferenceBackward(int n, int c, int hw, float eps, float[] x, float[] gamma,
                                           float[] mean, float[] var, float[] dy, float[] dx,
                                           float[] dgamma, float[] dbeta) {
        float[] e = packFixed(c, eps, gamma, null, mean, var);
        float[] scale = new float[c];
        for (int ch = 0; ch < c; ch++) scale[ch] = e[ClProgram.GAMMA * c + ch] * e[ClProgram.INV_STD * c + ch];
        ClPass pass = new ClPass();
        ClPass.Slot dys = pass.upload(dy);
        if (dgamma != null || dbeta != null) {
            ClPass.Slot es = pass.upload(e);
            pass.batchNormTrainBackward(n, c, hw, pass.upload(x), dys, es, null);
            pass.download(es, e);
        }
        if (dx != null) {
            ClPass.Slot dxs = pass.alloc(dx.length);
            pass.scaleChannels(c, hw, dys, pass.upload(scale), dxs);
            pass.download(dxs, dx);
        }
        run(pass);
        if (dgamma != null) System.arraycopy(e, ClProgram.SUM_DY_XHAT * c, dgamma, 0, c);
        if (dbeta != null) System.arraycopy(e, ClProgram.SUM_DY * c, dbeta, 0, c);
    }
}
