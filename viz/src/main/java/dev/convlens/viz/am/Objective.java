package dev.convlens.viz.am;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A term of the objective J that activation maximization climbs, summed over the batch and
 * multiplied by its weight; a list of terms is their sum. Each term reads one value of the
 * network (a layer's output, or the logits) and writes {@code weight * dTerm/d value} into the seed
 * that {@link dev.convlens.nn.Run#backward} starts from.
 */
public sealed interface Objective {
    double weight();

    /** The name of the graph value this term reads. */
    String value(Graph g);

    /** Returns {@code weight * term(a)} and adds {@code weight * dterm/da} into {@code seed} (same shape as a). */
    double evaluate(Tensor a, Tensor seed);

    /**
     * A class score before the softmax (Simonyan et al. 2014): {@code J = sum_b logits[b, k]}.
     * {@code dJ/dlogits[b, k] = 1}, 0 elsewhere.
     */
    record ClassLogit(int target, double weight) implements Objective {
        public String value(Graph g) { return g.outputs.get(0); }

        public double evaluate(Tensor a, Tensor seed) {
            Shapes.check(a.rank() == 2 && target >= 0 && target < a.dim(1), "ClassLogit",
                    "class " + target + " out of range for logits " + Shapes.str(a.shape()));
            double j = 0;
            for (int b = 0; b < a.dim(0); b++) {
                j += a.data[b * a.dim(1) + target];
                seed.data[b * a.dim(1) + target] += (float) weight;
            }
            return weight * j;
        }
    }

    /**
     * The mean of one channel of a layer (Olah et al. 2017, "channel"):
     * {@code J = sum_b 1/(HW) sum_{y,x} a[b, c, y, x]}; {@code dJ/da[b, c, y, x] = 1/(HW)}.
     */
    record Channel(String layer, int channel, double weight) implements Objective {
        public String value(Graph g) { return resolve(g, layer); }

        public double evaluate(Tensor a, Tensor seed) {
            Shapes.check(a.rank() == 4 && channel >= 0 && channel < a.dim(1), "Channel",
                    "channel " + channel + " out of range for " + layer + " " + Shapes.str(a.shape()));
            int hw = a.dim(2) * a.dim(3);
            double j = 0;
            for (int b = 0; b < a.dim(0); b++) {
                int o = (b * a.dim(1) + channel) * hw;
                double s = 0;
                for (int i = 0; i < hw; i++) {
                    s += a.data[o + i];
                    seed.data[o + i] += (float) (weight / hw);
                }
                j += s / hw;
            }
            return weight * j;
        }
    }

    /** One unit (Erhan et al. 2009): {@code J = sum_b a[b, c, y, x]}; gradient 1 there. */
    record Neuron(String layer, int channel, int y, int x, double weight) implements Objective {
        public String value(Graph g) { return resolve(g, layer); }

        public double evaluate(Tensor a, Tensor seed) {
            Shapes.check(a.rank() == 4 && channel >= 0 && channel < a.dim(1) && y >= 0 && y < a.dim(2) && x >= 0
                    && x < a.dim(3), "Neuron", "unit (" + channel + "," + y + "," + x + ") out of range for " + layer
                    + " " + Shapes.str(a.shape()));
            double j = 0;
            for (int b = 0; b < a.dim(0); b++) {
                int i = ((b * a.dim(1) + channel) * a.dim(2) + y) * a.dim(3) + x;
                j += a.data[i];
                seed.data[i] += (float) weight;
            }
            return weight * j;
        }
    }

    /**
     * Lucid's diversity: the negative mean pairwise cosine similarity of the Gram matrices of a
     * layer's activations across the batch. With {@code F_b = a[b]} as a {@code (C, HW)} matrix,
     * <pre>
     *   G_b = F_b F_b^T,  n_b = max(||G_b||_F, 1e-12),  Gh_b = G_b / n_b
     *   D   = -(1/B) sum_i sum_{j != i} &lt;Gh_i, Gh_j&gt;
     * </pre>
     * Backward: {@code P_i = dD/dGh_i = -(2/B) sum_{j != i} Gh_j}; through the normalization
     * {@code dG_i = (P_i - Gh_i <Gh_i, P_i>) / n_i}; through the Gram matrix (dG symmetric)
     * {@code dF_i = (dG_i + dG_i^T) F_i = 2 dG_i F_i}. Zero for a batch of one.
     */
    record Diversity(String layer, double weight) implements Objective {
        public String value(Graph g) { return resolve(g, layer); }

        public double evaluate(Tensor a, Tensor seed) {
            Shapes.requireRank("Diversity", layer, a, 4);
            int bn = a.dim(0), c = a.dim(1), hw = a.dim(2) * a.dim(3);
            double[][] gh = new double[bn][c * c];
            double[] norm = new double[bn];
            for (int b = 0; b < bn; b++) {
                int o = b * c * hw;
                double ss = 0;
                for (int p = 0; p < c; p++)
                    for (int q = p; q < c; q++) {
                        double s = 0;
                        for (int i = 0; i < hw; i++) s += (double) a.data[o + p * hw + i] * a.data[o + q * hw + i];
                        gh[b][p * c + q] = s;
                        gh[b][q * c + p] = s;
                        ss += p == q ? s * s : 2 * s * s;
                    }
                norm[b] = Math.max(Math.sqrt(ss), 1e-12);
                for (int i = 0; i < c * c; i++) gh[b][i] /= norm[b];
            }
            double[] total = new double[c * c];
            for (int b = 0; b < bn; b++) for (int i = 0; i < c * c; i++) total[i] += gh[b][i];
            double d = 0;
            double[] pm = new double[c * c], dg = new double[c * c];
            for (int b = 0; b < bn; b++) {
                double dot = 0, sim = 0;
                for (int i = 0; i < c * c; i++) {
                    double others = total[i] - gh[b][i];
                    sim += gh[b][i] * others;
                    pm[i] = -2.0 / bn * others;
                    dot += gh[b][i] * pm[i];
                }
                d -= sim / bn;
                for (int i = 0; i < c * c; i++) dg[i] = (pm[i] - gh[b][i] * dot) / norm[b];
                int o = b * c * hw;
                for (int p = 0; p < c; p++)
                    for (int i = 0; i < hw; i++) {
                        double s = 0;
                        for (int q = 0; q < c; q++) s += dg[p * c + q] * a.data[o + q * hw + i];
                        seed.data[o + p * hw + i] += (float) (weight * 2 * s);
                    }
            }
            return weight * d;
        }
    }

    /**
     * The value a layer name stands for: a value name of the graph as is, else the first output of
     * the node of that name.
     *
     * @throws IllegalArgumentException naming some of the layers there are
     */
    static String resolve(Graph g, String layer) {
        List<String> some = new ArrayList<>();
        for (Node n : g.nodes) if (n.outputs().contains(layer)) return layer;
        for (Node n : g.nodes) {
            if (n.name().equals(layer)) return n.outputs().get(0);
            if (some.size() < 12 && !n.op().type().equals("Constant")) some.add(n.name() + " -> " + n.outputs().get(0));
        }
        throw new IllegalArgumentException("no layer or value named '" + layer + "'; some nodes (name -> value): " + some);
    }
}
