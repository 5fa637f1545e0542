package dev.convlens.bench;

import dev.convlens.tensor.Tensor;
import dev.convlens.viz.am.RealDft2;
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
 * {@link RealDft2}, the Fourier image parameterization's transform (what each class-visualization
 * step does twice): {@link #inverse} is the irfft2 of the 3 colour planes of one {@code size x size}
 * image, {@link #adjoint} its transpose on the 3 planes of the image gradient. One thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Dft2Bench {
    /** The image side: 224 (ImageNet) and a power of two for comparison. */
    @Param({"224", "256"})
    public int size;

    static final int PLANES = 3;
    private RealDft2 dft;
    private float[] spectrum, image; // (3, 2, size, size/2+1), (3, size, size)

    @Setup
    public void setup() {
        dft = new RealDft2(size, size);
        spectrum = Tensor.uniform(1, -1, 1, PLANES, 2, size, dft.fw).data;
        image = Tensor.uniform(2, -1, 1, PLANES, size, size).data;
    }

    @Benchmark
    public float[] inverse() {
        int hf = size * dft.fw;
        for (int c = 0; c < PLANES; c++) dft.inverse(spectrum, 2 * c * hf, (2 * c + 1) * hf, image, c * size * size, 0.25);
        return image;
    }

    @Benchmark
    public float[] adjoint() {
        int hf = size * dft.fw;
        for (int c = 0; c < PLANES; c++) dft.adjoint(image, c * size * size, spectrum, 2 * c * hf, (2 * c + 1) * hf, 0.25);
        return spectrum;
    }
}
