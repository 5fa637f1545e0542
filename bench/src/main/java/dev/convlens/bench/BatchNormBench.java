package dev.convlens.bench;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One batch norm in training, forward ({@code trainForward}: the batch's mean and variance, then y) or
 * backward ({@code trainBackward}: the sums of dy and dy*xhat, then dx, dgamma, dbeta), on the activation
 * shape of a ResNet-18 stage at batch 16 (a training step's shapes; ResNet-18 has 20 batch norms: the
 * stem's, 4 at layer1 and 5 at each later stage). The score is time per call; each pass reads every
 * value of x two or three times, so large maps are bound by memory.
 *
 * <p>{@code relu}: {@code none}, the batch norm alone; {@code separate}, then the ReLU as its own kernel
 * ({@code reluForward} over y; backward, {@code reluBackward} into dz before the batch norm's backward), as
 * ResNet-18's batch norms before stop 25's fused kernels; {@code fused}, {@code batchNormReluTrainForward}
 * and {@code batchNormReluTrainBackward}.
 *
 * <p>Layers: {@code conv1} 64 x 112x112, {@code layer1} 64 x 56x56, {@code layer2} 128 x 28x28,
 * {@code layer3} 256 x 14x14, {@code layer4} 512 x 7x7.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class BatchNormBench {
    /** Channels and map side of each stage's batch norms. */
    static final Map<String, int[]> LAYERS = Map.of("conv1", new int[] {64, 112}, "layer1", new int[] {64, 56},
            "layer2", new int[] {128, 28}, "layer3", new int[] {256, 14}, "layer4", new int[] {512, 7});

    @Param({"conv1", "layer1", "layer2", "layer3", "layer4"})
    public String layer;

    @Param({"simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    @Param({"16"})
    public int batch;

    @Param({"none"})
    public String relu;

    private Kernels kernels;
    private int c, hw;
    private float[] x, dy, y, dz, dx, gamma, beta, mean, invStd, var, dgamma, dbeta;

    @Setup
    public void setup() {
        int[] shape = LAYERS.get(layer);
        if (shape == null) throw new IllegalArgumentException("BatchNormBench: unknown layer " + layer + "; choose one of " + LAYERS.keySet());
        c = shape[0];
        hw = shape[1] * shape[1];
        kernels = Backend.select(backend, threads);
        x = Tensor.uniform(1, -1, 3, batch, c, hw).data;
        dy = Tensor.uniform(2, -1, 1, batch, c, hw).data;
        gamma = Tensor.uniform(3, 0.5f, 1.5f, c).data;
        beta = Tensor.uniform(4, -1, 1, c).data;
        y = new float[x.length];
        dx = new float[x.length];
        dz = new float[x.length];
        mean = new float[c];
        invStd = new float[c];
        var = new float[c];
        dgamma = new float[c];
        dbeta = new float[c];
        kernels.batchNormTrainForward(batch, c, hw, 1e-5f, x, gamma, beta, y, mean, invStd, var);
    }

    @Benchmark
    public float[] trainForward() {
        switch (relu) {
            case "none" -> kernels.batchNormTrainForward(batch, c, hw, 1e-5f, x, gamma, beta, y, mean, invStd, var);
            case "separate" -> {
                kernels.batchNormTrainForward(batch, c, hw, 1e-5f, x, gamma, beta, y, mean, invStd, var);
                kernels.reluForward(y, y);
            }
            case "fused" -> kernels.batchNormReluTrainForward(batch, c, hw, 1e-5f, x, gamma, beta, y, mean, invStd, var);
            default -> throw new IllegalArgumentException("BatchNormBench: relu must be none, separate or fused, got " + relu);
        }
        return y;
    }

    @Benchmark
    public float[] trainBackward() {
        switch (relu) {
            case "none" -> kernels.batchNormTrainBackward(batch, c, hw, x, gamma, dy, mean, invStd, dx, dgamma, dbeta);
            case "separate" -> {
                kernels.reluBackward(y, dy, dz, true, false);
                kernels.batchNormTrainBackward(batch, c, hw, x, gamma, dz, mean, invStd, dx, dgamma, dbeta);
            }
            case "fused" -> kernels.batchNormReluTrainBackward(batch, c, hw, x, gamma, y, dy, mean, invStd, dx, dgamma, dbeta);
            default -> throw new IllegalArgumentException("BatchNormBench: relu must be none, separate or fused, got " + relu);
        }
        return dx;
    }
}
