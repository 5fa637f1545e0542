package dev.convlens.models;

import static dev.convlens.tensor.testing.GradCheck.relL2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.zoo.SmallNets;
import dev.convlens.models.zoo.ResNet18;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Graph#infer}: convolution, inference batch norm, residual sum and ReLU fused into one node agree with the
 * unfused {@link Graph#forward} on ResNet-18 (batch norm with non-trivial statistics) and the small
 * AlexNet (convolution and ReLU only), values asked for stay available, and the backward to the input
 * (saliency, deconvnet, guided backprop) agrees too.
 */
class GraphInferTest {
    /** Folding reorders two roundings per layer (~6e-8 relative each) over ~20 layers; 1e-5 leaves margin. */
    static final double FORWARD_REL_L2 = 1e-5;
    /**
     * The input gradient also goes through the ReLU masks, which rounding can flip for a pre-activation
     * within ~1e-7 of 0: a handful of the ~10^5 units; 1e-4 is far below what a wrong rule or factor gives (O(1)).
     */
    static final double BACKWARD_REL_L2 = 1e-4;
    static final int SIZE = 64;

    static Graph resnet;
    static Tensor x;
    static final Kernels K = Backend.select("simd", 2);

    @BeforeAll
    static void build() {
        resnet = ResNet18.build(10, 3);
        long seed = 50;
        for (Map.Entry<String, Tensor> e : resnet.params.entrySet()) {   // statistics that are not the identity
            String name = e.getKey();
            float[] d = e.getValue().data;
            float lo, hi;
            if (name.endsWith(".running_var")) { lo = 0.5f; hi = 1.5f; }
            else if (name.endsWith(".running_mean")) { lo = -0.3f; hi = 0.3f; }
            else if (name.contains("bn") || name.contains("downsample.1")) { lo = name.endsWith(".weight") ? 0.5f : -0.3f; hi = name.endsWith(".weight") ? 1.5f : 0.3f; }
            else continue;
            float[] r = Tensor.uniform(seed++, lo, hi, d.length).data;
            System.arraycopy(r, 0, d, 0, d.length);
        }
        x = Tensor.uniform(7, -2, 2, 1, 3, SIZE, SIZE);
    }

    private static long count(Graph g, Class<?> op) {
        return g.nodes.stream().filter(n -> op.isInstance(n.op())).count();
    }

    @Test
    void resnetOutputAgreesAndEveryBatchNormIsFolded() {
        Map<String, Tensor> feeds = Map.of("input", x);
        Run full = resnet.forward(K, feeds, false), fused = resnet.infer(K, feeds);
        double rel = relL2(full.output().data, fused.output().data);
        assertTrue(rel <= FORWARD_REL_L2, "logits differ: relative L2 " + rel);
        assertEquals(0, count(fused.graph, Layers.BatchNorm.class), "every batch norm folds");
        assertEquals(20, count(fused.graph, Layers.FusedConv.class), "20 convolutions in ResNet-18");
        // conv1 + bn1 + relu and each block's conv1 + bn1 + relu fuse; each block's conv2 + bn2 + add + relu too
        // (the shortcut's conv + bn stays a node of its own: its sum is taken by conv2)
        assertEquals(17, fused.graph.nodes.stream().filter(n -> n.op() instanceof Layers.FusedConv f && f.relu()).count());
        assertEquals(8, fused.graph.nodes.stream().filter(n -> n.op() instanceof Layers.FusedConv f && f.residual()).count());
        assertEquals(0, count(fused.graph, Layers.AddOp.class));
        assertEquals(resnet.nodes.size() - 20 - 17 - 8, fused.graph.nodes.size());
        // the block outputs (ReLU after the residual sum) stay available
        rel = relL2(full.value("layer3.1").data, fused.value("layer3.1").data);
        assertTrue(rel <= FORWARD_REL_L2, "layer3.1 differs: relative L2 " + rel);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fused.value("layer2.0.bn1"));
        assertTrue(e.getMessage().contains("layer2.0.bn1"), e.getMessage());
    }

    @Test
    void keptValuesAreNotFoldedAway() {
        Map<String, Tensor> feeds = Map.of("input", x);
        Run full = resnet.forward(K, feeds, false);
        Run fused = resnet.infer(K, feeds, List.of("layer2.0.bn1", "layer1.1.conv1"));
        for (String v : List.of("layer2.0.bn1", "layer1.1.conv1", "logits")) {
            double rel = relL2(full.value(v).data, fused.value(v).data);
            assertTrue(rel <= FORWARD_REL_L2, v + " differs: relative L2 " + rel);
        }
        Node conv = fused.graph.producer("layer1.1.conv1");
        assertTrue(conv.op() instanceof Layers.Conv, "a kept convolution output is computed by the plain convolution");
        assertTrue(fused.graph.producer("layer2.0.bn1").op() instanceof Layers.FusedConv f && f.bn() != null && !f.relu(),
                "a kept batch norm output ends the fused chain before the ReLU");
    }

    @Test
    void inputGradientAgreesUnderEveryRule() {
        Map<String, Tensor> feeds = Map.of("input", x);
        Run full = resnet.forward(K, feeds, false), fused = resnet.infer(K, feeds);
        Tensor seed = Tensor.uniform(9, -1, 1, 1, 10);
        for (Relu.Rule rule : Relu.Rule.values()) {
            Tensor a = full.backward("logits", seed, rule, List.of("input")).get("input");
            Tensor b = fused.backward("logits", seed, rule, List.of("input")).get("input");
            double rel = relL2(a.data, b.data);
            assertTrue(rel <= BACKWARD_REL_L2, rule + ": input gradient differs, relative L2 " + rel);
            assertTrue(a.maxAbs() > 0, rule + ": the gradient reaches the input");
        }
    }

    @Test
    void parameterGradientsAreRefusedNotWrong() {
        Run fused = resnet.infer(K, Map.of("input", x));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fused.backward("logits", Tensor.uniform(9, -1, 1, 1, 10), Relu.Rule.GRADIENT, List.of("layer4.1.conv2.weight")));
        assertTrue(e.getMessage().contains("Graph.forward"), e.getMessage());
    }

    @Test
    void alexnetConvolutionAndReluFuse() {
        Graph g = SmallNets.alexnet(3, 32, 10, 4);
        Tensor in = Tensor.uniform(8, -2, 2, 1, 3, 32, 32);
        Map<String, Tensor> feeds = Map.of(g.inputs.get(0), in);
        Run full = g.forward(K, feeds, false), fused = g.infer(K, feeds);
        double rel = relL2(full.output().data, fused.output().data);
        assertTrue(rel <= FORWARD_REL_L2, "logits differ: relative L2 " + rel);
        assertEquals(2, count(fused.graph, Layers.FusedConv.class));
        assertFalse(fused.graph.nodes.stream().anyMatch(n -> n.op() instanceof Layers.Conv), "every convolution fuses with its ReLU");
    }
}
