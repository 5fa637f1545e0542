package dev.convlens.viz.cli;

import dev.convlens.models.Preprocess;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.viz.LayerRef;
import java.io.PrintStream;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * What {@code occlusion}, {@code top9} and {@code filters} add to {@link VizSupport}: images at a
 * chosen resize and crop, {@code --layer} names that do not resolve as usage errors (2), and
 * invalid arguments found by the library (a square larger than the image, a channel the layer
 * lacks) as input errors (3).
 */
final class CliInputs {
    private CliInputs() {}

    /** As {@link VizSupport#input}, with the image resized to {@code resize} and center-cropped to {@code crop}. */
    static Tensor input(VizSupport.Source source, int resize, int crop, PrintStream err) {
        if (source.image == null) return VizSupport.input(source, err);
        try {
            return Preprocess.imagenet(source.image, resize, crop, err);
        } catch (IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
        }
    }

    /** The graph value a {@code --layer} names (value, node or module path); a usage error when none. */
    static String layer(CommandLine cl, Graph g, String name) {
        try {
            return LayerRef.resolve(g, name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, "--layer: " + e.getMessage());
        }
    }

    /** Reports a failure of subcommand {@code cmd} on {@code err} and returns its exit code. */
    static int report(String cmd, RuntimeException e, boolean verbose, PrintStream err) {
        if (e instanceof ParameterException pe) throw pe;
        if (e instanceof Predict.Failure f) {
            err.println("convlens " + cmd + ": " + f.getMessage());
            if (verbose && f.getCause() != null) f.getCause().printStackTrace(err);
            return f.code;
        }
        if (e instanceof IllegalArgumentException) { // shapes that do not fit the model, bad channels, a square too large
            err.println("convlens " + cmd + ": " + e.getMessage());
            if (verbose) e.printStackTrace(err);
            return Main.INPUT;
        }
        err.println("convlens " + cmd + ": internal error: " + e + (verbose ? "" : " (run again with --verbose for the stack trace)"));
        if (verbose) e.printStackTrace(err);
        return Main.INTERNAL;
    }
}
