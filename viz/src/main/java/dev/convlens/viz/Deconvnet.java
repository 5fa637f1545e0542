package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.image.Images;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Deconvnet projections (Zeiler &amp; Fergus, "Visualizing and Understanding Convolutional Networks",
 * ECCV 2014, sec. 2.1): one activation of a layer mapped back to pixel space.
 *
 * <p>Run the image forward, take the layer's activations {@code A (1,K,h,w)}, keep one unit (or one whole
 * channel) and set every other activation of the layer to 0:
 * <pre>
 *   seed[k,i,j] = A[k,i,j]  for the chosen unit(s),  0 elsewhere
 *   projection  = the seed sent down to the input (1,C,H,W) with the chosen ReLU rule
 * </pre>
 * The way down is the network's own backward pass ({@link Run#backward}): a convolution's backward
 * applies the transposed ("flipped") filters, a max pool's backward is unpooling through the switches
 * recorded going up, batch norm (or its folding into the convolution) is its linear map's transpose,
 * a residual sum sends the signal down both branches. Only the ReLUs differ by rule:
 * <ul>
 *   <li>{@link Relu.Rule#DECONVNET} (default): {@code dx = max(dy, 0)}: Zeiler &amp; Fergus rectify the
 *       reconstruction itself and ignore which units were active going up;</li>
 *   <li>{@link Relu.Rule#GUIDED}: {@code dx = max(dy, 0) * 1[x > 0]}, guided backpropagation (Springenberg
 *       et al., "Striving for Simplicity: The All Convolutional Net", 2015);</li>
 *   <li>{@link Relu.Rule#GRADIENT}: {@code dx = dy * 1[x > 0]}: the gradient of the seeded sum
 *       {@code sum seed * A} with respect to the input.</li>
 * </ul>
 * Local response normalization is skipped on the way down under DECONVNET and GUIDED (the paper uses no
 * contrast normalization in the deconvnet); see {@code Layers.LrnOp}.
 */
public final class Deconvnet {
    /**
     * Which activation(s) to project. A negative {@code channel} means the strongest channel (the one
     * holding the layer's largest activation); negative {@code y, x} mean the strongest unit of the channel.
     */
    public record Unit(int channel, int y, int x, boolean wholeChannel) {
        /** The layer's largest activation (the strongest unit of the strongest channel). */
        public static Unit strongest() {
            return new Unit(-1, -1, -1, false);
        }

        /** The strongest unit of channel {@code c}. */
        public static Unit strongestIn(int c) {
            return new Unit(c, -1, -1, false);
        }

        /** Unit (y, x) of channel {@code c}. */
        public static Unit at(int c, int y, int x) {
            return new Unit(c, y, x, false);
        }

        /** The whole feature map of channel {@code c}. */
        public static Unit wholeChannel(int c) {
            return new Unit(c, -1, -1, true);
        }
    }

    /**
     * A projection.
     *
     * @param projection the signal in input space (1,C,H,W)
     * @param layer      the value projected from (a graph value name)
     * @param unit       the unit projected, resolved: channel, and y, x (-1, -1 for a whole channel)
     * @param activation the activation of the unit (for a whole channel: its largest)
     */
    public record Projection(Tensor projection, String layer, Relu.Rule rule, Unit unit, float activation) {}

    private final Graph g;
    private final Kernels k;

    public Deconvnet(Graph g, Kernels k) {
        this.g = g;
        this.k = k;
    }

    /** Zeiler and Fergus's projection: {@link #project(Tensor, String, Unit, Relu.Rule)} with {@link Relu.Rule#DECONVNET}. */
    public Projection project(Tensor x, String layer, Unit unit) {
        return project(x, layer, unit, Relu.Rule.DECONVNET);
    }

    /** Projects {@code unit} of {@code layer} (anything {@link LayerRef} resolves) for image {@code x (1,C,H,W)}. */
    public Projection project(Tensor x, String layer, Unit unit, Relu.Rule rule) {
        Shapes.check(x.rank() == 4 && x.dim(0) == 1, "Deconvnet", "one image (1,C,H,W) at a time, got " + Shapes.str(x.shape()));
        String value = LayerRef.resolve(g, layer);
        Run run = g.infer(k, Map.of(g.inputs.get(0), x), List.of(value));   // batch norm folded, the layer kept
        Tensor a = run.value(value);
        Unit u = choose(a, unit, layer);
        Tensor seed = seed(a, u);
        Tensor dx = run.backward(value, seed, rule, List.of(g.inputs.get(0))).get(g.inputs.get(0));
        int hw = spatial(a), w = a.rank() == 4 ? a.dim(3) : 1;
        float act = u.wholeChannel() ? max(a, u.channel() * hw, hw) : a.data[u.channel() * hw + u.y() * w + u.x()];
        return new Projection(dx, value, rule, u, act);
    }

    /** The unit {@code unit} picks from the activations {@code a (1,K,h,w)} (or (1,K), seen as (1,K,1,1)), resolved. */
    public static Unit choose(Tensor a, Unit unit, String layer) {
        Shapes.check((a.rank() == 4 || a.rank() == 2) && a.dim(0) == 1, "Deconvnet", "layer '" + layer + "' has shape "
                + Shapes.str(a.shape()) + "; needs (1,K,h,w) or (1,K)");
        int kk = a.dim(1), h = a.rank() == 4 ? a.dim(2) : 1, w = a.rank() == 4 ? a.dim(3) : 1, hw = h * w;
        int c = unit.channel();
        if (c < 0) c = argmax(a, 0, a.size()) / hw;
        Shapes.check(c < kk, "Deconvnet", "channel " + c + " but layer '" + layer + "' " + Shapes.str(a.shape()) + " has " + kk);
        if (unit.wholeChannel()) return Unit.wholeChannel(c);
        if (unit.y() < 0 || unit.x() < 0) {
            int at = argmax(a, c * hw, hw);
            return Unit.at(c, at / w, at % w);
        }
        Shapes.check(unit.y() < h && unit.x() < w, "Deconvnet", "unit (" + unit.y() + "," + unit.x() + ") outside layer '"
                + layer + "' of spatial size " + h + "x" + w);
        return unit;
    }

    /** The seed: the resolved unit's own activation(s), every other activation 0. */
    static Tensor seed(Tensor a, Unit u) {
        int hw = spatial(a), w = a.rank() == 4 ? a.dim(3) : 1;
        Tensor seed = Tensor.zeros(a.shape());
        if (u.wholeChannel()) System.arraycopy(a.data, u.channel() * hw, seed.data, u.channel() * hw, hw);
        else {
            int i = u.channel() * hw + u.y() * w + u.x();
            seed.data[i] = a.data[i];
        }
        return seed;
    }

    private static int spatial(Tensor a) {
        return a.rank() == 4 ? a.dim(2) * a.dim(3) : 1;
    }

    /** Offset (from {@code from}) of the first largest value among {@code n}. */
    private static int argmax(Tensor a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a.data[from + i] > a.data[from + best]) best = i;
        return best;
    }

    private static float max(Tensor a, int from, int n) {
        return a.data[from + argmax(a, from, n)];
    }

    /** Writes the projection as {@code projection.png}: centred at grey, scaled by its largest |value|. */
    public static void writePng(Path dir, Projection p) {
        Images.writePng(Images.signal(p.projection()), dir.resolve("projection.png"));
    }
}
