package dev.convlens.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The FP32 fused-multiply-add peak reachable from the Vector API: {@link #CHAINS} independent
 * accumulator chains of 512-bit {@code fma}, enough to cover the FMA latency on every port.
 * Scores are FLOP/s (one fma = 2 FLOPs per lane), for 1 and 2 threads; divide by the thread
 * count for the peak per core that {@link BenchMain} compares the convolutions with.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PeakBench {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    /** Lanes of a 512-bit float vector. */
    static final int LANES = 16;
    /** Independent accumulator chains: 2 FMA ports x 4-5 cycles latency, with margin. */
    static final int CHAINS = 12;
    /** Loop trips per call. */
    static final int ITER = 4096;
    /** FLOPs per call. */
    static final int FLOPS = ITER * CHAINS * LANES * 2;

    private final float[] seed = new float[CHAINS * LANES + 2 * LANES];   // (CHAINS + 2, LANES)

    @Setup
    public void setup() {
        if (FloatVector.SPECIES_PREFERRED.vectorBitSize() < 512)
            throw new IllegalStateException("PeakBench measures 512-bit FMA; this CPU prefers "
                    + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors");
        for (int i = 0; i < seed.length; i++) seed[i] = 0.5f + i * 1e-4f;
        for (int i = 0; i < LANES; i++) seed[CHAINS * LANES + i] = 0.999f;   // multiplier: values stay bounded
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(FLOPS)
    public float fma1Thread() {
        return chains();
    }

    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(FLOPS)
    public float fma2Threads() {
        return chains();
    }

    /** CHAINS independent chains c = c * m + a, ITER times. */
    private float chains() {
        FloatVector m = FloatVector.fromArray(S, seed, CHAINS * LANES);
        FloatVector a = FloatVector.fromArray(S, seed, CHAINS * LANES + LANES);
        FloatVector c0 = FloatVector.fromArray(S, seed, 0), c1 = FloatVector.fromArray(S, seed, 16);
        FloatVector c2 = FloatVector.fromArray(S, seed, 32), c3 = FloatVector.fromArray(S, seed, 48);
        FloatVector c4 = FloatVector.fromArray(S, seed, 64), c5 = FloatVector.fromArray(S, seed, 80);
        FloatVector c6 = FloatVector.fromArray(S, seed, 96), c7 = FloatVector.fromArray(S, seed, 112);
        FloatVector c8 = FloatVector.fromArray(S, seed, 128), c9 = FloatVector.fromArray(S, seed, 144);
        FloatVector c10 = FloatVector.fromArray(S, seed, 160), c11 = FloatVector.fromArray(S, seed, 176);
        for (int i = 0; i < ITER; i++) {
            c0 = c0.fma(m, a);
            c1 = c1.fma(m, a);
            c2 = c2.fma(m, a);
            c3 = c3.fma(m, a);
            c4 = c4.fma(m, a);
            c5 = c5.fma(m, a);
            c6 = c6.fma(m, a);
            c7 = c7.fma(m, a);
            c8 = c8.fma(m, a);
            c9 = c9.fma(m, a);
            c10 = c10.fma(m, a);
            c11 = c11.fma(m, a);
        }
        FloatVector sum = c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11);
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
