package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import java.util.HashSet;
import java.util.Set;

/** Constant values of a graph: parameters, possibly behind Identity or Constant nodes (as ONNX exports put them). */
final class GraphValues {
    private GraphValues() {}

    /** The tensor of parameter or constant {@code name}, following Identity nodes; null when it is computed from an input. */
    static Tensor constant(Graph g, String name) {
        Set<String> seen = new HashSet<>();
        while (seen.add(name)) {
            Tensor t = g.params.get(name);
            if (t != null) return t;
            Node p = g.producer(name);
            if (p == null) return null;
            if (p.op() instanceof Layers.Constant c) return c.value();
            if (!(p.op() instanceof Layers.Identity) || p.inputs().isEmpty()) return null;
            name = p.inputs().get(0);
        }
        return null;
    }
}
