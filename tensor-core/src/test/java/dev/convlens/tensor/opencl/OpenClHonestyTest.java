package dev.convlens.tensor.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.aparapi.Kernel;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.testing.OpenClTesting;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Where kernels run, checked rather than assumed. Aparapi falls back to a Java thread pool, with
 * only a log line, when it cannot translate a kernel; {@link Kernel#isRunningCL()} is what tells,
 * and it is what {@link OpenClKernels} checks after every launch. And without any OpenCL device,
 * {@code --backend opencl} is simd with one warning.
 */
class OpenClHonestyTest {

    /** Not translatable to OpenCL (it calls into the JDK), so Aparapi runs it on Java threads. */
    static final class Untranslatable extends Kernel {
        final float[] out = new float[64];

        @Override
        public void run() {
            out[getGlobalId()] = (float) System.nanoTime();
        }
    }

    @Test
    void aKernelThatFellBackToJavaThreadsIsCaughtByTheCheckOpenClKernelsUses() {
        OpenClKernels cl = OpenClTesting.kernels();
        Untranslatable k = new Untranslatable();
        k.execute(64); // Aparapi's default devices: the best OpenCL device, then its Java thread pool
        assertFalse(k.isRunningCL(), "an untranslatable kernel cannot have run on OpenCL");
        k.dispose();
        float[] y = new float[2];
        cl.add(new float[] {1, 2}, new float[] {3, 4}, y);
        assertTrue(cl.lastRanOnOpenCl(), () -> "OpenClKernels' own launches run on the device:\n" + cl.usageReport());
    }

    /** Run in a child JVM that sees no OpenCL device. */
    public static void main(String[] args) {
        System.out.println("kernels=" + Backend.select("opencl", 1).name() + "," + Backend.select("opencl", 1).name());
    }

    @Test
    void withoutAnOpenClDeviceTheBackendIsSimdWithOneWarning() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path noVendors = Files.createTempDirectory("no-opencl-vendors");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), OpenClHonestyTest.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OCL_ICD_VENDORS", noVendors.toString()); // the ICD loader finds no driver
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("kernels=simd"), out);
        int warnings = out.split("OpenCL is not usable", -1).length - 1;
        assertEquals(1, warnings, "exactly one warning expected:\n" + out);
        Files.delete(noVendors);
    }
}
