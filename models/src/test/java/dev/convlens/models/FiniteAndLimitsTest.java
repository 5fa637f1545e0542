package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxTensors;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 8: {@code --check-finite} (NaN/Inf in weights and inputs) and the allocation limit on tensors read from files. */
class FiniteAndLimitsTest {

    @Test
    void nanInAWeightIsFoundWithItsNameAndIndex() {
        Graph g = SmallNets.alexnet(1, 28, 10, 1);
        Finite.check(g); // a fresh net is finite
        String name = g.params.keySet().iterator().next();
        Tensor w = g.params.get(name);
        w.data[5] = Float.NaN;
        w.data[9] = Float.POSITIVE_INFINITY;
        Finite.NotFiniteException e = assertThrows(Finite.NotFiniteException.class, () -> Finite.check(g));
        assertEquals(name, e.name);
        assertEquals(5, e.index);
        assertTrue(e.getMessage().contains("'" + name + "'") && e.getMessage().contains("NaN")
                && e.getMessage().contains("flat index 5"), e.getMessage());
    }

    @Test
    void infinityInAnInputIsFoundWithItsPosition() {
        Tensor x = Tensor.zeros(1, 2, 3, 4);
        x.data[1 * 12 + 2 * 4 + 3] = Float.NEGATIVE_INFINITY;
        Finite.NotFiniteException e = assertThrows(Finite.NotFiniteException.class, () -> Finite.check("input", "x.npy", x));
        assertEquals(23, e.index);
        assertTrue(e.getMessage().contains("(0,1,2,3)") && e.getMessage().contains("-Infinity"), e.getMessage());
    }

    @Test
    void initializerAboveTheLimitIsRefusedNamingTheLimit(@TempDir Path dir) {
        Path f = dir.resolve("net.onnx");
        OnnxExporter.write(SmallNets.alexnet(1, 28, 10, 1), f);
        Graph ok = OnnxImporter.load(f);
        long largest = 0;
        for (Tensor t : ok.params.values()) largest = Math.max(largest, t.size());
        long limit = largest - 1;
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.withMaxElements(limit, () -> OnnxImporter.load(f)));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("more than " + limit + " elements")
                && e.getMessage().contains("--max-tensor-mb"), e.getMessage());
        // the limit is per call: the next load on this thread uses the default again
        assertEquals(ok.params.size(), OnnxTensors.withMaxElements(largest, () -> OnnxImporter.load(f)).params.size());
        assertEquals(OnnxTensors.DEFAULT_MAX_ELEMENTS, OnnxTensors.maxElements());
    }
}
