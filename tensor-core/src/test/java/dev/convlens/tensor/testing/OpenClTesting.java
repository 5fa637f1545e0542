package dev.convlens.tensor.testing;

import static org.junit.jupiter.api.Assertions.fail;

import dev.convlens.tensor.opencl.OpenClKernels;
import org.junit.jupiter.api.Assumptions;

/**
 * The switch for the OpenCL tests, like {@link Oracle}'s: when the environment variable
 * {@code CONVLENS_OPENCL} (or the system property {@code convlens.opencl}) is {@code required}, a
 * missing OpenCL device fails the test; otherwise ({@code auto}) the test is skipped with one line
 * saying why. CI sets {@code required}, so it cannot skip them silently.
 */
public final class OpenClTesting {
    private static boolean told;

    private OpenClTesting() {}

    /** True when CONVLENS_OPENCL or -Dconvlens.opencl says {@code required}. */
    public static boolean required() {
        String v = System.getProperty("convlens.opencl");
        if (v == null || v.isEmpty()) v = System.getenv("CONVLENS_OPENCL");
        return "required".equals(v);
    }

    /** The shared OpenCL kernels; skips (or, when required, fails) the calling test when there are none. */
    public static synchronized OpenClKernels kernels() {
        try {
            return OpenClKernels.shared();
        } catch (IllegalStateException e) {
            if (required()) fail("CONVLENS_OPENCL=required but OpenCL is not usable: " + e.getMessage(), e);
            if (!told) {
                told = true;
                System.err.println("convlens: skipping OpenCL tests: " + e.getMessage()
                        + ". Set CONVLENS_OPENCL=required to make this an error.");
            }
            Assumptions.abort("OpenCL not usable: " + e.getMessage());
            throw e; // unreachable
        }
    }
}
