package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The small networks: output shape on 28x28 grayscale, and an ONNX round trip that computes the same logits. */
class SmallNetsTest {
    @ParameterizedTest
    @ValueSource(strings = {SmallNets.ALEXNET, SmallNets.RESNET})
    void shapesAndOnnxRoundTrip(String arch, @TempDir Path dir) {
        Graph g = SmallNets.build(arch, 1, 28, 10, 7);
        Kernels k = Backend.select("reference", 1);
        Tensor x = Tensor.uniform(1, -1, 1, 2, 1, 28, 28);
        Tensor y = g.forward(k, Map.of("input", x), false).output();
        assertArrayEquals(new int[] {2, 10}, y.shape());
        Path f = dir.resolve(arch + ".onnx");
        OnnxExporter.write(g, f, Map.of("input", new int[] {-1, 1, 28, 28}));
        Tensor y2 = OnnxImporter.load(f).forward(k, Map.of("input", x), false).output();
        assertArrayEquals(y.data, y2.data);
        assertEquals(g.params.keySet(), OnnxImporter.load(f).params.keySet());
    }
}
