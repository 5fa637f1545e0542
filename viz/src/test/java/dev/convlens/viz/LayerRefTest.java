package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LayerRefTest {
    /** Node names as torch.onnx writes them for torchvision modules. */
    static final Graph G = new Graph(List.of(
            node("/features/features.1/Relu", "input", "a"),
            node("/features/features.10/Conv", "a", "b"),
            node("/layer3/layer3.1/conv1/Conv", "b", "c"),
            node("/layer3/layer3.1/relu/Relu", "c", "d"),
            node("/layer3/layer3.1/Add", "d", "e"),
            node("/layer3/layer3.1/relu_1/Relu", "e", "f"),
            node("/layer2/layer2.0/downsample/downsample.0/Conv", "f", "g")),
            Map.of(), List.of("input"), List.of("g"));

    static Node node(String name, String in, String out) {
        return new Node(name, new Layers.Identity(), List.of(in), List.of(out));
    }

    @Test
    void moduleOfFollowsTheScopePrefixes() {
        assertEquals("layer2.0.downsample.0", LayerRef.moduleOf("/layer2/layer2.0/downsample/downsample.0/Conv"));
        assertEquals("layer3.1.relu_1", LayerRef.moduleOf("/layer3/layer3.1/relu_1/Relu"));
        assertEquals("features.8", LayerRef.moduleOf("/features/features.8/Conv"));
        assertEquals("", LayerRef.moduleOf("Flatten_3"));
    }

    @Test
    void resolvesValuesNodesAndModules() {
        assertEquals("d", LayerRef.resolve(G, "d"));
        assertEquals("input", LayerRef.resolve(G, "input"));
        assertEquals("c", LayerRef.resolve(G, "/layer3/layer3.1/conv1/Conv"));
        assertEquals("f", LayerRef.resolve(G, "layer3"), "a module: the output of its last node");
        assertEquals("f", LayerRef.resolve(G, "layer3.1"));
        assertEquals("c", LayerRef.resolve(G, "layer3.1.conv1"));
        assertEquals("a", LayerRef.resolve(G, "features.1"), "features.1 is not a prefix of features.10");
        assertEquals("b", LayerRef.resolve(G, "features"));
        assertEquals("g", LayerRef.resolve(G, "layer2.0.downsample"));
    }

    @Test
    void unknownNamesListCloseCandidates() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LayerRef.resolve(G, "layer3.2"));
        assertTrue(e.getMessage().contains("'layer3.2'") && e.getMessage().contains("layer3.1"), e.getMessage());
    }
}
