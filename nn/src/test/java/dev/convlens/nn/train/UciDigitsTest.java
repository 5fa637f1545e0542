package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UciDigitsTest {
    private static Path gz(Path dir, String text) throws Exception {
        Path f = dir.resolve("digits.csv.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
            out.write(text.getBytes(StandardCharsets.US_ASCII));
        }
        return f;
    }

    private static String line(int[] pixels, int label) {
        StringBuilder s = new StringBuilder();
        for (int p : pixels) s.append(p).append(',');
        return s.append(label).append('\n').toString();
    }

    @Test
    void fullInkFillsTheCellAndARampIsInterpolatedBilinearly(@TempDir Path dir) throws Exception {
        int[] full = new int[64], ramp = new int[64];
        java.util.Arrays.fill(full, 16);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) ramp[y * 8 + x] = 2 * x; // 0..14 along x
        Dataset d = UciDigits.load(gz(dir, line(full, 3) + line(ramp, 7)), 16, 20);
        assertEquals(2, d.size());
        assertArrayEquals(new int[] {3, 7}, d.labels());
        assertEquals(20, d.h());
        int m = 400;
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 20; x++) {
                boolean inside = y >= 2 && y < 18 && x >= 2 && x < 18;
                assertEquals(inside ? 255 : 0, d.pixels()[y * 20 + x] & 0xff, "full ink at (" + y + "," + x + ")");
            }
        }
        // 8 -> 16: output column o samples input column clamp(o/2 - 1/4, 0, 7), so the value is 255*2/16 times that
        for (int o = 0; o < 16; o++) {
            double s = Math.min(7, Math.max(0, o / 2.0 - 0.25));
            int want = (int) Math.round(255.0 * 2 * s / 16);
            for (int y = 0; y < 16; y++) {
                assertEquals(want, d.pixels()[m + (y + 2) * 20 + o + 2] & 0xff, 1, "ramp at row " + y + ", column " + o);
            }
        }
    }

    @Test
    void badInputNamesTheFileAndTheLine(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("none.csv.gz");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> UciDigits.load(missing, 20, 28)).getMessage().contains("none.csv.gz"));
        String bad = assertThrows(IllegalArgumentException.class,
                () -> UciDigits.load(gz(dir, line(new int[64], 1) + "1,2,3\n"), 20, 28)).getMessage();
        assertTrue(bad.contains("line 2") && bad.contains("digits.csv.gz"), bad);
        int[] tooBright = new int[64];
        tooBright[5] = 17;
        bad = assertThrows(IllegalArgumentException.class, () -> UciDigits.load(gz(dir, line(tooBright, 1)), 20, 28)).getMessage();
        assertTrue(bad.contains("line 1") && bad.contains("value 6"), bad);
        assertThrows(IllegalArgumentException.class, () -> UciDigits.load(gz(dir, line(new int[64], 10)), 20, 28));
        assertThrows(IllegalArgumentException.class, () -> UciDigits.load(gz(dir, line(new int[64], 1)), 20, 19));
    }

    @Test
    void debiansFileHoldsThe1797DigitsWithSklearnsClassCounts() {
        Assumptions.assumeTrue(Files.isRegularFile(UciDigits.DEFAULT), "python3-sklearn is not installed");
        Dataset d = UciDigits.load(UciDigits.DEFAULT, 20, 28);
        assertEquals(1797, d.size());
        int[] perClass = new int[10];
        for (int l : d.labels()) perClass[l]++;
        // sklearn.datasets.load_digits(): np.bincount(target)
        assertArrayEquals(new int[] {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, perClass);
        assertEquals(0, d.labels()[0]);
        assertEquals(8, d.labels()[1796]);
        for (int i = 0; i < d.size(); i++) {
            int ink = 0, border = 0;
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) {
                    int v = d.pixels()[i * 784 + y * 28 + x] & 0xff;
                    if (v > 64) ink++;
                    if ((y < 4 || y >= 24 || x < 4 || x >= 24) && v != 0) border++;
                }
            }
            assertTrue(ink >= 10 && ink < 400, "image " + i + " has " + ink + " bright pixels");
            assertEquals(0, border, "image " + i + ": ink outside the centred 20x20 cell");
        }
    }
}
