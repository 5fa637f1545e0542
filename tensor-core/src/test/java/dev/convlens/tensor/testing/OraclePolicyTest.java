package dev.convlens.tensor.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** The oracle's policy without PyTorch: skip by default, fail with a clear message when required. */
class OraclePolicyTest {
    @TempDir
    Path dir;

    @Test
    void missingInterpreterSkipsUnlessRequired() {
        Path nowhere = dir.resolve("no-such-python");
        ByteArrayOutputStream notices = new ByteArrayOutputStream();
        Oracle auto = new Oracle(nowhere, false, dir, dir.resolve("out"),
                new PrintStream(notices, true, StandardCharsets.UTF_8));
        assertTrue(!auto.available());
        assertThrows(TestAbortedException.class, () -> auto.run("oracle_ops.py"));
        assertThrows(TestAbortedException.class, () -> auto.run("oracle_layers.py"));
        assertEquals(Oracle.SKIP_LINE + System.lineSeparator(), notices.toString(StandardCharsets.UTF_8),
                "exactly one skip line per oracle");

        Oracle required = new Oracle(nowhere, true, dir, dir.resolve("out"),
                new PrintStream(notices, true, StandardCharsets.UTF_8));
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> required.run("oracle_ops.py"));
        assertTrue(e.getMessage().contains("required") && e.getMessage().contains(nowhere.toString()),
                e.getMessage());
    }
}
