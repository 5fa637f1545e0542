package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Grids of what a network has learned and what it computes (Zeiler and Fergus, "Visualizing and
 * Understanding Convolutional Networks", ECCV 2014: Fig. 5/6 show first-layer filters, Fig. 4
 * the evolution of features through training):
 * <ul>
 *   <li>{@link #filters}: the first convolution's filters {@code w (K, 3, kh, kw)} as colour
 *       patches, each filter scaled on its own: {@code rgb = (w - min_k) / (max_k - min_k)} with
 *       min and max over that filter's 3 kh kw weights (one channel: grey; other counts: the
 *       mean over channels, grey);</li>
 *   <li>{@link #activations}: one image's feature maps {@code A_k (h, w)} of a layer, each channel a
 *       heatmap scaled from its own minimum to its maximum, captioned with its index;</li>
 *   <li>{@link #evolution}: the same channels of the same layer for several models or
 *       checkpoints side by side (one column per model), to follow features through training.</li>
 * </ul>
 */
public final class FeatureGrids {
    private FeatureGrids() {}

    /** The name of the first convolution's weight in graph order. */
    public static String firstConvWeight(Graph g) {
        for (Node n : g.nodes) if (n.op() instanceof Layers.Conv) return n.inputs().get(1);
        throw new IllegalArgumentException("FeatureGrids: the graph has no convolution");
    }

    /**
     * The filters of convolution weight {@code weight} (null: the first convolution's), at most
     * {@code max}, each enlarged {@code scale} times, in rows of {@code cols}.
     */
    public static BufferedImage filters(Graph g, String weight, int max, int scale, int cols) {
        String name = weight != null ? weight : firstConvWeight(g);
        Tensor w = GraphValues.constant(g, name);
        if (w == null) throw new IllegalArgumentException("FeatureGrids: '" + name + "' is not a parameter or constant of the graph");
        Shapes.requireRank("FeatureGrids", name, w, 4);
        int k = Math.min(w.dim(0), max), c = w.dim(1), kh = w.dim(2), kw = w.dim(3), per = c * kh * kw;
        List<BufferedImage> tiles = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        for (int f = 0; f < k; f++) {
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < per; i++) {
                lo = Math.min(lo, w.data[f * per + i]);
                hi = Math.max(hi, w.data[f * per + i]);
            }
            float span = hi > lo ? hi - lo : 1;
            BufferedImage img = new BufferedImage(kw, kh, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < kh; y++)
                for (int x = 0; x < kw; x++) {
                    int rgb = 0;
                    if (c == 3) {
                        for (int ch = 0; ch < 3; ch++) rgb = (rgb << 8) | to8((w.data[f * per + (ch * kh + y) * kw + x] - lo) / span);
                    } else {
                        float m = 0;
                        for (int ch = 0; ch < c; ch++) m += w.data[f * per + (ch * kh + y) * kw + x];
                        int v = to8((m / c - lo) / span);
                        rgb = (v << 16) | (v << 8) | v;
                    }
                    img.setRGB(x, y, rgb);
                }
            tiles.add(Images.enlarge(img, scale));
            captions.add(Integer.toString(f));
        }
        return Images.grid(tiles, captions, cols, 2);
    }

    /** The feature maps of {@code layer} for image {@code x} (1, 3, H, W): the first {@code max} channels as heatmaps. */
    public static BufferedImage activations(Graph g, Kernels k, Tensor x, String layer, int max, int scale, int cols) {
        Tensor a = g.infer(k, Map.of(g.inputs.get(0), x), List.of(layer)).value(layer);
        int[] channels = new int[Math.min(max, channelsOf(a, layer))];
        for (int i = 0; i < channels.length; i++) channels[i] = i;
        List<BufferedImage> tiles = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        for (int c : channels) {
            tiles.add(map(a, c, scale));
            captions.add(Integer.toString(c));
        }
        return Images.grid(tiles, captions, cols, 2);
    }

    /**
     * The same {@code channels} of {@code layer} for image {@code x} in each of {@code graphs} (models
     * or checkpoints of one architecture): one row per channel, one column per model, captioned
     * "name: channel".
     */
    public static BufferedImage evolution(List<Graph> graphs, List<String> names, Kernels k, Tensor x, String layer,
                                          int[] channels, int scale) {
        if (graphs.isEmpty() || graphs.size() != names.size()) {
            throw new IllegalArgumentException("FeatureGrids: need one name per model, got " + graphs.size() + " models and "
                    + names.size() + " names");
        }
        List<Tensor> acts = new ArrayList<>();
        for (Graph g : graphs) acts.add(g.infer(k, Map.of(g.inputs.get(0), x), List.of(layer)).value(layer));
        List<BufferedImage> tiles = new ArrayList<>();
        List<String> captions = new ArrayList<>();
        for (int c : channels)
            for (int m = 0; m < graphs.size(); m++) {
                Shapes.check(c >= 0 && c < channelsOf(acts.get(m), layer), "FeatureGrids", "channel " + c + " but model '"
                        + names.get(m) + "' layer '" + layer + "' has " + acts.get(m).dim(1));
                tiles.add(map(acts.get(m), c, scale));
                captions.add(names.get(m) + ": " + c);
            }
        return Images.grid(tiles, captions, graphs.size(), 2);
    }

    private static int channelsOf(Tensor a, String layer) {
        Shapes.check(a.rank() == 4 && a.dim(0) == 1, "FeatureGrids", "layer '" + layer + "' is not one image's feature maps (1,C,H,W): "
                + Shapes.str(a.shape()));
        return a.dim(1);
    }

    private static BufferedImage map(Tensor a, int c, int scale) {
        int h = a.dim(2), w = a.dim(3);
        float[] m = new float[h * w];
        System.arraycopy(a.data, c * h * w, m, 0, h * w);
        return Images.enlarge(Images.heatmap(m, h, w), scale);
    }

    private static int to8(float v) {
        return Math.round(Math.min(Math.max(v, 0f), 1f) * 255f);
    }
}
