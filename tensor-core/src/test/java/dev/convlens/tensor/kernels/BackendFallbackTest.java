package dev.convlens.tensor.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.ops.Conv2d;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Without jdk.incubator.vector the library still works, on the reference kernels, and says so once. */
class BackendFallbackTest {

    /** Run in a child JVM started without --add-modules jdk.incubator.vector. */
    public static void main(String[] args) {
        Kernels a = Backend.auto(), b = Backend.select("simd", 2);
        Tensor y = Conv2d.of(1, 1).forward(b, Tensor.uniform(1, -1, 1, 1, 2, 5, 5), Tensor.uniform(2, -1, 1, 3, 2, 3, 3), null);
        System.out.println("kernels=" + a.name() + "," + b.name() + " y=" + y.size());
    }

    @Test
    void withoutTheVectorModuleTheReferenceKernelsRunWithOneWarning() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                BackendFallbackTest.class.getName())).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("kernels=reference,reference y=75"), out);
        int warnings = out.split("jdk.incubator.vector is not loaded", -1).length - 1;
        assertEquals(1, warnings, "exactly one warning expected:\n" + out);
    }

    @Test
    void withTheVectorModuleSimdIsChosen() {
        assertTrue(Backend.vectorApiPresent(), "tests run with --add-modules jdk.incubator.vector");
        assertTrue(Backend.select("simd", 1).name().startsWith("simd"));
        assertEquals("reference", Backend.select("reference", 1).name());
    }

}
