package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Resolves what a user calls a layer ({@code --layer NAME}) to the name of a graph value.
 *
 * <p>Accepted, tried in this order:
 * <ol>
 *   <li>an exact value name (a graph input, a parameter or any node output), e.g. {@code /layer3/layer3.1/relu_1/Relu_output_0};</li>
 *   <li>an exact node name, which means the node's first output, e.g. {@code /features/features.8/Conv};</li>
 *   <li>a PyTorch module path, e.g. {@code layer3}, {@code layer3.1}, {@code features.8}: the first output of
 *       the <em>last</em> node inside that module's scope (for a ResNet block, the ReLU after the residual sum;
 *       for {@code layer4}, the output of its last block). Module paths are the same in the folded and the
 *       BN-preserving export, whose value names differ.</li>
 * </ol>
 * A torch.onnx node name is its scope path: {@code /layer2/layer2.0/downsample/downsample.0/Conv} is node
 * {@code Conv} inside module {@code layer2.0.downsample.0}, each scope component repeating its parent's name as
 * a prefix ({@link #moduleOf}).
 */
public final class LayerRef {
    private LayerRef() {}

    /**
     * The value named by {@code name}.
     *
     * @throws IllegalArgumentException when nothing matches; the message lists a few close candidates
     */
    public static String resolve(Graph g, String name) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("LayerRef: empty layer name");
        if (g.inputs.contains(name) || g.params.containsKey(name)) return name;
        for (Node n : g.nodes) if (n.outputs().contains(name)) return name;
        for (Node n : g.nodes) if (n.name().equals(name) && !n.outputs().isEmpty()) return n.outputs().get(0);
        Node last = null;
        for (Node n : g.nodes) {
            String m = moduleOf(n.name());
            if (!n.outputs().isEmpty() && (m.equals(name) || m.startsWith(name + "."))) last = n;
        }
        if (last != null) return last.outputs().get(0);
        throw new IllegalArgumentException("LayerRef: no value, node or module named '" + name
                + "' in this graph; close names: " + closest(g, name, 6));
    }

    /**
     * The PyTorch module path of an exported node's name: {@code "/layer2/layer2.0/downsample/downsample.0/Conv"}
     * is in module {@code "layer2.0.downsample.0"}; a node outside any module (no scope) gives "".
     */
    public static String moduleOf(String nodeName) {
        return dev.convlens.models.onnx.OnnxImporter.moduleOf(nodeName);
    }

    /** Every module path that names a scope in {@code g} (each prefix of each node's module), in graph order. */
    public static List<String> modules(Graph g) {
        Set<String> out = new LinkedHashSet<>();
        for (Node n : g.nodes) {
            String m = moduleOf(n.name());
            if (m.isEmpty()) continue;
            int dot = -1;
            while ((dot = m.indexOf('.', dot + 1)) >= 0) out.add(m.substring(0, dot));
            out.add(m);
        }
        return new ArrayList<>(out);
    }

    /** The {@code count} module paths, node names and value names closest to {@code name} (edit distance). */
    static List<String> closest(Graph g, String name, int count) {
        Set<String> all = new LinkedHashSet<>(modules(g));
        for (Node n : g.nodes) {
            all.add(n.name());
            all.addAll(n.outputs());
        }
        all.addAll(g.inputs);
        all.remove("");
        List<String> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparingInt((String s) -> distance(s, name)).thenComparing(s -> s));
        return sorted.subList(0, Math.min(count, sorted.size()));
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
