package dev.convlens.bench;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.viz.Workload;
import dev.convlens.viz.am.Robustness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Where the whole-network benchmarks find their ONNX files: the folder {@code -Dconvlens.models=DIR}
 * (default {@code bench/target/models}, or {@code target/models} when run from inside {@code bench}),
 * written by {@code bench/export-models.sh}. Nothing is downloaded.
 *
 * <p>{@code M.onnx} is torchvision's eval export (BatchNorm folded into the convolutions): forward,
 * saliency and visualize run it, as does ONNX Runtime. The training step runs {@code M_bn.onnx}
 * (BatchNorm kept, so it trains with batch statistics as PyTorch does) when it exists.
 */
public final class BenchModels {
    private BenchModels() {}

    /** The models folder, checked to exist. */
    public static Path dir() {
        String prop = System.getProperty("convlens.models");
        Path d;
        if (prop != null) {
            d = Paths.get(prop);
        } else {
            d = Paths.get("bench", "target", "models");
            if (!Files.isDirectory(d) && Files.isDirectory(Paths.get("target", "models"))) d = Paths.get("target", "models");
        }
        if (!Files.isDirectory(d)) {
            throw new IllegalStateException("convlens bench: no models folder " + d.toAbsolutePath() + "; run bench/export-models.sh "
                    + "(writes bench/target/models with /usr/bin/python3 and torchvision) or give -Dconvlens.models=DIR");
        }
        return d;
    }

    /** The ONNX file for {@code model} ("resnet18", "alexnet") and {@code what}, checked to exist. */
    public static Path file(String model, Workload.What what) {
        Path d = dir();
        if (what == Workload.What.TRAIN) {
            Path bn = d.resolve(model + "_bn.onnx");
            if (Files.isRegularFile(bn)) return bn;
        }
        Path f = d.resolve(model + ".onnx");
        if (!Files.isRegularFile(f)) {
            throw new IllegalStateException("convlens bench: " + f.toAbsolutePath() + " not found; run bench/export-models.sh "
                    + "(or give -Dconvlens.models=DIR holding " + model + ".onnx)");
        }
        return f;
    }

    /** The batch the issue times {@code what} at: 16 for a training step, 1 otherwise. */
    public static int defaultBatch(Workload.What what) {
        return what == Workload.What.TRAIN ? 16 : 1;
    }

    /**
     * The random transforms of {@code visualize} for {@code model}: Lucid's for ResNet-18;
     * {@link Workload#FIXED_SCALE} (no rescaling: 236x236 every step) for AlexNet, whose export
     * turns the adaptive 6x6 pooling into a fixed 1x1 pooling, so its classifier takes only inputs
     * of about 223 to 238 pixels. torch_bench.py does the same.
     */
    public static Robustness visualizeTransforms(String model) {
        return model.startsWith("alexnet") ? Workload.FIXED_SCALE : Robustness.LUCID;
    }

    /** The graph of {@code file}. */
    public static Graph load(Path file) {
        return OnnxImporter.load(file);
    }
}
