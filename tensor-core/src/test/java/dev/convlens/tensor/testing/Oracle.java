package dev.convlens.tensor.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * The PyTorch oracle: runs a Python script from {@code src/test/python} with Debian's
 * {@code /usr/bin/python3} (which has torch) and hands the test the folder of {@code .npy}
 * files it wrote.
 *
 * <h2>Policy</h2>
 * <ul>
 *   <li>The oracle is <em>required</em> when the environment variable {@code CONVLENS_ORACLE} or
 *       the system property {@code convlens.oracle} (passed by Surefire from the parent pom's
 *       property of that name) is {@code required}. Then a missing oracle, or a script that
 *       fails, fails the test with a message naming the log file.</li>
 *   <li>Otherwise ({@code auto}, the default) the oracle tests are skipped (JUnit assumptions);
 *       a missing oracle is announced by one line on stderr, once per JVM.</li>
 * </ul>
 * The interpreter is the system property {@code convlens.python} (default {@code /usr/bin/python3};
 * the {@code python3} on PATH may lack torch).
 *
 * <h2>Caching</h2>
 * Each script runs at most once per JVM, into {@code target/oracle/<script name without .py>/}.
 * A file {@code .sha256} next to its outputs records the hash of the script and interpreter; when
 * it matches, the outputs are reused across JVMs without running Python at all. The script's
 * stdout and stderr go to {@code target/oracle/<name>.log}.
 */
public final class Oracle {
    /** The line printed once per JVM when the oracle is missing and not required. */
    public static final String SKIP_LINE = "convlens: PyTorch oracle not found (/usr/bin/python3 with torch); "
            + "skipping oracle tests. Set CONVLENS_ORACLE=required to make this an error.";
    /** Longest a script may run before it is killed and counted as failed. */
    private static final long SCRIPT_TIMEOUT_S = 600;
    private static final long PROBE_TIMEOUT_S = 120;

    private static Oracle instance;

    private final PrintStream notices;
    private final Path python;
    private final boolean required;
    private final Path scriptDir;
    private final Path outRoot;
    private Boolean available;
    private String unavailableWhy = "";
    private boolean skipLinePrinted;
    private final Map<String, Path> done = new HashMap<>();
    private final Map<String, String> failed = new HashMap<>();

    /** An oracle using {@code python}; {@code required} turns skips into failures. */
    public Oracle(Path python, boolean required, Path scriptDir, Path outRoot) {
        this(python, required, scriptDir, outRoot, System.err);
    }

    /** As above, with the notices (the skip line, script timings) going to {@code notices}. */
    Oracle(Path python, boolean required, Path scriptDir, Path outRoot, PrintStream notices) {
        this.notices = notices;
        this.python = python;
        this.required = required;
        this.scriptDir = scriptDir;
        this.outRoot = outRoot;
    }

    /** The oracle this JVM's tests share, configured from the environment and system properties. */
    public static synchronized Oracle get() {
        if (instance == null) {
            Path base = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")));
            instance = new Oracle(Paths.get(System.getProperty("convlens.python", "/usr/bin/python3")),
                    requiredByConfig(), base.resolve("src/test/python"), base.resolve("target/oracle"));
        }
        return instance;
    }

    /** The output folder of {@code script} run by the shared oracle; see {@link #run}. */
    public static Path outputs(String script) {
        return get().run(script);
    }

    /** True when CONVLENS_ORACLE or -Dconvlens.oracle says {@code required}. */
    public static boolean requiredByConfig() {
        String env = System.getenv("CONVLENS_ORACLE");
        String prop = System.getProperty("convlens.oracle");
        return "required".equalsIgnoreCase(env == null ? "" : env.strip())
                || "required".equalsIgnoreCase(prop == null ? "" : prop.strip());
    }

    public boolean required() {
        return required;
    }

