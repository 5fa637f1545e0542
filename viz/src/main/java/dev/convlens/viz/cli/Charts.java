package dev.convlens.viz.cli;

import dev.convlens.nn.train.Trainer;
import dev.convlens.viz.image.Images;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** The training pictures, drawn with Java2D: loss and accuracy curves, and the confusion matrix. */
final class Charts {
    private Charts() {}

    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728)};
    static final int TITLE_H = 26;

    /** One line of a chart: its name in the legend and one value per epoch (NaN: no point there). */
    record Series(String name, double[] values) {}

    /** Two panels side by side: loss and accuracy per epoch, train (blue) and test (orange). */
    static void curves(List<Trainer.Epoch> h, Path file) {
        curves(h, null, file);
    }

    /** The same, with {@code title} (or nothing when null) in a strip above the panels. */
    static void curves(List<Trainer.Epoch> h, String title, Path file) {
        panels(title, "loss", List.of(series("train", h, Trainer.Epoch::trainLoss), series("test", h, Trainer.Epoch::testLoss)),
                "accuracy", List.of(series("train", h, Trainer.Epoch::trainAcc), series("test", h, Trainer.Epoch::testAcc)), file);
    }

    /** {@code f} of every epoch of {@code h}, as a series named {@code name}. */
    static Series series(String name, List<Trainer.Epoch> h, ToDoubleFunction<Trainer.Epoch> f) {
        double[] v = new double[h.size()];
        for (int i = 0; i < v.length; i++) v[i] = f.applyAsDouble(h.get(i));
        return new Series(name, v);
    }

    /**
     * Two line charts over epochs 1..n side by side, a loss-like one (from 0) on the left and an
     * accuracy-like one (up to 1) on the right, one colour per series; {@code title} (may be null)
     * goes in a strip above them.
     */
    static void panels(String title, String leftTitle, List<Series> left, String rightTitle, List<Series> right, Path file) {
        int pw = 420, ph = 300, top = title == null ? 0 : TITLE_H;
        BufferedImage img = new BufferedImage(2 * pw, ph + top, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 2 * pw, ph + top);
        if (title != null) {
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
            g.drawString(title, 10, 18);
        }
        g.translate(0, top);
        panel(g, 0, pw, ph, leftTitle, left, false);
        panel(g, pw, pw, ph, rightTitle, right, true);
        g.dispose();
        Images.writePng(img, file);
    }

    private static void panel(Graphics2D g, int x0, int w, int h, String title, List<Series> series, boolean unit) {
        int left = x0 + 55, right = x0 + w - 15, top = 30, bottom = h - 40;
        double lo = unit ? 1 : 0, hi = 0;
        int n = 0;
        for (Series s : series) {
            n = Math.max(n, s.values().length);
            for (double v : s.values()) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (unit) {
            lo = Math.max(0, Math.floor(lo * 10) / 10);
            hi = 1;
        } else {
            lo = 0;
            hi = hi > 0 ? hi * 1.05 : 1;
        }
        if (hi <= lo) hi = lo + 1;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.setColor(Color.BLACK);
        g.drawString(title, left, 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int t = 0; t <= 4; t++) {
            double v = lo + (hi - lo) * t / 4;
            int y = bottom - (int) Math.round((bottom - top) * (double) t / 4);
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(left, y, right, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.3g", v), x0 + 5, y + 4);
        }
        for (int i = 0; i < n; i++) g.drawString(Integer.toString(i + 1), xAt(i, n, left, right) - 3, bottom + 15);
        g.drawString("epoch", (left + right) / 2 - 15, bottom + 32);
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        for (int j = 0; j < series.size(); j++) {
            Series s = series.get(j);
            g.setColor(COLOURS[j % COLOURS.length]);
            g.setStroke(new BasicStroke(2f));
            int px = 0, py = 0;
            boolean first = true;
            for (int i = 0; i < s.values().length; i++) {
                double v = s.values()[i];
                if (!Double.isFinite(v)) continue;
                int x = xAt(i, n, left, right), y = bottom - (int) Math.round((bottom - top) * (v - lo) / (hi - lo));
                g.fillOval(x - 3, y - 3, 6, 6);
                if (!first) g.drawLine(px, py, x, y);
                first = false;
                px = x;
                py = y;
            }
            g.setStroke(new BasicStroke(1f));
            // The legend sits where the curves are not: top right for losses, bottom right for accuracies.
            int ly = unit ? bottom - 12 - 15 * (series.size() - 1 - j) : top + 15 + 15 * j;
            g.drawString(s.name(), right - 60, ly);
        }
    }

    private static int xAt(int i, int n, int left, int right) {
        return n <= 1 ? (left + right) / 2 : left + 10 + (int) Math.round((right - left - 20) * (double) i / (n - 1));
    }

    /** The confusion matrix as a grid of cells shaded by row-normalized count, with the counts. */
    static void confusion(long[][] m, List<String> classes, Path file) {
        int k = m.length, cell = Math.max(28, Math.min(60, 600 / Math.max(1, k))), label = 110, top = 40;
        BufferedImage img = new BufferedImage(label + k * cell + 10, top + k * cell + label, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("confusion (rows: true class, columns: predicted)", 5, 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        for (int i = 0; i < k; i++) {
            long row = 0;
            for (long v : m[i]) row += v;
            g.setColor(Color.BLACK);
            g.drawString(clip(classes.get(i)), 5, top + i * cell + cell / 2 + 4);
            for (int j = 0; j < k; j++) {
                float t = row == 0 ? 0 : (float) m[i][j] / row;
                g.setColor(new Color(Images.viridis(t)));
                g.fillRect(label + j * cell, top + i * cell, cell - 1, cell - 1);
                g.setColor(t > 0.6f ? Color.BLACK : Color.WHITE);
                g.drawString(Long.toString(m[i][j]), label + j * cell + 3, top + i * cell + cell / 2 + 4);
            }
        }
        g.setColor(Color.BLACK);
        for (int j = 0; j < k; j++) {
            Graphics2D r = (Graphics2D) g.create();
            r.translate(label + j * cell + cell / 2 + 4, top + k * cell + 5);
            r.rotate(Math.PI / 2);
            r.drawString(clip(classes.get(j)), 0, 0);
            r.dispose();
        }
        g.dispose();
        Images.writePng(img, file);
    }

    private static String clip(String s) {
        return s.length() > 16 ? s.substring(0, 15) + "…" : s;
    }
}
