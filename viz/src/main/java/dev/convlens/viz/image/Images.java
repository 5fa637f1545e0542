package dev.convlens.viz.image;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Pictures out of tensors: images from normalized inputs, colour-mapped heatmaps, overlays,
 * labelled grids, and PNG files written atomically. Everything the visualization methods draw goes
 * through here.
 */
public final class Images {
    /** ImageNet normalization, as torchvision uses it (the same arrays as {@link dev.convlens.models.Preprocess}). */
    public static final float[] IMAGENET_MEAN = dev.convlens.models.Preprocess.MEAN, IMAGENET_STD = dev.convlens.models.Preprocess.STD;

    /** Viridis (matplotlib's perceptually uniform map), 9 control points from dark to light. */
    private static final float[][] VIRIDIS = {
        {0.267f, 0.005f, 0.329f}, {0.283f, 0.141f, 0.458f}, {0.254f, 0.265f, 0.530f}, {0.207f, 0.372f, 0.553f},
        {0.164f, 0.471f, 0.558f}, {0.128f, 0.567f, 0.551f}, {0.135f, 0.659f, 0.518f}, {0.478f, 0.821f, 0.318f},
        {0.993f, 0.906f, 0.144f}};

    private Images() {}

    /**
     * The picture behind a normalized image tensor {@code x (1,3,H,W)} or {@code (3,H,W)}:
     * {@code pixel = clamp(x * std + mean, 0, 1)}. A grayscale image {@code (1,1,H,W)} or
     * {@code (1,H,W)} (with one mean and std) becomes a grey picture.
     */
    public static BufferedImage fromNormalized(Tensor x, float[] mean, float[] std) {
        int h = x.dim(-2), w = x.dim(-1);
        Shapes.check(x.size() == 3 * h * w || x.size() == h * w, "Images",
                "expected one RGB image (1,3,H,W) or grey image (1,1,H,W) but got " + Shapes.str(x.shape()));
        int channels = x.size() / (h * w);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    int ch = channels == 1 ? 0 : c;
                    float v = x.data[(ch * h + y) * w + xx] * std[ch] + mean[ch];
                    rgb = (rgb << 8) | to8(v);
                }
                img.setRGB(xx, y, rgb);
            }
        return img;
    }

    /**
     * An RGB picture of a signal in input space (a deconvnet projection, a gradient) {@code (1,3,H,W)}:
     * each image is centred at 0 and scaled so its largest |value| maps to the range edge, as Zeiler
     * and Fergus display their projections: {@code pixel = 0.5 + 0.5 * v / max|v|}. A grayscale
     * signal {@code (1,1,H,W)} becomes a grey picture.
     */
    public static BufferedImage signal(Tensor v) {
        int h = v.dim(-2), w = v.dim(-1);
        Shapes.check(v.size() == 3 * h * w || v.size() == h * w, "Images",
                "expected one RGB signal (1,3,H,W) or grey signal (1,1,H,W) but got " + Shapes.str(v.shape()));
        int channels = v.size() / (h * w);
        float m = Math.max(v.maxAbs(), 1e-30f);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) rgb = (rgb << 8) | to8(0.5f + 0.5f * v.data[((channels == 1 ? 0 : c) * h + y) * w + x] / m);
                img.setRGB(x, y, rgb);
            }
        return img;
    }

    /** A heatmap of {@code map (h*w)} with viridis, scaled from its minimum to its maximum. */
    public static BufferedImage heatmap(float[] map, int h, int w) {
        Shapes.check(map.length == h * w, "Images", "map has " + map.length + " values, not " + h + "x" + w);
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : map) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        float span = hi > lo ? hi - lo : 1;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.setRGB(x, y, viridis((map[y * w + x] - lo) / span));
        return img;
    }

    /** The viridis colour of {@code t} in [0, 1] as packed RGB. */
    public static int viridis(float t) {
        float s = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
        int i = Math.min((int) s, VIRIDIS.length - 2);
        float f = s - i;
        int rgb = 0;
        for (int c = 0; c < 3; c++) rgb = (rgb << 8) | to8(VIRIDIS[i][c] * (1 - f) + VIRIDIS[i + 1][c] * f);
        return rgb;
    }

    /** {@code heat} resized to {@code base} (bilinear) and blended over it with weight {@code alpha}. */
    public static BufferedImage overlay(BufferedImage base, BufferedImage heat, float alpha) {
        BufferedImage out = new BufferedImage(base.getWidth(), base.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.drawImage(base, 0, 0, null);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setComposite(java.awt.AlphaComposite.getInstance(java.awt.AlphaComposite.SRC_OVER, alpha));
        g.drawImage(heat, 0, 0, base.getWidth(), base.getHeight(), null);
        g.dispose();
        return out;
    }

    /** {@code img} enlarged {@code factor} times with nearest-neighbour sampling (for small maps and filters). */
    public static BufferedImage enlarge(BufferedImage img, int factor) {
        BufferedImage out = new BufferedImage(img.getWidth() * factor, img.getHeight() * factor, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < out.getHeight(); y++)
            for (int x = 0; x < out.getWidth(); x++) out.setRGB(x, y, img.getRGB(x / factor, y / factor));
        return out;
    }

    /**
     * Tiles in rows of {@code cols}, each with its caption underneath (captions may be null), on a
     * white background with {@code gap} pixels between tiles. Tiles are drawn at the size of the first.
     */
    public static BufferedImage grid(List<BufferedImage> tiles, List<String> captions, int cols, int gap) {
        Shapes.check(!tiles.isEmpty() && cols > 0, "Images.grid", "needs at least one tile and one column");
        int tw = tiles.get(0).getWidth(), th = tiles.get(0).getHeight();
        boolean text = captions != null && captions.stream().anyMatch(c -> c != null && !c.isEmpty());
        int lineH = text ? 14 : 0;
        int rows = (tiles.size() + cols - 1) / cols;
        int w = cols * tw + (cols + 1) * gap, h = rows * (th + lineH) + (rows + 1) * gap;
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(Color.BLACK);
        for (int i = 0; i < tiles.size(); i++) {
            int x = gap + (i % cols) * (tw + gap), y = gap + (i / cols) * (th + lineH + gap);
            g.drawImage(tiles.get(i), x, y, tw, th, null);
            if (text && i < captions.size() && captions.get(i) != null) {
                g.drawString(fit(g, captions.get(i), tw), x, y + th + 11);
            }
        }
        g.dispose();
        return out;
    }

    private static String fit(Graphics2D g, String s, int width) {
        while (s.length() > 1 && g.getFontMetrics().stringWidth(s) > width) s = s.substring(0, s.length() - 1);
        return s;
    }

    /** Tableau's ten categorical colours (matplotlib's tab10), for label maps. */
    private static final int[] TAB10 = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2,
        0x7f7f7f, 0xbcbd22, 0x17becf};
    /** The colour of labels beyond the legend. */
    private static final int OTHER = 0xd0d0d0;

    /**
     * A categorical map {@code labels (h*w)} (class indices) as a picture: the {@code legend} most
     * frequent labels (at most 10) each get a colour, the rest light grey, and a legend on the right
     * lists them, most frequent first, as "index name (share %)".
     *
     * @param names class names by index, or null to print indices only
     */
    public static BufferedImage categorical(int[] labels, int h, int w, List<String> names, int legend) {
        Shapes.check(labels.length == h * w, "Images", "label map has " + labels.length + " values, not " + h + "x" + w);
        java.util.Map<Integer, Integer> count = new java.util.HashMap<>();
        for (int l : labels) count.merge(l, 1, Integer::sum);
        List<Integer> order = new java.util.ArrayList<>(count.keySet());
        order.sort((a, b) -> count.get(b).equals(count.get(a)) ? Integer.compare(a, b) : Integer.compare(count.get(b), count.get(a)));
        int shown = Math.min(Math.min(legend, TAB10.length), order.size());
        java.util.Map<Integer, Integer> colour = new java.util.HashMap<>();
        for (int i = 0; i < shown; i++) colour.put(order.get(i), TAB10[i]);
        int lineH = 16, legendW = 180;
        int outH = Math.max(h, (shown + 2) * lineH);
        BufferedImage out = new BufferedImage(w + legendW, outH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, out.getWidth(), outH);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) out.setRGB(x, y, colour.getOrDefault(labels[y * w + x], OTHER));
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int i = 0; i <= shown && i <= order.size(); i++) {
            boolean rest = i == shown;
            if (rest && shown == order.size()) break;
            int y = 4 + i * lineH;
            g.setColor(new Color(rest ? OTHER : TAB10[i]));
            g.fillRect(w + 6, y, 12, 12);
            g.setColor(Color.BLACK);
            String text;
            if (rest) {
                int n = 0;
                for (int j = shown; j < order.size(); j++) n += count.get(order.get(j));
                text = String.format(java.util.Locale.ROOT, "other (%.0f%%)", 100.0 * n / labels.length);
            } else {
                int l = order.get(i);
                String name = names != null && l >= 0 && l < names.size() ? " " + names.get(l) : "";
                text = String.format(java.util.Locale.ROOT, "%d%s (%.0f%%)", l, name, 100.0 * count.get(l) / labels.length);
            }
            g.drawString(fit(g, text, legendW - 26), w + 22, y + 10);
        }
        g.dispose();
        return out;
    }

    /** Writes a PNG atomically: to a temporary file in the same folder, then renamed over {@code file}. */
    public static void writePng(BufferedImage img, Path file) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".convlens-", ".png.tmp");
            try {
                if (!ImageIO.write(img, "png", tmp.toFile())) throw new IOException("no PNG writer");
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static int to8(float v) {
        return Math.round(Math.min(Math.max(v, 0f), 1f) * 255f);
    }
}
