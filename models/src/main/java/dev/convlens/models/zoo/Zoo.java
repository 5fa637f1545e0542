package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What the code-built networks share: loading weights by name. */
public final class Zoo {
    private Zoo() {}

    static void requireClasses(int numClasses) {
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be at least 1 but is " + numClasses);
    }

    /**
     * Copies every parameter of {@code g} from the parameter of the same name in {@code source}
     * (e.g. a torchvision export imported with the BN-preserving options, whose initializers carry
     * the state_dict names). A value that {@code source} computes as the Identity of a parameter
     * counts as a parameter of that name: torch.onnx's eval exports merge initializers with equal
     * values (vgg16's zero biases) and keep the other names as Identity nodes. Nothing is copied unless every parameter of {@code g} is found with
     * the same shape; otherwise the message names each missing or mismatched parameter and both
     * shapes. Parameters of {@code source} that {@code g} does not have are ignored.
     */
    public static void loadWeights(Graph g, Graph source) {
        Map<String, Tensor> named = new HashMap<>(source.params);
        for (Node n : source.nodes) {
            if (n.op() instanceof Layers.Identity && named.containsKey(n.inputs().get(0))) {
                named.putIfAbsent(n.outputs().get(0), named.get(n.inputs().get(0)));
            }
        }
        loadWeights(g, named);
    }

    /** As {@link #loadWeights(Graph, Graph)}, from a map of tensors by name. */
    public static void loadWeights(Graph g, Map<String, Tensor> source) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : g.params.entrySet()) {
            Tensor src = source.get(e.getKey());
            if (src == null) {
                problems.add("'" + e.getKey() + "' " + Shapes.str(e.getValue().shape()) + " is missing from the source");
            } else if (!Arrays.equals(src.shape(), e.getValue().shape())) {
                problems.add("'" + e.getKey() + "' has shape " + Shapes.str(e.getValue().shape()) + " in the graph but "
                        + Shapes.str(src.shape()) + " in the source");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("loadWeights: " + problems.size() + " of " + g.params.size()
                    + " parameters cannot be loaded: " + String.join("; ", problems));
        }
        for (Map.Entry<String, Tensor> e : g.params.entrySet()) {
            Tensor src = source.get(e.getKey());
            System.arraycopy(src.data, 0, e.getValue().data, 0, src.data.length);
        }
    }
}
