package dev.convlens.nn.train;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * A folder with one subfolder per class, as torchvision's {@code ImageFolder}: class names are
 * the subfolder names sorted (so class i is the i-th name in sorted order), images are the files
 * with an image extension ({@code .png .jpg .jpeg .bmp .gif}) in each, sorted by name; hidden
 * files and folders are skipped.
 *
 * <p>Each image is decoded with ImageIO, converted to {@code channels} (1: luminance as PIL's
 * {@code convert('L')}, {@code (299 R + 587 G + 114 B) / 1000}; 3: RGB; alpha dropped), and
 * resized to {@code size x size} with bilinear interpolation (aspect ratio not kept). An image that
 * cannot be decoded is an error naming the file.
 */
public final class ImageFolder {
    private ImageFolder() {}

    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    public static Dataset load(Path dir, int channels, int size) {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("ImageFolder: channels must be 1 or 3, not " + channels);
        if (size < 1) throw new IllegalArgumentException("ImageFolder: size must be >= 1, not " + size);
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": not a directory");
        List<Path> classDirs = list(dir, true);
        if (classDirs.isEmpty()) throw new IllegalArgumentException(dir + ": no class subfolders (expected DIR/<class>/<image>)");
        List<String> classes = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (Path cd : classDirs) {
            List<Path> images = list(cd, false);
            classes.add(cd.getFileName().toString());
            for (Path f : images) {
                files.add(f);
                labels.add(classes.size() - 1);
            }
        }
        if (files.isEmpty()) throw new IllegalArgumentException(dir + ": no images in the class subfolders " + classes);
        int m = channels * size * size;
        byte[] pixels = new byte[files.size() * m];
        int[] l = new int[files.size()];
        for (int i = 0; i < files.size(); i++) {
            decode(files.get(i), channels, size, pixels, i * m);
            l[i] = labels.get(i);
        }
        return new Dataset(pixels, l, channels, size, size, classes);
    }

    private static List<Path> list(Path dir, boolean dirs) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> dirs ? Files.isDirectory(p) : Files.isRegularFile(p) && isImage(p))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        for (String e : EXTENSIONS) if (n.endsWith(e)) return true;
        return false;
    }

    /** Decodes {@code f}, resizes it and writes (c, size, size) bytes at {@code off}. */
    private static void decode(Path f, int channels, int size, byte[] out, int off) {
        BufferedImage src;
        try {
            src = ImageIO.read(f.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(f + ": cannot decode image: " + e.getMessage(), e);
        }
        if (src == null) throw new IllegalArgumentException(f + ": not a readable image (no ImageIO decoder accepts it)");
        BufferedImage rgb = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(src, 0, 0, size, size, null);
        g.dispose();
        int plane = size * size;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int p = rgb.getRGB(x, y), r = (p >> 16) & 0xff, gr = (p >> 8) & 0xff, b = p & 0xff;
                int i = y * size + x;
                if (channels == 1) {
                    out[off + i] = (byte) ((r * 299 + gr * 587 + b * 114 + 500) / 1000);
                } else {
                    out[off + i] = (byte) r;
                    out[off + plane + i] = (byte) gr;
                    out[off + 2 * plane + i] = (byte) b;
                }
            }
        }
    }
}
