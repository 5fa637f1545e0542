package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Augment;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.Idx;
import dev.convlens.nn.train.Loader;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The models convlens trained itself and ships (models/src/main/resources/dev/convlens/models/fashion/)
 * reach, on the 10,000 Fashion-MNIST test images, exactly the accuracy the README states.
 */
class ShippedModelsTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({"alexnet-small, 0.8868", "resnet-small, 0.9172"})
    void shippedModelReachesTheReadmeAccuracy(String arch, double readme) throws Exception {
        boolean present = Files.isRegularFile(Idx.FASHION_MNIST_DIR.resolve("t10k-images-idx3-ubyte.gz"));
        if (!present && "required".equals(System.getenv("CONVLENS_ORACLE"))) {
            throw new AssertionError("dataset-fashion-mnist is required in CI but " + Idx.FASHION_MNIST_DIR + " is missing");
        }
        Assumptions.assumeTrue(present, "dataset-fashion-mnist not installed; skipping");
        byte[] bytes;
        try (InputStream in = ShippedModelsTest.class.getResourceAsStream("/dev/convlens/models/fashion/" + arch + ".onnx")) {
            assertNotNull(in, arch + ".onnx is not on the classpath");
            bytes = in.readAllBytes();
        }
        Graph g = OnnxImporter.toGraph(OnnxModel.parse(Path.of(arch + ".onnx"), bytes));
        Dataset test = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false);
        Kernels k = Backend.select("simd", 2);
        int n = test.size(), correct = 0;
        // The same batches (64) and normalization as the Trainer's evaluation that produced the README number.
        try (Loader loader = new Loader(test, 64, Loader.Normalize.FASHION_MNIST, Augment.NONE, 0, 0, false)) {
            for (Loader.Batch b; (b = loader.next()) != null; ) {
                Tensor logits = g.forward(k, Map.of(g.inputs.get(0), b.x()), false).output();
                int classes = logits.size() / b.labels().length;
                for (int i = 0; i < b.labels().length; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) if (logits.data[i * classes + c] > logits.data[i * classes + best]) best = c;
                    if (best == b.labels()[i]) correct++;
                }
            }
        }
        double acc = correct / (double) n;
        System.out.printf(java.util.Locale.ROOT, "shipped %s: test accuracy %.4f on %d Fashion-MNIST test images%n", arch, acc, n);
        assertEquals(readme, acc, 5e-5, arch + ": the README states " + readme);
    }
}
