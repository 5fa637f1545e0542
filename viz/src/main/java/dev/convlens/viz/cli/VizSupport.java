package dev.convlens.viz.cli;

import dev.convlens.models.Preprocess;
import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** What the visualization subcommands share: the model, the input and the way failures become exit codes. */
final class VizSupport {
    private VizSupport() {}

    /** {@code --image FILE | --input FILE.npy}, exactly one. */
    static final class Source {
        @Option(names = "--image", paramLabel = "FILE", description = "Image (PNG or JPEG), prepared as torchvision's ImageNet models expect.")
        Path image;
        @Option(names = "--input", paramLabel = "FILE.npy", description = "Prepared input instead: float32 (1,C,H,W) or (C,H,W), already normalized.")
        Path input;
    }

    /** The ONNX model; missing or malformed files are input errors (3), unsupported operators exit 4. */
    static Graph load(Path model) {
        return load(model, null);
    }

    /** As {@link #load(Path)}, under {@code --max-tensor-mb} and with {@code --check-finite} when {@code checks} says so. */
    static Graph load(Path model, ModelChecks checks) {
        if (!Files.isRegularFile(model)) throw new Predict.Failure(Main.INPUT, model + ": no such model file", null);
        Graph g;
        try {
            g = checks == null ? OnnxImporter.load(model) : checks.graph(model, () -> OnnxImporter.load(model));
        } catch (OnnxException e) {
            throw new Predict.Failure(e.getMessage().contains(" is not supported") || e.getMessage().contains("unsupported")
                    ? Main.UNSUPPORTED : Main.INPUT, e.getMessage(), e);
        }
        if (g.inputs.size() != 1) {
            throw new Predict.Failure(Main.UNSUPPORTED, model + ": needs a model with one input; this one has " + g.inputs, null);
        }
        return g;
    }

    /** One input (1,C,H,W) from an image (ImageNet preprocessing) or a .npy file. */
    static Tensor input(Source source, PrintStream err) {
        if (source.image != null) {
            try {
                return Preprocess.imagenet(source.image, Preprocess.RESIZE, Preprocess.CROP, err);
            } catch (IllegalArgumentException e) {
                throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
            }
        }
        Path f = source.input;
        if (!Files.isRegularFile(f)) throw new Predict.Failure(Main.INPUT, f + ": no such input file", null);
        Tensor x;
        try {
            x = Npy.read(f);
        } catch (IOException | IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, f + ": " + e.getMessage(), e);
        }
        if (x.rank() == 3) x = x.reshape(1, x.dim(0), x.dim(1), x.dim(2));
        if (x.rank() != 4 || x.dim(0) != 1) {
            throw new Predict.Failure(Main.INPUT, f + ": shape " + Shapes.str(x.shape()) + "; expected one input (1,C,H,W) or (C,H,W)", null);
        }
        return x;
    }

    /** Writes {@code t} to {@code dir/name}, creating {@code dir}. */
    static void save(Path dir, String name, Tensor t) {
        Path f = dir.resolve(name);
        try {
            Files.createDirectories(dir);
            Npy.write(f, t);
        } catch (IOException e) {
            throw new Predict.Failure(Main.INPUT, f + ": cannot write: " + e, e);
        }
    }

    /** Runs {@code body}, turning failures into exit codes and messages prefixed with {@code "convlens " + command}. */
    static int guard(String command, PrintStream err, boolean verbose, Runnable body) {
        try {
            body.run();
            return Main.OK;
        } catch (Predict.Failure e) {
            err.println("convlens " + command + ": " + e.getMessage());
            if (verbose && e.getCause() != null) e.getCause().printStackTrace(err);
            return e.code;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            err.println("convlens " + command + ": internal error: " + e + (verbose ? "" : " (run again with --verbose for the stack trace)"));
            if (verbose) e.printStackTrace(err);
            return Main.INTERNAL;
        }
    }
}
