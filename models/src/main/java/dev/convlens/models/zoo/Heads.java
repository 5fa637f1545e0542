package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Head surgery for transfer learning: replace the last one or two Linear layers (Gemm nodes whose
 * weight is a parameter) of a network with freshly initialized ones, e.g. ResNet's {@code fc},
 * AlexNet's {@code classifier.4} and {@code classifier.6}, VGG's {@code classifier.3} and
 * {@code classifier.6}.
 *
 * <p>The result is a new {@link Graph} with the same nodes; it shares every other parameter tensor
 * with the original (not copied), and keeps the original's frozen set minus the replaced
 * parameters. Fresh layers get PyTorch's default Linear initialization, U(-1/sqrt(in), 1/sqrt(in))
 * for weight and bias, drawn from {@code seed}. Freeze the body with {@link Graph#freezePrefix}.
 */
public final class Heads {
    private Heads() {}

    /** The last Linear replaced by a fresh one with {@code numClasses} outputs. */
    public static Graph replaceLast(Graph g, int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        List<Node> linears = linears(g);
        return replace(g, linears.subList(linears.size() - 1, linears.size()), numClasses, seed);
    }

    /**
     * The last two Linears replaced by fresh ones: the first keeps its width (its input and output
     * sizes), the last gets {@code numClasses} outputs.
     */
    public static Graph replaceLastTwo(Graph g, int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        List<Node> linears = linears(g);
        if (linears.size() < 2) {
            throw new IllegalArgumentException("Heads: the graph has " + linears.size() + " Linear layer(s); two are needed");
        }
        return replace(g, linears.subList(linears.size() - 2, linears.size()), numClasses, seed);
    }

    /** The Linear layers (Gemm with transB and a weight parameter), in graph order. */
    private static List<Node> linears(Graph g) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes) {
            if (n.op() instanceof Layers.Gemm gemm && gemm.transB() && !gemm.transA() && n.inputs().size() >= 2
                    && g.params.containsKey(n.inputs().get(1))) {
                out.add(n);
            }
        }
        if (out.isEmpty()) throw new IllegalArgumentException("Heads: the graph has no Linear layer (Gemm with a weight parameter)");
        return out;
    }

    private static Graph replace(Graph g, List<Node> replaced, int numClasses, long seed) {
        SplittableRandom seeds = new SplittableRandom(seed);
        Map<String, Tensor> params = new LinkedHashMap<>(g.params);
        List<String> fresh = new ArrayList<>();
        for (int i = 0; i < replaced.size(); i++) {
            Node n = replaced.get(i);
            String w = n.inputs().get(1);
            Tensor old = g.params.get(w);
            int out = i == replaced.size() - 1 ? numClasses : old.dim(0), in = old.dim(1);
            params.put(w, Init.Linear.PYTORCH_DEFAULT.weight(seeds.nextLong(), out, in));
            fresh.add(w);
            if (n.inputs().size() > 2 && g.params.containsKey(n.inputs().get(2))) {
                String b = n.inputs().get(2);
                params.put(b, Init.Linear.PYTORCH_DEFAULT.bias(seeds.nextLong(), out, in));
                fresh.add(b);
            }
        }
        Graph result = new Graph(g.nodes, params, g.inputs, g.outputs);
        for (String f : g.frozen) if (!fresh.contains(f)) result.frozen.add(f);
        return result;
    }
}
