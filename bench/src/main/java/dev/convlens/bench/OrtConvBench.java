package dev.convlens.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.ops.Conv2d;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The peer of {@link ConvBench}'s forward: ONNX Runtime running one Conv node of the same shape, with
 * the same weights, bias and input (ConvBench's seeds), on {@code threads} intra-op threads (sequential
 * execution, all graph optimizations: as {@link NetworkBench} sets it up). The model is written by
 * {@link OnnxExporter} into a temporary file when the trial starts (deleted once the session has read it); ONNX Runtime packs the weights
 * once then, when the session is made, so the score is the convolution alone. {@link BenchMain} puts
 * the two in one table with their ratio.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.convlens.bench.BenchMain \
 *        'ConvBench|OrtConvBench' -p backend=simd -p pass=forward -p threads=2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class OrtConvBench {

    @Param({"conv1", "layer1", "layer2.0", "layer2", "layer2.ds", "layer3.0", "layer3", "layer3.ds",
            "layer4.0", "layer4", "layer4.ds", "alexnet.conv1", "alexnet.conv2", "alexnet.conv3", "alexnet.conv4",
            "alexnet.conv5"})
    public String layer;

    @Param({"1", "2"})
    public int threads;

    @Param({"1"})
    public int batch;

    private OrtEnvironment env;
    private OrtSession session;
    private OnnxTensor x;

    @Setup
    public void setup() throws OrtException, IOException {
        ConvGeom g = ConvBench.geometry(layer, batch);
        // ConvBench's tensors: the same seeds and ranges
        Tensor x0 = Tensor.uniform(1, -1, 1, g.n(), g.c(), g.h(), g.w());
        Tensor w = Tensor.uniform(2, -0.1f, 0.1f, g.k(), g.cg(), g.r(), g.s());
        Tensor b = Tensor.uniform(3, -1, 1, g.k());
        Conv2d conv = new Conv2d(g.strideH(), g.strideW(), g.padTop(), g.padLeft(), g.padBottom(), g.padRight(),
                g.dilH(), g.dilW(), g.groups());
        Graph graph = new Graph(List.of(new Node(layer, new Layers.Conv(conv), List.of("x", "w", "b"), List.of("y"))),
                Map.of("w", w, "b", b), List.of("x"), List.of("y"));
        Path file = Files.createTempFile("convlens-" + layer + "-", ".onnx");
        env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            OnnxExporter.write(graph, file, Map.of("x", new int[] {g.n(), g.c(), g.h(), g.w()}, "y", new int[] {g.n(), g.k(), g.oh(), g.ow()}));
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(file.toString(), o);
        } finally {
            Files.deleteIfExists(file);                  // the session holds the model; and no tear-down runs after a failed setup
        }
        x = OnnxTensor.createTensor(env, FloatBuffer.wrap(x0.data), new long[] {g.n(), g.c(), g.h(), g.w()});
    }

    @TearDown
    public void close() throws OrtException {
        x.close();
        session.close();
    }

    /** The convolution; its output stays in ONNX Runtime's memory (copying it out would add to the time). */
    @Benchmark
    public int conv() throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("x", x))) {
            return r.size();
        }
    }

    /** One run's output, copied out (OrtConvBenchTest compares it with convlens's). */
    float[] output() throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("x", x))) {
            java.nio.FloatBuffer f = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] y = new float[f.remaining()];
            f.get(y);
            return y;
        }
    }
}
