package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Occlusion sensitivity (Zeiler and Fergus, "Visualizing and Understanding Convolutional
 * Networks", ECCV 2014, Sec. 4.2 and Fig. 7): is the classifier looking at the object, or at its
 * surroundings? A grey square is slid over the image and, for each position, the network is run
 * on the occluded copy.
 *
 * <p>For the square at position {@code (i, j)}, covering rows {@code [i s, i s + a)} and columns
 * {@code [j s, j s + a)} (side {@code a}, stride {@code s}) of every channel, set to the fill
 * value {@code v} (default 0: the dataset mean once the input is normalized), with
 * {@code x_ij} the occluded input and {@code z = f(x_ij)} the logits, the three maps of the paper's
 * Fig. 7 are
 * <pre>
 *   (a) prob[i][j]       = softmax(z)_t = exp(z_t) / sum_c exp(z_c)     t: the true class
 *   (b) activation[i][j] = sum_{h,w} A_{k*}(x_ij)[h][w]                 A: the chosen layer
 *       with k* = argmax_k sum_{h,w} A_k(x)[h][w]                       the strongest map on the clean image
 *   (c) label[i][j]      = argmax_c softmax(z)_c
 * </pre>
 * Positions run while the square stays inside the image: {@code rows = (H - a) / s + 1},
 * {@code cols = (W - a) / s + 1}. The occluded copies go through the network {@code batch} at a
 * time; the kernels parallelize each forward.
 */
public final class Occlusion {
    private Occlusion() {}

    /**
     * The occluder.
     *
     * @param size  side a of the square, in input pixels
     * @param stride step s between positions
     * @param fill  the value written into every channel under the square (0 = the mean after normalization)
     * @param batch occluded copies per forward pass
     */
    public record Config(int size, int stride, float fill, int batch) {
        public Config {
            if (size < 1 || stride < 1 || batch < 1) {
                throw new IllegalArgumentException("Occlusion: size, stride and batch must be >= 1, got " + size + ", "
                        + stride + ", " + batch);
            }
        }

        /** A grey (mean) square of side {@code size} moved by {@code stride}, 8 copies per forward. */
        public static Config of(int size, int stride) {
            return new Config(size, stride, 0f, 8);
        }
    }

    /**
     * The three maps, each (rows, cols) row-major.
     *
     * @param target        the true class t
     * @param classes       the number of classes of the model
     * @param layer         the layer of map (b), or null when none was asked
     * @param channel       k*, the strongest channel of that layer on the clean image (-1 without a layer)
     * @param cleanProb     softmax(f(x))_t on the clean image
     * @param cleanActivation sum of A_{k*}(x) on the clean image
     * @param activation    map (b); null without a layer
     */
    public record Maps(int rows, int cols, int size, int stride, int target, int classes, String layer, int channel,
                       float cleanProb, float cleanActivation, float[] prob, float[] activation, int[] label) {}

    /**
     * Computes the maps.
     *
     * @param x      one normalized image (1, 3, H, W)
     * @param target the true class, or -1 for the top class of the clean image
     * @param layer  the value whose strongest feature map makes map (b), or null to skip it
     */
    public static Maps run(Graph g, Kernels k, Tensor x, int target, String layer, Config c) {
        Shapes.requireRank("Occlusion", "x", x, 4);
        Shapes.check(x.dim(0) == 1, "Occlusion", "expects one image (1,C,H,W), got " + Shapes.str(x.shape()));
        int ch = x.dim(1), h = x.dim(2), w = x.dim(3);
        Shapes.check(c.size() <= h && c.size() <= w, "Occlusion",
                "square " + c.size() + " does not fit the image " + Shapes.str(x.shape()));
        String in = g.inputs.get(0);
        List<String> keep = layer != null ? List.of(layer) : List.of();   // inference with batch norm folded, the layer kept
        Run clean = g.infer(k, Map.of(in, x), keep);
        Tensor logits = clean.output();
        int classes = logits.size();
        double[] p = new double[classes];
        softmax(logits.data, 0, classes, p);
        int t = target >= 0 ? target : argmax(p);
        Shapes.check(t < classes, "Occlusion", "target class " + t + " but the model has " + classes + " classes");
        int channel = -1;
        float cleanAct = 0;
        if (layer != null) {
            Tensor a = clean.value(layer);
            Shapes.check(a.rank() == 4, "Occlusion", "layer '" + layer + "' is not a feature map (N,C,H,W): "
                    + Shapes.str(a.shape()));
            double best = Double.NEGATIVE_INFINITY;
            for (int kk = 0; kk < a.dim(1); kk++) {
                double s = channelSum(a, 0, kk);
                if (s > best) {
                    best = s;
                    channel = kk;
                }
            }
            cleanAct = (float) best;
        }

        int rows = (h - c.size()) / c.stride() + 1, cols = (w - c.size()) / c.stride() + 1, n = rows * cols;
        float[] prob = new float[n];
        float[] act = layer != null ? new float[n] : null;
        int[] label = new int[n];
        int plane = h * w, img = ch * plane;
        for (int first = 0; first < n; first += c.batch()) {
            int b = Math.min(c.batch(), n - first);
            Tensor xb = Tensor.zeros(b, ch, h, w); // (b, C, H, W): copies of x, each with its square filled
            for (int i = 0; i < b; i++) {
                System.arraycopy(x.data, 0, xb.data, i * img, img);
                int top = ((first + i) / cols) * c.stride(), left = ((first + i) % cols) * c.stride();
                for (int cc = 0; cc < ch; cc++)
                    for (int y = top; y < top + c.size(); y++) {
                        int o = i * img + cc * plane + y * w + left;
                        java.util.Arrays.fill(xb.data, o, o + c.size(), c.fill());
                    }
            }
            Run r = g.infer(k, Map.of(in, xb), keep);
            Tensor z = r.output(); // (b, classes)
            Shapes.check(z.size() == b * classes, "Occlusion", "output " + Shapes.str(z.shape()) + " for a batch of " + b);
            for (int i = 0; i < b; i++) {
                softmax(z.data, i * classes, classes, p);
                prob[first + i] = (float) p[t];
                label[first + i] = argmax(p);
            }
            if (layer != null) {
                Tensor a = r.value(layer);
                for (int i = 0; i < b; i++) act[first + i] = (float) channelSum(a, i, channel);
            }
        }
        return new Maps(rows, cols, c.size(), c.stride(), t, classes, layer, channel, (float) softmaxAt(logits.data, classes, t),
                cleanAct, prob, act, label);
    }

    /** Writes occlusion_prob.npy, occlusion_activation.npy (with a layer) and occlusion_label.npy (int32) into {@code dir}. */
    public static void save(Maps m, Path dir) {
        try {
            java.nio.file.Files.createDirectories(dir);
            Npy.write(dir.resolve("occlusion_prob.npy"), Tensor.of(m.prob().clone(), m.rows(), m.cols()));
            if (m.activation() != null) {
                Npy.write(dir.resolve("occlusion_activation.npy"), Tensor.of(m.activation().clone(), m.rows(), m.cols()));
            }
            Npy.writeInts(dir.resolve("occlusion_label.npy"), m.label(), m.rows(), m.cols());
        } catch (IOException e) {
            throw new UncheckedIOException("Occlusion: cannot write into " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renders the maps as the paper shows them, into {@code dir}: occlusion_prob.png (heatmap),
     * occlusion_prob_overlay.png (over the input), the same two for the activation map, and
     * occlusion_label.png (each label a colour, with a legend of the most frequent labels).
     *
     * @param x      the normalized input the maps were computed on (1, 3, H, W)
     * @param labels class names, or null for indices
     */
    public static void render(Maps m, Tensor x, Path dir, List<String> labels) {
        int h = x.dim(2), w = x.dim(3);
        BufferedImage base = Images.fromNormalized(x, Images.IMAGENET_MEAN, Images.IMAGENET_STD);
        BufferedImage heat = Images.heatmap(toPixels(m, m.prob(), h, w), h, w);
        Images.writePng(heat, dir.resolve("occlusion_prob.png"));
        Images.writePng(Images.overlay(base, heat, 0.5f), dir.resolve("occlusion_prob_overlay.png"));
        if (m.activation() != null) {
            BufferedImage a = Images.heatmap(toPixels(m, m.activation(), h, w), h, w);
            Images.writePng(a, dir.resolve("occlusion_activation.png"));
            Images.writePng(Images.overlay(base, a, 0.5f), dir.resolve("occlusion_activation_overlay.png"));
        }
        int[] pix = new int[h * w];
        float[] idx = new float[m.label().length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        float[] cell = toPixels(m, idx, h, w);
        for (int i = 0; i < pix.length; i++) pix[i] = m.label()[(int) cell[i]];
        Images.writePng(Images.categorical(pix, h, w, labels, 10), dir.resolve("occlusion_label.png"));
    }

    /**
     * A map of square positions spread over the image's pixels: each pixel takes the value of the
     * position whose square centre is nearest.
     */
    public static float[] toPixels(Maps m, float[] map, int h, int w) {
        float[] out = new float[h * w];
        for (int y = 0; y < h; y++) {
            int i = nearest(y, m.size(), m.stride(), m.rows());
            for (int x = 0; x < w; x++) out[y * w + x] = map[i * m.cols() + nearest(x, m.size(), m.stride(), m.cols())];
        }
        return out;
    }

    private static int nearest(int p, int size, int stride, int n) {
        int i = (int) Math.round((p + 0.5 - size / 2.0) / stride);
        return Math.max(0, Math.min(i, n - 1));
    }

    /** p = softmax(z[off .. off+n)), in double with the maximum subtracted. */
    static void softmax(float[] z, int off, int n, double[] p) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, z[off + i]);
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(z[off + i] - max);
        for (int i = 0; i < n; i++) p[i] /= sum;
    }

    private static double softmaxAt(float[] z, int n, int t) {
        double[] p = new double[n];
        softmax(z, 0, n, p);
        return p[t];
    }

    /** The index of the largest value; the first on ties. */
    static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
        return best;
    }

    /** sum_{h,w} a[n][k][h][w] in double. */
    static double channelSum(Tensor a, int n, int k) {
        int plane = a.dim(2) * a.dim(3), off = (n * a.dim(1) + k) * plane;
        double s = 0;
        for (int i = 0; i < plane; i++) s += a.data[off + i];
        return s;
    }
}