    /** Whether the interpreter exists and can {@code import torch, numpy} (probed once). */
    public synchronized boolean available() {
        if (available == null) {
            available = false;
            if (!Files.isExecutable(python)) {
                unavailableWhy = python + " does not exist or is not executable";
            } else {
                try {
                    Process p = new ProcessBuilder(python.toString(), "-c", "import torch, numpy")
                            .redirectErrorStream(true).start();
                    p.getOutputStream().close();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    if (!p.waitFor(PROBE_TIMEOUT_S, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        unavailableWhy = python + " -c 'import torch' did not finish in " + PROBE_TIMEOUT_S + " s";
                    } else if (p.exitValue() != 0) {
                        unavailableWhy = python + " cannot import torch and numpy: " + lastLine(out);
                    } else {
                        available = true;
                    }
                } catch (IOException e) {
                    unavailableWhy = "cannot start " + python + ": " + e.getMessage();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    unavailableWhy = "interrupted while probing " + python;
                }
            }
        }
        return available;
    }

    /**
     * Runs {@code script} (a file in {@code src/test/python}) once and returns its output folder.
     * The script gets the folder as its only argument.
     *
     * <p>When the oracle is missing or the script fails: fails the calling test if the oracle is
     * required, else aborts it (a skip).
     */
    public synchronized Path run(String script) {
        require();
        if (done.containsKey(script)) return done.get(script);
        if (failed.containsKey(script)) failOrSkip(failed.get(script));
        try {
            Path out = execute(script);
            done.put(script, out);
            return out;
        } catch (ScriptFailure e) {
            failed.put(script, e.getMessage());
            failOrSkip(e.getMessage());
            throw new AssertionError("unreachable");
        }
    }

    /**
     * Applies the policy to the interpreter alone: returns when it has torch; otherwise fails the
     * calling test (oracle required) or aborts it after the one skip line.
     */
    public synchronized void require() {
        if (!available()) {
            if (required) {
                fail("PyTorch oracle required (CONVLENS_ORACLE=required or -Dconvlens.oracle=required) but "
                        + unavailableWhy + ". Install python3-torch and python3-torchvision, or point "
                        + "-Dconvlens.python at an interpreter that has them.");
            }
            if (!skipLinePrinted) {
                skipLinePrinted = true;
                notices.println(SKIP_LINE);
            }
            Assumptions.abort("PyTorch oracle not available: " + unavailableWhy);
        }
    }

    /** The interpreter this oracle runs. */
    public Path python() {
        return python;
    }

    private void failOrSkip(String message) {
        if (required) fail(message);
        notices.println("convlens: " + message + "; skipping its oracle tests.");
        Assumptions.abort(message);
    }

    private Path execute(String script) throws ScriptFailure {
        Path src = scriptDir.resolve(script);
        String stem = script.endsWith(".py") ? script.substring(0, script.length() - 3) : script;
        Path out = outRoot.resolve(stem);
        Path stamp = out.resolve(".sha256");
        Path log = outRoot.resolve(stem + ".log");
        try {
            if (!Files.isRegularFile(src)) throw new ScriptFailure("oracle script " + src + " does not exist");
            String hash = sha256(Files.readAllBytes(src), python.toString().getBytes(StandardCharsets.UTF_8));
            if (Files.isRegularFile(stamp) && Files.readString(stamp).strip().equals(hash)) return out;
            deleteTree(out);
            Files.createDirectories(out);
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(python.toString(), src.toString(), out.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(SCRIPT_TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new ScriptFailure("oracle script " + script + " did not finish in " + SCRIPT_TIMEOUT_S
                        + " s (log: " + log + ")");
            }
            if (p.exitValue() != 0) {
                throw new ScriptFailure("oracle script " + script + " failed with exit code " + p.exitValue()
                        + " (log: " + log + "): " + lastLine(Files.readString(log)));
            }
            Files.writeString(stamp, hash + "\n");
            notices.printf(Locale.ROOT, "convlens: ran oracle script %s in %.1f s into %s%n", script,
                    (System.nanoTime() - t0) / 1e9, out);
            return out;
        } catch (IOException e) {
            throw new ScriptFailure("oracle script " + script + " could not be run (log: " + log + "): " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScriptFailure("interrupted while running oracle script " + script);
        }
    }

    /** The sub-folders of {@code dir} whose names start with {@code prefix}, sorted by name. */
    public static List<Path> cases(Path dir, String prefix) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> p.getFileName().toString().startsWith(prefix))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] part : parts) {
                md.update(part);
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    private static String lastLine(String text) {
        String t = text.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }

    private static final class ScriptFailure extends Exception {
        ScriptFailure(String message) {
            super(message);
        }
    }
}
