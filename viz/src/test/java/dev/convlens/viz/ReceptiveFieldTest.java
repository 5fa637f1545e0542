package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.testing.Oracle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReceptiveFieldTest {
    /**
     * AlexNet as torchvision lays it out. By the arithmetic (r += (k-1) j; j *= s): conv1 k11 s4
     * gives 11 (j 4); pool1 k3 s2: 11 + 2*4 = 19 (j 8); conv2 k5: 19 + 4*8 = 51; pool2: 51 + 2*8 = 67
     * (j 16); conv3, conv4, conv5 k3: 99, 131, 163; pool5: 163 + 2*16 = 195 (j 32).
     */
    @Test
    void alexNetFieldsAreTheKnownOnes() {
        Graph g = alexNet();
        int[][] expected = {{11, 4}, {19, 8}, {51, 8}, {67, 16}, {99, 16}, {131, 16}, {163, 16}, {195, 32}};
        String[] names = {"conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5"};
        for (int i = 0; i < names.length; i++) {
            ReceptiveField.Field f = ReceptiveField.of(g, names[i]);
            assertEquals(expected[i][0], f.sizeH(), names[i] + " size");
            assertEquals(expected[i][0], f.sizeW(), names[i] + " size");
            assertEquals(expected[i][1], f.jumpH(), names[i] + " jump");
        }
        // conv1 unit 0 is centred at (11-1)/2 - 2 = 3: its box starts at 3 - 5 = -2, clamped to 0
        ReceptiveField.Field c1 = ReceptiveField.of(g, "conv1");
        assertEquals(3.0, c1.startH());
        assertEquals(new ReceptiveField.Box(0, 0, 9, 9), c1.box(0, 0, 224, 224));
        assertEquals(new ReceptiveField.Box(2, 6, 13, 17), c1.box(1, 2, 224, 224)); // centres 7 and 11
        ReceptiveField.Box b = ReceptiveField.of(g, "pool5").box(5, 5, 224, 224);
        assertTrue(b.top() >= 0 && b.bottom() <= 224 && b.height() > 0 && b.height() <= 195, b.toString());
    }

    /**
     * ResNet-18: conv1 k7 s2 gives 7 (j 2); maxpool k3 s2: 7 + 2*2 = 11 (j 4); layer1 (four 3x3
     * convs at j 4): 11 + 4*8 = 43; layer2 (first conv stride 2 at j 4, then three at j 8):
     * 43 + 8 + 3*16 = 99; layer3: 99 + 16 + 3*32 = 211; layer4: 211 + 32 + 3*64 = 435 (j 32).
     */
    @Test
    void resNet18FieldsAreTheKnownOnes() {
        Graph g = resNet18();
        String[] names = {"conv1", "maxpool", "layer1", "layer2", "layer3", "layer4"};
        int[][] expected = {{7, 2}, {11, 4}, {43, 4}, {99, 8}, {211, 16}, {435, 32}};
        for (int i = 0; i < names.length; i++) {
            ReceptiveField.Field f = ReceptiveField.of(g, names[i]);
            assertEquals(expected[i][0], f.sizeW(), names[i] + " size");
            assertEquals(expected[i][1], f.jumpW(), names[i] + " jump");
        }
        assertEquals(new ReceptiveField.Box(0, 0, 224, 224), ReceptiveField.of(g, "layer4").box(3, 3, 224, 224));
        assertThrows(IllegalArgumentException.class, () -> ReceptiveField.of(g, "pooled"));
        assertThrows(IllegalArgumentException.class, () -> ReceptiveField.of(g, "nonesuch"));
    }

    /** The same numbers read off the real torchvision export (BN folded, weights behind its own names). */
    @Test
    void torchvisionExportHasTheSameFields() {
        Graph g = OnnxImporter.load(Oracle.get().run("oracle_occlusion.py").resolve("resnet18/model.onnx"));
        assertEquals(7, ReceptiveField.of(g, "/conv1/Conv_output_0").sizeH());
        assertEquals(11, ReceptiveField.of(g, "/maxpool/MaxPool_output_0").sizeH());
        assertEquals(43, ReceptiveField.of(g, "/layer1/layer1.1/relu_1/Relu_output_0").sizeH());
        assertEquals(99, ReceptiveField.of(g, "/layer2/layer2.1/relu_1/Relu_output_0").sizeH());
        assertEquals(211, ReceptiveField.of(g, "/layer3/layer3.1/relu_1/Relu_output_0").sizeH());
        ReceptiveField.Field f = ReceptiveField.of(g, "/layer4/layer4.1/relu_1/Relu_output_0");
        assertEquals(435, f.sizeH());
        assertEquals(32, f.jumpW());
    }

    // ---------------------------------------------------------------- geometry-only graphs

    /** Builds a graph whose convolution weights are (1, 1, k, k): only their shapes matter here. */
    static final class Builder {
        final List<Node> nodes = new ArrayList<>();
        final Map<String, Tensor> params = new LinkedHashMap<>();

        String conv(String out, String in, int k, int s, int p) {
            params.put(out + ".w", Tensor.zeros(1, 1, k, k));
            nodes.add(new Node(out, new Layers.Conv(Conv2d.of(s, p)), List.of(in, out + ".w"), List.of(out)));
            return out;
        }

        String op(String out, dev.convlens.nn.Op op, String... in) {
            nodes.add(new Node(out, op, List.of(in), List.of(out)));
            return out;
        }

        String relu(String out, String in) {
            return op(out, new Layers.ReluOp(), in);
        }

        String pool(String out, String in, int k, int s, int p) {
            return op(out, new Layers.MaxPool(MaxPool2d.of(k, s, p)), in);
        }

        Graph graph(String output) {
            return new Graph(nodes, params, List.of("input"), List.of(output));
        }
    }

    static Graph alexNet() {
        Builder b = new Builder();
        String x = b.relu("relu1", b.conv("conv1", "input", 11, 4, 2));
        x = b.pool("pool1", x, 3, 2, 0);
        x = b.pool("pool2", b.relu("relu2", b.conv("conv2", x, 5, 1, 2)), 3, 2, 0);
        x = b.relu("relu3", b.conv("conv3", x, 3, 1, 1));
        x = b.relu("relu4", b.conv("conv4", x, 3, 1, 1));
        x = b.pool("pool5", b.relu("relu5", b.conv("conv5", x, 3, 1, 1)), 3, 2, 0);
        return b.graph(x);
    }

    static Graph resNet18() {
        Builder b = new Builder();
        String x = b.pool("maxpool", b.relu("relu", b.conv("conv1", "input", 7, 2, 3)), 3, 2, 1);
        for (int layer = 1; layer <= 4; layer++) {
            for (int block = 0; block < 2; block++) {
                String p = "layer" + layer + "." + block;
                int s = layer > 1 && block == 0 ? 2 : 1;
                String y = b.relu(p + ".relu", b.conv(p + ".conv1", x, 3, s, 1));
                y = b.conv(p + ".conv2", y, 3, 1, 1);
                String shortcut = s == 2 ? b.conv(p + ".downsample", x, 1, 2, 0) : x;
                y = b.op(p + ".add", new Layers.AddOp(), y, shortcut);
                x = b.relu(block == 1 ? "layer" + layer : p + ".out", y);
            }
        }
        return b.graph(b.op("pooled", new Layers.GlobalAvg(), x));
    }
}
