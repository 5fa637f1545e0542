package dev.convlens.models.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.convlens.models.zoo.AlexNet;
import dev.convlens.models.zoo.ResNet18;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.testing.GradCheck;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Graphs built (or trained) by convlens, written by {@link OnnxExporter}, opened by ONNX Runtime
 * (its Java API, test scope only): ONNX Runtime's logits equal convlens's for the same input.
 */
class OnnxRuntimeRoundTripTest {
    /** The forward tolerance: max abs error <= FWD * max|ref|. */
    static final double FWD = 1e-4;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"resnet18", "alexnet", "alexnet-small", "resnet-small"})
    void onnxRuntimeGivesTheSameLogits(String arch, @TempDir Path tmp) throws Exception {
        Graph g = switch (arch) {
            case "resnet18" -> ResNet18.build(10, 1);
            case "alexnet" -> AlexNet.build(10, 1);
            default -> SmallNets.build(arch, 1, 28, 10, 1);
        };
        int[] shape = arch.contains("small") ? new int[] {2, 1, 28, 28} : new int[] {2, 3, 224, 224};
        Tensor x = Tensor.uniform(7, -2, 2, shape);
        Kernels k = Backend.select("simd", 2);
        Tensor ours = g.forward(k, Map.of(g.inputs.get(0), x), false).output();

        Path file = tmp.resolve(arch + ".onnx");
        OnnxExporter.write(g, file);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession s = env.createSession(file.toString(), opts);
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data), toLong(shape));
                 OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), in))) {
                OnnxTensor out = (OnnxTensor) r.get(0);
                assertArrayEquals(new long[] {2, 10}, out.getInfo().getShape(), "ONNX Runtime output shape");
                float[] theirs = new float[20];
                out.getFloatBuffer().get(theirs);
                double err = GradCheck.maxAbsRel(theirs, ours.data);
                assertTrue(err <= FWD, arch + ": ONNX Runtime vs convlens max abs error " + err + " x max|ref| > " + FWD);
            }
        }
    }

    private static long[] toLong(int[] s) {
        long[] l = new long[s.length];
        for (int i = 0; i < s.length; i++) l[i] = s[i];
        return l;
    }
}
