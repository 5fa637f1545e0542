package dev.convlens.tensor.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * One folder of golden {@code .npy} files written by an oracle script (a case or a layer stack),
 * and the two comparisons the oracle tests make. Every failure message names the folder and the
 * tensor, so a failure says which case, layer and gradient disagreed.
 *
 * <ul>
 *   <li>forward: {@code max|actual - expected| <= tol * max|expected|};</li>
 *   <li>gradient: relative L2 error {@code ||actual - expected|| / ||expected|| <= tol}.</li>
 * </ul>
 */
public record Golden(Path dir) {

    /** The float tensor {@code name}.npy. */
    public Tensor tensor(String name) {
        try {
            return Npy.read(file(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The integer array {@code name}.npy (labels, indices, hyperparameters). */
    public int[] ints(String name) {
        try {
            return Npy.readInts(file(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The float array {@code name}.npy as plain floats (hyperparameters, statistics). */
    public float[] floats(String name) {
        return tensor(name).data;
    }

    public boolean has(String name) {
        return Files.isRegularFile(dir.resolve(name + ".npy"));
    }

    /** The case's name (the folder name). */
    public String name() {
        return dir.getFileName().toString();
    }

    private Path file(String name) {
        Path f = dir.resolve(name + ".npy");
        assertTrue(Files.isRegularFile(f), name() + ": golden file " + f + " is missing");
        return f;
    }

    /** Compares {@code actual} to {@code name}.npy: max abs error within {@code tol * max|expected|}. */
    public void assertForward(String name, Tensor actual, double tol) {
        Tensor expected = tensor(name);
        requireShape(name, expected, actual);
        assertForward(name, expected.data, actual.data, tol);
    }

    /** As {@link #assertForward(String, Tensor, double)}, for a plain array (statistics, flat outputs). */
    public void assertForward(String name, float[] expected, float[] actual, double tol) {
        assertTrue(expected.length == actual.length, name() + " / " + name + ": " + actual.length
                + " values, expected " + expected.length);
        double maxErr = 0, maxRef = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) actual[i] - expected[i]);
            if (!(e <= maxErr)) {
                maxErr = e;
                at = i;
            }
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        double bound = tol * maxRef;
        String msg = String.format(Locale.ROOT,
                "%s / %s forward: max abs error %.3e at flat index %d (expected %.7g, got %.7g) > %.1e * max|ref| (%.4g) = %.3e",
                name(), name, maxErr, at, expected[at], actual[at], tol, maxRef, bound);
        assertTrue(maxErr <= bound, msg);
    }

    /** Compares the gradient {@code actual} to {@code name}.npy: relative L2 error within {@code tol}. */
    public void assertGradient(String name, Tensor actual, double tol) {
        Tensor expected = tensor(name);
        requireShape(name, expected, actual);
        double d = 0, e = 0;
        for (int i = 0; i < expected.data.length; i++) {
            double x = expected.data[i], y = actual.data[i];
            d += (x - y) * (x - y);
            e += x * x;
        }
        double err = Math.sqrt(d) / Math.max(Math.sqrt(e), 1e-30);
        String msg = String.format(Locale.ROOT, "%s / %s gradient: relative L2 error %.3e > %.1e (||ref|| = %.4g)",
                name(), name, err, tol, Math.sqrt(e));
        assertTrue(!Double.isNaN(err) && err <= tol, msg);
    }

    /** Asserts two integer arrays are equal (switches, labels), naming the first difference. */
    public void assertInts(String name, int[] expected, int[] actual) {
        assertTrue(expected.length == actual.length, name() + " / " + name + ": " + actual.length
                + " values, expected " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                assertArrayEquals(expected, actual, name() + " / " + name + ": first difference at flat index " + i
                        + " (expected " + expected[i] + ", got " + actual[i] + ")");
            }
        }
    }

    private void requireShape(String name, Tensor expected, Tensor actual) {
        assertTrue(actual != null, name() + " / " + name + ": the op returned null");
        assertArrayEquals(expected.shape(), actual.shape(), name() + " / " + name + ": shape "
                + Shapes.str(actual.shape()) + ", expected " + Shapes.str(expected.shape()));
    }
}
