package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OcclusionTest {
    /** The tolerance: the probability map agrees with PyTorch to 1e-4 in absolute value. */
    static final double PROB_ABS = 1e-4;
    /** Map (b) sums ~50 float32 activations of a deep layer: relative to its largest value, as the layer goldens are compared. */
    static final double ACT_REL = 1e-4;

    /**
     * torchvision resnet18 (seeded weights, BN folded into the export) on the CC0 photo (at 112x112
     * to keep the test quick), a 56-pixel mean square with stride 28 (3x3 overlapping positions):
     * the three maps as PyTorch computes them.
     */
    @Test
    void resnet18MapsMatchPyTorch(@TempDir Path out) throws Exception {
        Golden gold = new Golden(Oracle.get().run("oracle_occlusion.py").resolve("resnet18"));
        Graph g = OnnxImporter.load(gold.dir().resolve("model.onnx"));
        int[] geom = gold.ints("geom");
        Kernels k = Backend.select("simd", 2);
        String layer = "/layer4/layer4.1/relu_1/Relu_output_0"; // torchvision's module layer4
        Occlusion.Maps m = Occlusion.run(g, k, gold.tensor("x"), -1, layer, new Occlusion.Config(geom[0], geom[1], 0f, 8));
        assertEquals(geom[2], m.target(), "true class = top class of the clean image");
        assertEquals(geom[3], m.channel(), "strongest layer4 channel");
        Tensor prob = gold.tensor("prob");
        assertArrayEquals(prob.shape(), new int[] {m.rows(), m.cols()});
        double maxErr = 0;
        for (int i = 0; i < prob.size(); i++) maxErr = Math.max(maxErr, Math.abs(prob.data[i] - m.prob()[i]));
        assertTrue(maxErr <= PROB_ABS, "probability map max abs error " + maxErr);
        gold.assertForward("activation", Tensor.of(m.activation(), m.rows(), m.cols()), ACT_REL);
        gold.assertInts("label", gold.ints("label"), m.label());

        Occlusion.save(m, out);
        Occlusion.render(m, gold.tensor("x"), out, null);
        assertArrayEquals(prob.shape(), Npy.read(out.resolve("occlusion_prob.npy")).shape());
        assertArrayEquals(m.label(), Npy.readInts(out.resolve("occlusion_label.npy")));
        for (String f : List.of("occlusion_prob.png", "occlusion_prob_overlay.png", "occlusion_activation.png",
                "occlusion_activation_overlay.png", "occlusion_label.png")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
    }

    /**
     * A network whose logits are the channel means (global average pool): each position's
     * probability is the softmax of the means of the occluded image, computed here directly. Checks
     * the square positions, the fill, the batching (5 positions per forward over 9) and map (b).
     */
    @Test
    void positionsFillAndBatchingAreExact() {
        Graph g = new Graph(List.of(
                new Node("relu", new Layers.ReluOp(), List.of("input"), List.of("a")),
                new Node("gap", new Layers.GlobalAvg(), List.of("a"), List.of("p")),
                new Node("flat", new Layers.Flatten(1), List.of("p"), List.of("logits"))),
                Map.of(), List.of("input"), List.of("logits"));
        int h = 7, w = 8, size = 3, stride = 2;
        Tensor x = Tensor.uniform(5, -1, 2, 1, 3, h, w);
        float fill = 0.25f;
        Occlusion.Maps m = Occlusion.run(g, Backend.select("reference", 1), x, 1, "a", new Occlusion.Config(size, stride, fill, 5));
        assertEquals(3, m.rows());
        assertEquals(3, m.cols());
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double[] mean = new double[3];
                double[] sum = new double[3];
                for (int c = 0; c < 3; c++)
                    for (int y = 0; y < h; y++)
                        for (int xx = 0; xx < w; xx++) {
                            boolean in = y >= i * stride && y < i * stride + size && xx >= j * stride && xx < j * stride + size;
                            double v = Math.max(0, in ? fill : x.data[(c * h + y) * w + xx]);
                            sum[c] += v;
                            mean[c] += v / (h * w);
                        }
                double max = Math.max(mean[0], Math.max(mean[1], mean[2]));
                double z = 0;
                for (double v : mean) z += Math.exp(v - max);
                int at = i * 3 + j;
                assertEquals(Math.exp(mean[1] - max) / z, m.prob()[at], 1e-6, "prob at " + i + "," + j);
                assertEquals(sum[m.channel()], m.activation()[at], 1e-4, "activation at " + i + "," + j);
                int top = mean[0] >= mean[1] && mean[0] >= mean[2] ? 0 : mean[1] >= mean[2] ? 1 : 2;
                assertEquals(top, m.label()[at]);
            }
    }
}
