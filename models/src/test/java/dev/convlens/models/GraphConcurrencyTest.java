package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.zoo.ResNet18;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 8, thread safety: one loaded ResNet-18 {@link Graph} (written to ONNX and read back) is shared
 * by {@value #THREADS} threads, each running inference on its own inputs, and every result must equal
 * bit for bit the one computed on a single thread with the same kind of kernels. Three set-ups: each
 * thread with its own {@code Backend.select("simd", 1)}, all threads sharing one SIMD instance (which
 * serializes its calls), and all threads sharing one {@link ReferenceKernels} (stateless).
 */
class GraphConcurrencyTest {
    static final int THREADS = 4, PER_THREAD = 2, SIZE = 32;

    static Graph graph;
    static List<Tensor> inputs = new ArrayList<>();

    @BeforeAll
    static void load(@TempDir Path dir) {
        Path file = dir.resolve("resnet18.onnx");
        OnnxExporter.write(ResNet18.build(10, 5), file);
        graph = OnnxImporter.load(file);
        for (int i = 0; i < THREADS * PER_THREAD; i++) inputs.add(Tensor.uniform(100 + i, -2, 2, 1, 3, SIZE, SIZE));
    }

    private static float[] infer(Kernels k, Tensor x) {
        return graph.forward(k, Map.of(graph.inputs.get(0), x), false).output().data.clone();
    }

    /** Runs every input on {@link #THREADS} threads started together; thread t takes inputs t, t+THREADS, ... */
    private static void compare(Supplier<Kernels> perThread, Kernels single) throws Exception {
        List<float[]> expected = new ArrayList<>();
        for (Tensor x : inputs) expected.add(infer(single, x));
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<float[][]>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int tt = t;
                futures.add(pool.submit(() -> {
                    Kernels k = perThread.get();
                    start.await();
                    float[][] r = new float[PER_THREAD][];
                    for (int j = 0; j < PER_THREAD; j++) r[j] = infer(k, inputs.get(tt + j * THREADS));
                    return r;
                }));
            }
            start.countDown();
            for (int t = 0; t < THREADS; t++) {
                float[][] r = futures.get(t).get(5, TimeUnit.MINUTES);
                for (int j = 0; j < PER_THREAD; j++) {
                    int i = t + j * THREADS;
                    assertArrayEquals(expected.get(i), r[j], "thread " + t + ", input " + i + " differs from the single-threaded result");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void eachThreadWithItsOwnKernels() throws Exception {
        compare(() -> Backend.select("simd", 1), Backend.select("simd", 1));
    }

    @Test
    void allThreadsSharingOneSimdInstance() throws Exception {
        Kernels shared = Backend.select("simd", 2);
        compare(() -> shared, Backend.select("simd", 2));
    }

    @Test
    void allThreadsSharingOneReferenceInstance() throws Exception {
        Kernels shared = new ReferenceKernels();
        compare(() -> shared, new ReferenceKernels());
    }
}
