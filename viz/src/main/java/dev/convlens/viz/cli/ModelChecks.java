package dev.convlens.viz.cli;

import dev.convlens.models.Finite;
import dev.convlens.models.onnx.OnnxTensors;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import java.nio.file.Path;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The options every command that loads a model shares: {@code --check-finite} (NaN or infinity in
 * the weights or the input is an input error, exit 3, naming the tensor and the first index) and
 * {@code --max-tensor-mb} (the largest tensor accepted from the model file).
 */
final class ModelChecks {
    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "--check-finite",
            description = "Refuse a model whose weights, or an input that, hold NaN or infinity (exit 3), naming the tensor and the first index.")
    boolean checkFinite;

    Integer maxTensorMb;

    @Option(names = "--max-tensor-mb", paramLabel = "MB",
            description = "Refuse any tensor in the model file above MB MiB of float32 (default 1024, or -Dconvlens.maxTensorElements).")
    void maxTensorMb(int mb) {
        if (mb < 1) throw new ParameterException(mixee.commandLine(), "--max-tensor-mb must be at least 1, got " + mb);
        maxTensorMb = mb;
    }

    /** Runs {@code load} under the tensor limit, then checks the weights when asked. */
    Graph graph(Path model, Supplier<Graph> load) {
        Graph g = maxTensorMb == null ? load.get() : OnnxTensors.withMaxElements((long) maxTensorMb << 18, load);
        if (checkFinite) {
            try {
                Finite.check(g);
            } catch (Finite.NotFiniteException e) {
                throw new Predict.Failure(Main.INPUT, model + ": " + e.getMessage(), e);
            }
        }
        return g;
    }

    /** Checks the input when asked; {@code source} names where it came from. */
    Tensor input(Tensor x, Path source) {
        if (checkFinite) {
            try {
                Finite.check("input", String.valueOf(source), x);
            } catch (Finite.NotFiniteException e) {
                throw new Predict.Failure(Main.INPUT, source + ": " + e.getMessage(), e);
            }
        }
        return x;
    }

    /** As {@link #input(Tensor, Path)} for {@code --image | --input}. */
    Tensor input(Tensor x, VizSupport.Source s) {
        return input(x, s.image != null ? s.image : s.input);
    }
}
