package dev.convlens.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.viz.Workload;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * Whole networks at 224x224: convlens's {@link Workload}s and ONNX Runtime's forward pass on the
 * same ONNX file ({@link BenchModels}) with the same thread count, in one JMH run.
 *
 * <ul>
 *   <li>{@link #convlens}: {@code what} = forward (batch 1), saliency (batch 1: forward + gradient
 *       of the top logit to the input), train (batch 16: forward, cross-entropy, backward to every
 *       parameter, SGD step; reads {@code M_bn.onnx}) or visualize (10 steps of class
 *       visualization at 224, batch 1; AlexNet without the random rescaling, see
 *       {@link BenchModels#visualizeTransforms}); {@code batch=0} means those defaults.</li>
 *   <li>{@link #ort}: ONNX Runtime 1.20 (Java API, CPU execution provider, all graph
 *       optimizations, intra-op threads = {@code threads}, inter-op threads 1, sequential
 *       execution), forward at batch 1 only: the inference package has no gradients, so there is
 *       no ONNX Runtime column for saliency, training or visualization.</li>
 * </ul>
 * Mode: sample time, so every invocation's time is recorded and {@link NetworkMain} can report
 * the median, min and max as well as the mean. The input is the same N(0,1) noise (seed 0) for both.
 *
 * <p>The forks ask for transparent huge pages for the Java heap ({@code -XX:+UseTransparentHugePages},
 * as the {@code convlens} launcher does where the kernel's THP setting is {@code madvise}): streaming
 * the weights (AlexNet's 244 MB at batch 1, a fully connected layer's in training) is bound by memory
 * bandwidth, and 4 KB pages cost a TLB miss every 4 KB. Here a Vector API sum over 244 MB read
 * 10-12 GB/s on one thread and 13-18 on two with 4 KB pages, 15 and 18-25 with 2 MB pages; the
 * fastest AlexNet forward of four alternating forks each went 18.7-19.1 -> 16.9-17.2 ms. ONNX
 * Runtime's buffers are native memory, outside the Java heap: the flag does not reach them (nor
 * PyTorch's, in its own process).
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 2, time = 3)
@Fork(value = 3, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseTransparentHugePages"})
public class NetworkBench {
    /** Input side of the networks. */
    static final int SIZE = 224;

    /** convlens on one model, workload, backend and thread count. */
    @State(Scope.Benchmark)
    public static class Convlens {
        @Param({"resnet18", "alexnet"})
        public String model;

        @Param({"forward", "saliency", "train", "visualize"})
        public String what;

        /** 0: 16 for train, 1 otherwise. */
        @Param({"0"})
        public int batch;

        @Param({"2"})
        public int threads;

        @Param({"simd"})
        public String backend;

        Workload work;

        @Setup(Level.Trial)
        public void setup() {
            Workload.What w = Workload.What.parse(what);
            Path f = BenchModels.file(model, w);
            int n = batch > 0 ? batch : BenchModels.defaultBatch(w);
            work = Workload.of(w, BenchModels.load(f), Backend.select(backend, threads), n, 3, SIZE, SIZE, 0,
                    BenchModels.visualizeTransforms(model));
        }
    }

    /** ONNX Runtime on one model and thread count, forward at batch 1. */
    @State(Scope.Benchmark)
    public static class Ort {
        @Param({"resnet18", "alexnet"})
        public String model;

        @Param({"2"})
        public int threads;

        OrtEnvironment env;
        OrtSession session;
        OnnxTensor x;
        String input;

        @Setup(Level.Trial)
        public void setup() throws OrtException {
            Path f = BenchModels.file(model, Workload.What.FORWARD);
            env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions o = new OrtSession.SessionOptions();
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = env.createSession(f.toString(), o);
            input = session.getInputNames().iterator().next();
            float[] data = Tensor.normal(0, 1f, 1, 3, SIZE, SIZE).data;   // the same input as convlens's forward
            x = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), new long[] {1, 3, SIZE, SIZE});
        }

        @TearDown(Level.Trial)
        public void close() throws OrtException {
            x.close();
            session.close();
        }
    }

    @Benchmark
    public float convlens(Convlens s) {
        return s.work.run();
    }

    @Benchmark
    public float ort(Ort s) throws OrtException {
        try (OrtSession.Result r = s.session.run(Map.of(s.input, s.x))) {
            return ((float[][]) r.get(0).getValue())[0][0];
        }
    }
}
