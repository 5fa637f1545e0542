package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The code-built networks' structure and names, loading by name, head surgery and freezing. */
class ZooTest {

    static long count(Graph g) {
        long n = 0;
        for (Tensor t : g.params.values()) n += t.size();
        return n;
    }

    /**
     * torchvision's parameter counts (sum of numel over parameters()): resnet18 11,689,512 plus
     * 9,600 BN running statistics (4,800 channels, mean and var), alexnet 61,100,840.
     */
    @Test
    void parameterCountsAndNamesAreTorchvisions() {
        Graph r = ResNet18.build(1000, 1);
        assertEquals(11_689_512L + 9_600, count(r));
        assertEquals(102, r.params.size()); // the BN-preserving export's initializer count
        List<String> names = new ArrayList<>(r.params.keySet());
        assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                "layer1.0.conv1.weight"), names.subList(0, 6));
        assertTrue(names.contains("layer2.0.downsample.0.weight") && names.contains("layer4.1.bn2.running_var"));
        assertEquals(List.of("fc.weight", "fc.bias"), names.subList(100, 102));
        assertArrayEquals(new int[] {128, 64, 1, 1}, r.params.get("layer2.0.downsample.0.weight").shape());
        assertEquals(List.of("input"), r.inputs);
        assertEquals(List.of("logits"), r.outputs);

        Graph a = AlexNet.build(1000, 1);
        assertEquals(61_100_840L, count(a));
        assertEquals(16, a.params.size());
        assertArrayEquals(new int[] {4096, 9216}, a.params.get("classifier.1.weight").shape());
        assertArrayEquals(new int[] {64, 3, 11, 11}, a.params.get("features.0.weight").shape());
    }

    /** vgg16: 138,357,544 parameters, 13 convs features.0..28 and three Linears. */
    @Test
    void vgg16HasTorchvisionsParameters() {
        Graph v = Vgg16.build(1000, 1);
        assertEquals(138_357_544L, count(v));
        assertEquals(32, v.params.size());
        assertArrayEquals(new int[] {512, 512, 3, 3}, v.params.get("features.28.weight").shape());
        assertArrayEquals(new int[] {4096, 25088}, v.params.get("classifier.0.weight").shape());
        assertArrayEquals(new int[] {1000, 4096}, v.params.get("classifier.6.weight").shape());
    }

    /** The same seed gives the same weights; the init has torchvision's scale. */
    @Test
    void initIsSeededAndScaled() {
        Graph a = ResNet18.build(10, 7), b = ResNet18.build(10, 7), c = ResNet18.build(10, 8);
        assertArrayEquals(a.params.get("layer3.1.conv2.weight").data, b.params.get("layer3.1.conv2.weight").data);
        assertTrue(a.params.get("conv1.weight").data[0] != c.params.get("conv1.weight").data[0]);
        // kaiming normal fan_out: std = sqrt(2 / (64*7*7)) = 0.0255
        float[] w = a.params.get("conv1.weight").data;
        double ss = 0;
        for (float v : w) ss += v * v;
        assertEquals(Math.sqrt(2.0 / (64 * 49)), Math.sqrt(ss / w.length), 0.002);
        // fc: U(-1/sqrt(512), 1/sqrt(512))
        for (float v : a.params.get("fc.weight").data) assertTrue(Math.abs(v) <= 1 / Math.sqrt(512));
    }

    /** A code-built ResNet runs any image size (global pool); values are named by module. */
    @Test
    void resnetRunsAndNamesValuesByModule() {
        Graph g = ResNet18.build(5, 3);
        var run = g.forward(Backend.select("reference", 1), Map.of("input", Tensor.uniform(1, -1, 1, 2, 3, 32, 32)), false);
        assertArrayEquals(new int[] {2, 5}, run.output().shape());
        assertArrayEquals(new int[] {2, 512, 1, 1}, run.value("layer4.1").shape());
        assertArrayEquals(new int[] {2, 128, 4, 4}, run.value("layer2.0.downsample.1").shape());
    }

    @Test
    void loadWeightsCopiesByNameAndRefusesMismatches() {
        Graph src = ResNet18.build(10, 1), dst = ResNet18.build(10, 2);
        Zoo.loadWeights(dst, src);
        for (String p : src.params.keySet()) {
            assertArrayEquals(src.params.get(p).data, dst.params.get(p).data, p);
            assertNotSame(src.params.get(p), dst.params.get(p), p);
        }
        Graph other = ResNet18.build(7, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Zoo.loadWeights(other, src));
        assertTrue(e.getMessage().contains("'fc.weight' has shape (7,512) in the graph but (10,512) in the source"), e.getMessage());
        Map<String, Tensor> missing = new HashMap<>(src.params);
        missing.remove("layer1.0.bn1.running_var");
        e = assertThrows(IllegalArgumentException.class, () -> Zoo.loadWeights(dst, missing));
        assertTrue(e.getMessage().contains("'layer1.0.bn1.running_var' (64) is missing"), e.getMessage());
        float before = dst.params.get("conv1.weight").data[0];
        assertEquals(before, src.params.get("conv1.weight").data[0]); // nothing copied on refusal
    }

    @Test
    void replaceLastChangesOnlyTheHead() {
        Graph g = ResNet18.build(1000, 1);
        Graph h = Heads.replaceLast(g, 3, 9);
        assertEquals(g.params.keySet(), h.params.keySet());
        for (String p : g.params.keySet()) {
            if (p.startsWith("fc.")) continue;
            assertSame(g.params.get(p), h.params.get(p), p);
        }
        assertArrayEquals(new int[] {3, 512}, h.params.get("fc.weight").shape());
        assertArrayEquals(new int[] {3}, h.params.get("fc.bias").shape());
        assertArrayEquals(new int[] {1000, 512}, g.params.get("fc.weight").shape()); // the original is untouched
        var run = h.forward(Backend.select("reference", 1), Map.of("input", Tensor.uniform(1, -1, 1, 1, 3, 32, 32)), false);
        assertArrayEquals(new int[] {1, 3}, run.output().shape());
    }

    @Test
    void replaceLastTwoOnAlexNetAndVggNames() {
        Graph a = AlexNet.build(1000, 1);
        Graph h = Heads.replaceLastTwo(a, 4, 2);
        for (String p : a.params.keySet()) {
            boolean head = p.startsWith("classifier.4.") || p.startsWith("classifier.6.");
            if (head) assertNotSame(a.params.get(p), h.params.get(p), p);
            else assertSame(a.params.get(p), h.params.get(p), p);
        }
        assertArrayEquals(new int[] {4096, 4096}, h.params.get("classifier.4.weight").shape());
        assertArrayEquals(new int[] {4, 4096}, h.params.get("classifier.6.weight").shape());
        Graph one = Heads.replaceLast(a, 4, 2);
        assertSame(a.params.get("classifier.4.weight"), one.params.get("classifier.4.weight"));
        assertArrayEquals(new int[] {4, 4096}, one.params.get("classifier.6.weight").shape());
    }

    @Test
    void freezePrefixListsTheRightNames() {
        Graph g = AlexNet.build(10, 1);
        assertEquals(10, g.freezePrefix("features."));
        assertEquals(List.of("classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias",
                "classifier.6.weight", "classifier.6.bias"), g.trainable());
        Graph h = Heads.replaceLastTwo(g, 2, 1);
        assertEquals(g.frozen, h.frozen);
        assertEquals(1, h.freezePrefix("classifier.1.w"));
        assertEquals(List.of("classifier.1.bias", "classifier.4.weight", "classifier.4.bias", "classifier.6.weight",
                "classifier.6.bias"), h.trainable());

        Graph r = ResNet18.build(10, 1);
        r.freezePrefix("");
        Graph fine = Heads.replaceLast(r, 2, 1); // frozen body, fresh trainable head
        assertEquals(List.of("fc.weight", "fc.bias"), fine.trainable());
    }
}
