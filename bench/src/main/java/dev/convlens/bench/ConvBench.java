package dev.convlens.bench;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import java.util.LinkedHashMap;
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
 * One convolution pass of one ResNet-18 or AlexNet layer shape (224x224 input; batch 1 unless
 * {@code -p batch=16}, a training step's shapes) per operation, on one backend and thread count. The score is time per call; GFLOP/s = 2 * macs / time
 * ({@link ConvGeom#macs()}, the same count for all three passes), printed by {@link BenchMain}.
 *
 * <p>Layers: {@code conv1} 7x7/2 3->64 @224; {@code layerL} the 3x3 stride-1 convolution of
 * stage L; {@code layerL.0} its first, stride-2 3x3 convolution; {@code layerL.ds} the 1x1/2
 * downsample of its shortcut; {@code alexnet.convL} the L-th convolution of torchvision's AlexNet
 * (11x11/4 3->64 @224, 5x5 64->192 @27, then 3x3 192->384, 384->256, 256->256 @13).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConvBench {

    /** The distinct convolution shapes of ResNet-18 and AlexNet at batch 1, by name. */
    public static final Map<String, ConvGeom> LAYERS = new LinkedHashMap<>();

    static {
        //        name          c    hw   k    r  stride pad
        layer("conv1",          3,  224,  64,  7, 2, 3);
        layer("layer1",        64,   56,  64,  3, 1, 1);
        layer("layer2.0",      64,   56, 128,  3, 2, 1);
        layer("layer2",       128,   28, 128,  3, 1, 1);
        layer("layer2.ds",     64,   56, 128,  1, 2, 0);
        layer("layer3.0",     128,   28, 256,  3, 2, 1);
        layer("layer3",       256,   14, 256,  3, 1, 1);
        layer("layer3.ds",    128,   28, 256,  1, 2, 0);
        layer("layer4.0",     256,   14, 512,  3, 2, 1);
        layer("layer4",       512,    7, 512,  3, 1, 1);
        layer("layer4.ds",    256,   14, 512,  1, 2, 0);
        // torchvision's AlexNet (features): conv1 11x11/4, conv2 5x5 after a 3x3/2 max pool, conv3-5 3x3 at 13x13
        layer("alexnet.conv1",  3,  224,  64, 11, 4, 2);
        layer("alexnet.conv2", 64,   27, 192,  5, 1, 2);
        layer("alexnet.conv3",192,   13, 384,  3, 1, 1);
        layer("alexnet.conv4",384,   13, 256,  3, 1, 1);
        layer("alexnet.conv5",256,   13, 256,  3, 1, 1);
    }

    private static void layer(String name, int c, int hw, int k, int r, int stride, int pad) {
        LAYERS.put(name, ConvGeom.of(name, 1, c, hw, hw, k, c, r, r, stride, stride, pad, pad, pad, pad, 1, 1, 1));
    }

    @Param({"conv1", "layer1", "layer2.0", "layer2", "layer2.ds", "layer3.0", "layer3", "layer3.ds",
            "layer4.0", "layer4", "layer4.ds", "alexnet.conv1", "alexnet.conv2", "alexnet.conv3", "alexnet.conv4",
            "alexnet.conv5"})
    public String layer;

    @Param({"forward", "backwardData", "backwardWeights"})
    public String pass;

    /** opencl needs LD_PRELOAD=$JAVA_HOME/lib/libjsig.so in the environment of the JMH command (its forks inherit it). */
    @Param({"simd", "reference", "opencl"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /** Images per call: 1 (inference, saliency), 16 (the training step of NetworkBench). */
    @Param({"1"})
    public int batch;

    private Kernels kernels;
    private ConvGeom g;
    private float[] x, w, b, y, dy, dx, dw, db;   // x (1,c,h,w), w (k,c,r,s), b (k), y and dy (1,k,oh,ow)

    @Setup
    public void setup() {
        g = geometry(layer, batch);
        kernels = Backend.select(backend, threads);
        int xn = g.n() * g.c() * g.h() * g.w(), wn = g.k() * g.cg() * g.r() * g.s(), yn = g.n() * g.k() * g.oh() * g.ow();
        x = Tensor.uniform(1, -1, 1, xn).data;
        w = Tensor.uniform(2, -0.1f, 0.1f, wn).data;
        b = Tensor.uniform(3, -1, 1, g.k()).data;
        dy = Tensor.uniform(4, -1, 1, yn).data;
        y = new float[yn];
        dx = new float[xn];
        dw = new float[wn];
        db = new float[g.k()];
    }

    /** The shape of {@code layer} at {@code batch} images. */
    static ConvGeom geometry(String layer, int batch) {
        ConvGeom g = LAYERS.get(layer);
        if (g == null) throw new IllegalArgumentException("ConvBench: unknown layer " + layer + "; choose one of " + LAYERS.keySet());
        if (batch < 1) throw new IllegalArgumentException("ConvBench: batch must be >= 1, got " + batch);
        return ConvGeom.of(layer, batch, g.c(), g.h(), g.w(), g.k(), g.c(), g.r(), g.s(), g.strideH(), g.strideW(),
                g.padTop(), g.padLeft(), g.padBottom(), g.padRight(), 1, 1, 1);
    }

    @Benchmark
    public float[] conv() {
        switch (pass) {
            case "forward":
                kernels.convForward(g, x, w, b, y);
                return y;
            case "backwardData":
                kernels.convBackwardData(g, dy, w, dx);
                return dx;
            case "backwardWeights":
                kernels.convBackwardWeights(g, x, dy, dw, db);
                return dw;
            default:
                throw new IllegalArgumentException("ConvBench: unknown pass " + pass);
        }
    }
}
