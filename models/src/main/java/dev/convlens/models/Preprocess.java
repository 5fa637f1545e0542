package dev.convlens.models;

import dev.convlens.tensor.Tensor;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * ImageNet preprocessing as torchvision does it on a PIL image, so that a picture gives the same
 * input tensor here as in PyTorch:
 * <pre>
 *   T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
 *              T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
 * </pre>
 *
 * <h2>The steps</h2>
 * <ol>
 *   <li><b>Read</b> ({@link #read}): PNG or JPEG (any format javax.imageio reads) to 8-bit RGB.
 *       Grayscale repeats its channel; an alpha channel is dropped (the colour is kept as stored,
 *       composited on nothing), as PIL's {@code convert('RGB')} does; each says so in one line.
 *       16-bit colour goes through ImageIO's conversion to 8-bit sRGB; 16-bit gray is scaled
 *       {@code round(v * 255 / 65535)}.</li>
 *   <li><b>Resize</b> ({@link #resizeShorter}): the shorter side becomes {@code size}, the longer
 *       {@code int(size * long / short)} (torchvision's truncation). The resampling is PIL's
 *       {@code Image.resize(..., BILINEAR)}, which antialiases: output pixel {@code i} of a pass
 *       averages the inputs around its centre {@code c = (i + 0.5) * scale} with the triangle
 *       weights {@code w(j) = max(0, 1 - |j + 0.5 - c| / s)}, where {@code scale = in/out} and
 *       {@code s = max(scale, 1)}: when shrinking, the triangle is stretched to cover every input
 *       pixel the output pixel spans. The weights of each output are normalized to sum to 1. As
 *       PIL does for 8-bit images, the weights are rounded to 22-bit fixed point, the pass runs
 *       horizontally first and then vertically, and each pass rounds its result to uint8.</li>
 *   <li><b>Center crop</b> ({@link #centerCrop}): offsets {@code round((H - crop) / 2)} and
 *       {@code round((W - crop) / 2)} with Python's round half to even; an image smaller than the
 *       crop is padded with zeros, as torchvision pads.</li>
 *   <li><b>To tensor and normalize</b> ({@link #toTensor}): {@code (v / 255 - mean[c]) / std[c]} in
 *       float32, laid out (1, 3, H, W).</li>
 * </ol>
 * Source: Pillow's {@code libImaging/Resample.c} (read, not copied) and torchvision 0.14's
 * {@code transforms/functional.py}.
 */
public final class Preprocess {
    /** torchvision's ImageNet defaults: {@code Resize(256)}, {@code CenterCrop(224)}. */
    public static final int RESIZE = 256, CROP = 224;
    /** ImageNet channel means and standard deviations (RGB), as float32 in torchvision. */
    public static final float[] MEAN = {0.485f, 0.456f, 0.406f}, STD = {0.229f, 0.224f, 0.225f};

    /**
     * Largest image accepted, in pixels: Pillow's decompression-bomb limit (2 x 89,478,485), checked
     * from the header before any pixel is decoded.
     */
    public static final long MAX_PIXELS = 178_956_970L;

    /** Fixed-point fraction bits of PIL's 8-bit resampling weights (32 - 8 - 2). */
    private static final int PRECISION_BITS = 22;

    private Preprocess() {}

    /**
     * An 8-bit RGB image.
     *
     * @param rgb (height, width, 3) row-major, each value 0..255
     */
    public record Image(int width, int height, int[] rgb) {
        public Image {
            if (width < 1 || height < 1 || rgb.length != 3 * width * height) {
                throw new IllegalArgumentException("Preprocess.Image: " + width + "x" + height + " needs "
                        + 3L * width * height + " values, got " + rgb.length);
            }
        }
    }

    /** The default ImageNet pipeline on a file: read, resize 256, crop 224, normalize; notes go to stderr. */
    public static Tensor imagenet(Path file) {
        return imagenet(file, RESIZE, CROP, System.err);
    }

    /**
     * Read, resize the shorter side to {@code resize}, center crop {@code crop} x {@code crop},
     * normalize: a (1, 3, crop, crop) tensor.
     *
     * @param notes where the one-line notes about grayscale or alpha go (null for none)
     */
    public static Tensor imagenet(Path file, int resize, int crop, PrintStream notes) {
        if (resize < 1 || crop < 1) {
            throw new IllegalArgumentException("Preprocess: resize and crop must be >= 1, got " + resize + ", " + crop);
        }
        return toTensor(centerCrop(resizeShorter(read(file, notes), resize), crop));
    }

    // ---------------------------------------------------------------- read

    /**
     * Reads an image file to 8-bit RGB.
     *
     * @throws IllegalArgumentException naming the file and the reason when it is missing, not an
     *                                  image format ImageIO knows, truncated or corrupt
     */
    public static Image read(Path file, PrintStream notes) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such image file");
        BufferedImage img;
        String format = "image";
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new IllegalArgumentException(file + ": cannot open the image file");
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IllegalArgumentException(file + ": not an image in a format this JVM reads (PNG, JPEG, "
                        + "GIF, BMP, TIFF); its first bytes are " + firstBytes(file));
            }
            ImageReader reader = readers.next();
            format = reader.getFormatName().toUpperCase(java.util.Locale.ROOT);
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new IllegalArgumentException(file + ": the " + format + " image is " + reader.getWidth(0) + "x"
                            + reader.getHeight(0) + ", more than " + MAX_PIXELS + " pixels (a decompression bomb?)");
                }
                // ImageIO decodes a truncated JPEG with a warning ("Premature end of JPEG file") and grey
                // pixels; PIL refuses it ("image file is truncated"), and so do we.
                java.util.List<String> warnings = new java.util.ArrayList<>();
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                img = reader.read(0);
                if (!warnings.isEmpty()) {
                    throw new IllegalArgumentException(file + ": cannot decode the " + format + " image (truncated or corrupt): "
                            + String.join("; ", warnings));
                }
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage() != null
                    && iae.getMessage().startsWith(file.toString())) throw iae;
            throw new IllegalArgumentException(file + ": cannot decode the " + format + " image (truncated or corrupt?): "
                    + reason(e), e);
        }
        return toRgb(file, img, notes);
    }

    private static String reason(Throwable e) {
        StringBuilder s = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != e; c = c.getCause()) s.append(": ").append(c.getMessage());
        return s.toString();
    }

    private static String firstBytes(Path file) {
        byte[] head = new byte[8];
        int n;
        try (var in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return "unreadable";
        }
        if (n == 0) return "none (the file is empty)";
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) s.append(String.format("%02x ", head[i] & 0xff));
        return s.toString().strip();
    }

    private static Image toRgb(Path file, BufferedImage img, PrintStream notes) {
        int w = img.getWidth(), h = img.getHeight();
        ColorModel cm = img.getColorModel();
        int[] rgb = new int[3 * w * h]; // (h, w, 3)
        boolean gray = !(cm instanceof IndexColorModel) && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        if (gray) {
            // Straight from the raster: getRGB would treat the gray as linear and apply an sRGB gamma.
            Raster r = img.getRaster();
            int bits = cm.getComponentSize(0);
            double max = (1L << bits) - 1;
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int v = bits == 8 ? row[x] : (int) Math.round(row[x] * 255.0 / max);
                    int o = 3 * (y * w + x);
                    rgb[o] = v;
                    rgb[o + 1] = v;
                    rgb[o + 2] = v;
                }
            }
        } else {
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) {
                    int o = 3 * (y * w + x), p = argb[x];
                    rgb[o] = (p >> 16) & 0xff;
                    rgb[o + 1] = (p >> 8) & 0xff;
                    rgb[o + 2] = p & 0xff;
                }
            }
        }
        if (gray && cm.hasAlpha()) {
            note(notes, file + ": grayscale image with alpha: channel repeated to RGB, alpha dropped (not composited)");
        } else if (gray) {
            note(notes, file + ": grayscale image, channel repeated to RGB");
        } else if (cm.hasAlpha()) {
            note(notes, file + ": alpha channel dropped (RGB kept as stored, not composited)");
        }
        return new Image(w, h, rgb);
    }

    private static void note(PrintStream notes, String line) {
        if (notes != null) notes.println("convlens: " + line);
    }

    // ---------------------------------------------------------------- resize

    /**
     * torchvision's {@code Resize(size)} with an int: the shorter side becomes {@code size}, the
     * longer {@code int(size * long / short)}; returns the image itself when nothing changes.
     */
    public static Image resizeShorter(Image im, int size) {
        int w = im.width(), h = im.height();
        int shortSide = Math.min(w, h), longSide = Math.max(w, h);
        int newLong = (int) (size * (double) longSide / shortSide);
        if (newLong < 1) throw new IllegalArgumentException("Preprocess: " + w + "x" + h + " resized to short side "
                + size + " has a zero long side");
        return w <= h ? resize(im, size, newLong) : resize(im, newLong, size);
    }

    /** PIL's {@code Image.resize((outW, outH), BILINEAR)} on an 8-bit RGB image (see the class comment). */
    public static Image resize(Image im, int outW, int outH) {
        if (outW < 1 || outH < 1) throw new IllegalArgumentException("Preprocess.resize: output " + outW + "x" + outH);
        Image cur = im;
        if (outW != im.width()) cur = horizontal(cur, coeffs(im.width(), outW));
        if (outH != im.height()) cur = vertical(cur, coeffs(im.height(), outH));
        return cur;
    }

    /**
     * The weights of one resampling pass, in PIL's 22-bit fixed point: output {@code i} reads
     * inputs {@code first[i] .. first[i] + count[i] - 1} with weights {@code k[i * ksize + j]}.
     */
    private record Coeffs(int[] first, int[] count, int[] k, int ksize) {}

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = 1.0 * filterScale; // the triangle's half-width 1, stretched when shrinking
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize], k = new int[outSize * ksize];
        double[] w = new double[ksize];
        for (int i = 0; i < outSize; i++) {
            double center = (i + 0.5) * scale;
            int lo = Math.max((int) (center - support + 0.5), 0);        // (int) truncates, as C does
            int hi = Math.min((int) (center + support + 0.5), inSize);
            int n = hi - lo;
            double sum = 0;
            for (int j = 0; j < n; j++) {
                w[j] = triangle((j + lo - center + 0.5) / filterScale);
                sum += w[j];
            }
            for (int j = 0; j < n; j++) {
                double v = sum != 0 ? w[j] / sum : w[j];
                k[i * ksize + j] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            first[i] = lo;
            count[i] = n;
        }
        return new Coeffs(first, count, k, ksize);
    }

    /** The bilinear (triangle) filter of support 1. */
    private static double triangle(double x) {
        double a = Math.abs(x);
        return a < 1.0 ? 1.0 - a : 0.0;
    }

    /** Rounds a fixed-point sum (which started at one half) to uint8, clamping like PIL's clip8. */
    private static int clip8(int ss) {
        int v = ss >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static Image horizontal(Image im, Coeffs c) {
        int w = im.width(), h = im.height(), outW = c.first.length;
        int[] src = im.rgb(), dst = new int[3 * outW * h]; // (h, outW, 3)
        for (int y = 0; y < h; y++) {
            int srcRow = 3 * y * w, dstRow = 3 * y * outW;
            for (int x = 0; x < outW; x++) {
                int ss0 = 1 << (PRECISION_BITS - 1), ss1 = ss0, ss2 = ss0;
                int kOff = x * c.ksize, s = srcRow + 3 * c.first[x];
                for (int j = 0; j < c.count[x]; j++, s += 3) {
                    int kj = c.k[kOff + j];
                    ss0 += src[s] * kj;
                    ss1 += src[s + 1] * kj;
                    ss2 += src[s + 2] * kj;
                }
                int d = dstRow + 3 * x;
                dst[d] = clip8(ss0);
                dst[d + 1] = clip8(ss1);
                dst[d + 2] = clip8(ss2);
            }
        }
        return new Image(outW, h, dst);
    }

    private static Image vertical(Image im, Coeffs c) {
        int w = im.width(), outH = c.first.length;
        int[] src = im.rgb(), dst = new int[3 * w * outH]; // (outH, w, 3)
        for (int y = 0; y < outH; y++) {
            int kOff = y * c.ksize, dstRow = 3 * y * w;
            for (int x = 0; x < w; x++) {
                int ss0 = 1 << (PRECISION_BITS - 1), ss1 = ss0, ss2 = ss0;
                int s = 3 * (c.first[y] * w + x);
                for (int j = 0; j < c.count[y]; j++, s += 3 * w) {
                    int kj = c.k[kOff + j];
                    ss0 += src[s] * kj;
                    ss1 += src[s + 1] * kj;
                    ss2 += src[s + 2] * kj;
                }
                int d = dstRow + 3 * x;
                dst[d] = clip8(ss0);
                dst[d + 1] = clip8(ss1);
                dst[d + 2] = clip8(ss2);
            }
        }
        return new Image(w, outH, dst);
    }

    // ---------------------------------------------------------------- crop, tensor

    /**
     * torchvision's {@code CenterCrop(size)}: a size x size window at offsets
     * {@code round((H - size) / 2)}, {@code round((W - size) / 2)} (half to even); where the image
     * is smaller than the window it is padded with zeros on both sides first, as torchvision does.
     */
    public static Image centerCrop(Image im, int size) {
        if (size < 1) throw new IllegalArgumentException("Preprocess.centerCrop: size must be >= 1, got " + size);
        int w = im.width(), h = im.height();
        int top = h >= size ? (int) Math.rint((h - size) / 2.0) : -((size - h) / 2);
        int left = w >= size ? (int) Math.rint((w - size) / 2.0) : -((size - w) / 2);
        int[] src = im.rgb(), dst = new int[3 * size * size];
        for (int y = 0; y < size; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= h) continue;
            for (int x = 0; x < size; x++) {
                int sx = x + left;
                if (sx < 0 || sx >= w) continue;
                int s = 3 * (sy * w + sx), d = 3 * (y * size + x);
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }
        return new Image(size, size, dst);
    }

    /** {@code T.ToTensor()} then {@code T.Normalize(MEAN, STD)}: (1, 3, H, W), {@code (v/255 - mean[c]) / std[c]} in float32. */
    public static Tensor toTensor(Image im) {
        int w = im.width(), h = im.height(), plane = w * h;
        int[] src = im.rgb();
        Tensor x = Tensor.zeros(1, 3, h, w);
        for (int c = 0; c < 3; c++) {
            float mean = MEAN[c], std = STD[c];
            for (int p = 0; p < plane; p++) {
                float v = src[3 * p + c] / 255f;
                x.data[c * plane + p] = (v - mean) / std;
            }
        }
        return x;
    }
}
