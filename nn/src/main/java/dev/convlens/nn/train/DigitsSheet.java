package dev.convlens.nn.train;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * OpenCV's sheet of handwritten digits ({@code digits.png} in Debian's {@code opencv-doc}):
 * one 2000x1000 grayscale PNG holding 5,000 digits of 20x20 pixels, 100 per row, 50 rows, white
 * ink on black. Rows 0-4 are the digit 0, rows 5-9 the digit 1, and so on: 500 images per class.
 *
 * <p>Each 20x20 cell is placed in the centre of a {@code size x size} black image (MNIST puts its
 * 20x20 digits in 28x28 the same way), so {@code size = 28} gives images shaped like
 * Fashion-MNIST's. Images come in sheet order (class-major); split them with
 * {@link Dataset#split(double, long)}.
 */
public final class DigitsSheet {
    private DigitsSheet() {}

    public static final Path DEFAULT = Path.of("/usr/share/doc/opencv-doc/examples/data/digits.png");
    public static final List<String> CLASSES = List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
    static final int CELL = 20, COLS = 100, ROWS = 50;

    public static Dataset load(Path png, int size) {
        if (size < CELL) throw new IllegalArgumentException("DigitsSheet: size must be >= " + CELL + ", not " + size);
        if (!Files.isRegularFile(png)) {
            throw new IllegalArgumentException(png + ": no such file (OpenCV's digits sheet; on Debian: apt-get install opencv-doc)");
        }
        BufferedImage img;
        try {
            img = ImageIO.read(png.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(png + ": cannot decode image: " + e.getMessage(), e);
        }
        if (img == null) throw new IllegalArgumentException(png + ": not a readable image");
        if (img.getWidth() != COLS * CELL || img.getHeight() != ROWS * CELL || img.getRaster().getNumBands() != 1) {
            throw new IllegalArgumentException(png + ": expected a " + COLS * CELL + "x" + ROWS * CELL + " grayscale sheet, got "
                    + img.getWidth() + "x" + img.getHeight() + " with " + img.getRaster().getNumBands() + " bands");
        }
        Raster r = img.getRaster();
        int n = COLS * ROWS, m = size * size, off = (size - CELL) / 2;
        byte[] pixels = new byte[n * m];
        int[] labels = new int[n];
        int[] row = new int[CELL];
        for (int i = 0; i < n; i++) {
            int cy = i / COLS, cx = i % COLS;
            labels[i] = cy / (ROWS / CLASSES.size());
            for (int y = 0; y < CELL; y++) {
                r.getSamples(cx * CELL, cy * CELL + y, CELL, 1, 0, row);
                for (int x = 0; x < CELL; x++) pixels[i * m + (y + off) * size + x + off] = (byte) row[x];
            }
        }
        return new Dataset(pixels, labels, 1, size, size, CLASSES);
    }
}
