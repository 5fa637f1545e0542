package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.awt.image.BufferedImage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FeatureGridsTest {
    @Test
    void firstLayerFiltersAreMinMaxScaledColourPatches() {
        Graph g = TopPatchesTest.smallNet();
        assertEquals("w1", FeatureGrids.firstConvWeight(g));
        int scale = 5, gap = 2;
        BufferedImage img = FeatureGrids.filters(g, null, 64, scale, 2);
        // 4 filters of 3x3, enlarged 5x, 2 per row, 2-pixel gaps, one caption line of 14 pixels under each row
        assertEquals(2 * 15 + 3 * gap, img.getWidth());
        assertEquals(2 * (15 + 14) + 3 * gap, img.getHeight());
        // filter 0's largest weight is white in its channel, its smallest black
        Tensor w = g.params.get("w1");
        int hi = 0, lo = 0;
        for (int i = 1; i < 27; i++) {
            if (w.data[i] > w.data[hi]) hi = i;
            if (w.data[i] < w.data[lo]) lo = i;
        }
        assertEquals(255, channel(img, hi, scale, gap));
        assertEquals(0, channel(img, lo, scale, gap));
    }

    /** The 8-bit value of filter 0's weight at flat index i (c, y, x) in the drawn grid. */
    private static int channel(BufferedImage img, int i, int scale, int gap) {
        int c = i / 9, y = (i / 3) % 3, x = i % 3;
        int rgb = img.getRGB(gap + x * scale + 2, gap + y * scale + 2);
        return (rgb >> (16 - 8 * c)) & 0xff;
    }

    @Test
    void activationAndEvolutionGrids() {
        Graph g = TopPatchesTest.smallNet();
        Kernels k = Backend.select("reference", 1);
        Tensor x = Tensor.uniform(4, -1, 1, 1, 3, 16, 16);
        BufferedImage acts = FeatureGrids.activations(g, k, x, "feat", 100, 2, 3);
        // 6 channels of 8x8 enlarged to 16, 3 per row, 2 rows
        assertEquals(3 * 16 + 4 * 2, acts.getWidth());
        assertEquals(2 * (16 + 14) + 3 * 2, acts.getHeight());

        Map<String, Tensor> p = new LinkedHashMap<>(g.params);
        p.put("w2", Tensor.uniform(99, -0.5f, 0.5f, 6, 4, 3, 3));
        Graph later = new Graph(g.nodes, p, g.inputs, g.outputs);
        BufferedImage evo = FeatureGrids.evolution(List.of(g, later), List.of("epoch 0", "epoch 9"), k, x, "feat",
                new int[] {1, 4}, 2);
        assertEquals(2 * 16 + 3 * 2, evo.getWidth());
        assertEquals(2 * (16 + 14) + 3 * 2, evo.getHeight());
        assertNotEquals(evo.getRGB(2 + 5, 2 + 5), 0); // drawn
        assertThrows(IllegalArgumentException.class, () -> FeatureGrids.evolution(List.of(g), List.of("a"), k, x, "feat",
                new int[] {6}, 1));
    }
}
