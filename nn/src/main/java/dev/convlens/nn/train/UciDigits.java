package dev.convlens.nn.train;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * The UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin and Kaynak 1998) as
 * Debian's {@code python3-sklearn} ships it: {@code digits.csv.gz}, 1,797 lines of 65 integers,
 * the 8x8 image row by row (each value 0..16, the number of inked pixels in a 4x4 block of the
 * original 32x32 bitmap) followed by the label 0..9.
 *
 * <p>Each image becomes white ink on black like MNIST and {@link DigitsSheet}: value
 * {@code v -> round(255 v / 16)}, the 8x8 grid resized to {@code cell x cell} by <b>bilinear</b>
 * interpolation with half-pixel centres (PyTorch's {@code interpolate(..., mode='bilinear',
 * align_corners=False)}: output pixel {@code i} samples the input at {@code (i + 1/2) 8/cell - 1/2},
 * clamped to {@code [0, 7]}), then centred in a black {@code size x size} image. {@code cell = 20,
 * size = 28} lays the digits out as MNIST and the digits sheet do. Images come in file order.
 */
public final class UciDigits {
    private UciDigits() {}

    /** Where Debian's python3-sklearn installs the file. */
    public static final Path DEFAULT = Path.of("/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz");
    public static final List<String> CLASSES = DigitsSheet.CLASSES;
    static final int SIDE = 8, MAX = 16;

    /** Reads {@code csv} (gzip-compressed when the name ends in .gz) into {@code size x size} images. */
    public static Dataset load(Path csv, int cell, int size) {
        if (cell < SIDE || size < cell) {
            throw new IllegalArgumentException("UciDigits: need " + SIDE + " <= cell <= size, got cell " + cell + ", size " + size);
        }
        if (!Files.isRegularFile(csv)) {
            throw new IllegalArgumentException(csv + ": no such file (the UCI digits; on Debian: apt-get install python3-sklearn)");
        }
        List<int[]> rows = new ArrayList<>();
        try (InputStream raw = Files.newInputStream(csv);
             InputStream in = csv.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw;
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) continue;
                rows.add(parse(csv, lineNo, line));
            }
        } catch (ZipException e) {
            throw new IllegalArgumentException(csv + ": corrupt gzip data: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(csv + ": cannot read: " + e.getMessage(), e);
        }
        if (rows.isEmpty()) throw new IllegalArgumentException(csv + ": no images");
        int n = rows.size(), m = size * size, off = (size - cell) / 2;
        byte[] pixels = new byte[n * m];
        int[] labels = new int[n];
        float[] src = new float[SIDE * SIDE];
        // per output row/column: the two source indices and the weight of the second (bilinear, half-pixel centres)
        int[] i0 = new int[cell], i1 = new int[cell];
        float[] t = new float[cell];
        for (int o = 0; o < cell; o++) {
            double s = Math.min(SIDE - 1, Math.max(0, (o + 0.5) * SIDE / cell - 0.5));
            i0[o] = (int) Math.floor(s);
            i1[o] = Math.min(SIDE - 1, i0[o] + 1);
            t[o] = (float) (s - i0[o]);
        }
        for (int i = 0; i < n; i++) {
            int[] row = rows.get(i);
            for (int p = 0; p < SIDE * SIDE; p++) src[p] = row[p] * 255f / MAX;
            labels[i] = row[SIDE * SIDE];
            for (int y = 0; y < cell; y++) {
                for (int x = 0; x < cell; x++) {
                    float top = src[i0[y] * SIDE + i0[x]] * (1 - t[x]) + src[i0[y] * SIDE + i1[x]] * t[x];
                    float bot = src[i1[y] * SIDE + i0[x]] * (1 - t[x]) + src[i1[y] * SIDE + i1[x]] * t[x];
                    int v = Math.round(top * (1 - t[y]) + bot * t[y]);
                    pixels[i * m + (y + off) * size + x + off] = (byte) Math.min(255, Math.max(0, v));
                }
            }
        }
        return new Dataset(pixels, labels, 1, size, size, CLASSES);
    }

    private static int[] parse(Path csv, int lineNo, String line) {
        String[] f = line.split(",");
        if (f.length != SIDE * SIDE + 1) {
            throw new IllegalArgumentException(csv + ": line " + lineNo + " has " + f.length + " values, not " + (SIDE * SIDE + 1)
                    + " (64 pixels and a label)");
        }
        int[] v = new int[f.length];
        for (int j = 0; j < f.length; j++) {
            double d;
            try {
                d = Double.parseDouble(f[j].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(csv + ": line " + lineNo + ", value " + (j + 1) + ": not a number: '" + f[j] + "'", e);
            }
            int hi = j < SIDE * SIDE ? MAX : CLASSES.size() - 1;
            if (d != Math.rint(d) || d < 0 || d > hi) {
                throw new IllegalArgumentException(csv + ": line " + lineNo + ", value " + (j + 1) + " is " + f[j].strip()
                        + ", not an integer in [0, " + hi + "]");
            }
            v[j] = (int) d;
        }
        return v;
    }
}
