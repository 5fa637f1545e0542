package dev.convlens.tensor.kernels;

import java.lang.System.Logger.Level;

/**
 * Picks the kernel layer at run time and says which it picked.
 *
 * <p>{@code "simd"} needs the incubating module {@code jdk.incubator.vector} (run the JVM with
 * {@code --add-modules jdk.incubator.vector}); without it the reference kernels are used and
 * one warning says so. {@code "opencl"} needs an OpenCL device and Aparapi's native library; without
 * them simd is used and one warning says so. The system property {@code convlens.backend} chooses the
 * default ({@code reference}, {@code simd} or {@code opencl}); {@code convlens.threads} the default thread count.
 */
public final class Backend {
    private static final System.Logger LOG = System.getLogger("convlens");
    private static volatile boolean warned;
    private static volatile boolean warnedOpenCl;

    private Backend() {}

    /** True when the Vector API module is loaded in this JVM. */
    public static boolean vectorApiPresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** The default: {@code convlens.backend} if set, else simd when available, with {@code convlens.threads} or all cores. */
    public static Kernels auto() {
        String name = System.getProperty("convlens.backend", "simd");
        int threads = Integer.getInteger("convlens.threads", Runtime.getRuntime().availableProcessors());
        return select(name, threads);
    }

    /**
     * The kernels named {@code name} ("reference", "simd" or "opencl") using up to {@code threads} threads.
     * "opencl" runs on the device {@code dev.convlens.tensor.opencl.OpenClKernels} picks; without an
     * OpenCL device (or when Aparapi's native library does not load) it is "simd", with one warning.
     *
     * @throws IllegalArgumentException for an unknown name or a thread count below 1
     */
    public static Kernels select(String name, int threads) {
        if (threads < 1) throw new IllegalArgumentException("Backend: threads must be >= 1, got " + threads);
        switch (name) {
            case "reference":
                return new ReferenceKernels();
            case "simd":
                if (vectorApiPresent()) return dev.convlens.tensor.simd.SimdKernels.create(threads);
                if (!warned) {
                    warned = true;
                    LOG.log(Level.WARNING, "convlens: jdk.incubator.vector is not loaded (start the JVM with "
                            + "--add-modules jdk.incubator.vector); using the reference kernels");
                }
                return new ReferenceKernels();
            case "opencl":
                try {
                    return dev.convlens.tensor.opencl.OpenClKernels.shared();
                } catch (IllegalStateException | LinkageError e) {
                    if (!warnedOpenCl) {
                        warnedOpenCl = true;
                        LOG.log(Level.WARNING, "convlens: OpenCL is not usable (" + e.getMessage()
                                + "); using the simd kernels");
                    }
                    return select("simd", threads);
                }
            default:
                throw new IllegalArgumentException("Backend: unknown backend '" + name
                        + "'; choose one of: reference, simd, opencl");
        }
    }
}
