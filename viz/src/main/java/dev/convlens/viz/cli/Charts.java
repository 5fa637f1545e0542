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

    private static final Color TRAIN = new Color(0x1f77b4), TEST = new Color(0xff7f0e);

    /** Two panels side by side: loss and accuracy per epoch, train (blue) and test (orange). */
    static void curves(List<Trainer.Epoch> h, Path file) {
        int pw = 420, ph = 300;
        BufferedImage img = new BufferedImage(2 * pw, ph, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 2 * pw, ph);
        panel(g, 0, pw, ph, "loss", h, Trainer.Epoch::trainLoss, Trainer.Epoch::testLoss, false);
        panel(g, pw, pw, ph, "accuracy", h, Trainer.Epoch::trainAcc, Trainer.Epoch::testAcc, true);
        g.dispose();
        Images.writePng(img, file);
    }

    private static void panel(Graphics2D g, int x0, int w, int h, String title, List<Trainer.Epoch> hist,
                              ToDoubleFunction<Trainer.Epoch> train, ToDoubleFunction<Trainer.Epoch> test, boolean unit) {
        int left = x0 + 55, right = x0 + w - 15, top = 30, bottom = h - 40;
        double lo = unit ? 1 : 0, hi = unit ? 0 : 0;
        for (Trainer.Epoch e : hist) {
            for (double v : new double[] {train.applyAsDouble(e), test.applyAsDouble(e)}) {
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
        int n = hist.size();
        for (int i = 0; i < n; i++) {
            int x = xAt(i, n, left, right);
            g.drawString(Integer.toString(hist.get(i).epoch()), x - 3, bottom + 15);
        }
        g.drawString("epoch", (left + right) / 2 - 15, bottom + 32);
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        line(g, hist, train, TRAIN, lo, hi, left, right, top, bottom);
        line(g, hist, test, TEST, lo, hi, left, right, top, bottom);
        g.setColor(TRAIN);
        g.drawString("train", right - 80, top + 15);
        g.setColor(TEST);
        g.drawString("test", right - 40, top + 15);
    }

    private static int xAt(int i, int n, int left, int right) {
        return n == 1 ? (left + right) / 2 : left + 10 + (int) Math.round((right - left - 20) * (double) i / (n - 1));
    }

    private static void line(Graphics2D g, List<Trainer.Epoch> hist, ToDoubleFunction<Trainer.Epoch> f, Color c, double lo, double hi,
                             int left, int right, int top, int bottom) {
        g.setColor(c);
        g.setStroke(new BasicStroke(2f));
        int n = hist.size(), px = 0, py = 0;
        for (int i = 0; i < n; i++) {
            double v = f.applyAsDouble(hist.get(i));
            if (!Double.isFinite(v)) continue;
            int x = xAt(i, n, left, right), y = bottom - (int) Math.round((bottom - top) * (v - lo) / (hi - lo));
            g.fillOval(x - 3, y - 3, 6, 6);
            if (i > 0) g.drawLine(px, py, x, y);
            px = x;
            py = y;
        }
        g.setStroke(new BasicStroke(1f));
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
