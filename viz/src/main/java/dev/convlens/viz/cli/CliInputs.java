package dev.convlens.viz.cli;

import dev.convlens.models.Preprocess;
import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.viz.LayerRef;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * What the visualization subcommands share: loading a model and an input with the exit codes of
 * {@link Main} (3 input, 4 unsupported model, 2 for a layer name that does not resolve), and the
 * common error report. Failures are {@link Predict.Failure}s, as in {@code predict}.
 */
final class CliInputs {
    private CliInputs() {}

    /** The ONNX model as a graph; operators convlens lacks are listed by name (exit 4). */
    static Graph model(Path model) {
        if (!Files.isRegularFile(model)) throw new Predict.Failure(Main.INPUT, model + ": no such model file", null);
        try {
            OnnxModel m = OnnxModel.read(model);
            TreeSet<String> unknown = new TreeSet<>();
            for (NodeProto n : m.proto().getGraph().getNodeList()) {
                if (!OnnxImporter.SUPPORTED.contains(n.getOpType())) unknown.add(n.getOpType());
            }
            if (!unknown.isEmpty()) {
                throw new Predict.Failure(Main.UNSUPPORTED, model + ": unsupported operator(s) " + String.join(", ", unknown)
                        + "; convlens supports: " + String.join(", ", OnnxImporter.SUPPORTED), null);
            }
            Graph g = OnnxImporter.toGraph(m);
            if (g.inputs.size() != 1) {
                throw new Predict.Failure(Main.UNSUPPORTED, model + ": needs a model with one input; this one has "
                        + g.inputs.size() + ": " + g.inputs, null);
            }
            return g;
        } catch (OnnxException e) {
            throw new Predict.Failure(e.getMessage().contains(" is not supported") ? Main.UNSUPPORTED : Main.INPUT,
                    e.getMessage(), e);
        }
    }

    /** An image through the ImageNet preprocessing, or a prepared .npy input (1,C,H,W) or (C,H,W). */
    static Tensor input(Path image, Path npy, int resize, int crop, PrintStream err) {
        if (image != null) {
            try {
                return Preprocess.imagenet(image, resize, crop, err);
            } catch (IllegalArgumentException e) {
                throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
            }
        }
        if (!Files.isRegularFile(npy)) throw new Predict.Failure(Main.INPUT, npy + ": no such input file", null);
        Tensor x;
        try {
            x = Npy.read(npy);
        } catch (IOException | IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, npy + ": " + e.getMessage(), e);
        }
        if (x.rank() == 3) x = x.reshape(1, x.dim(0), x.dim(1), x.dim(2));
        if (x.rank() != 4 || x.dim(0) != 1) {
            throw new Predict.Failure(Main.INPUT, npy + ": shape " + Shapes.str(x.shape()) + "; expected one input (1,C,H,W) or (C,H,W)", null);
        }
        return x;
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
        if (e instanceof IllegalArgumentException) { // shapes that do not fit the model, bad channels
            err.println("convlens " + cmd + ": " + e.getMessage());
            if (verbose) e.printStackTrace(err);
            return Main.INPUT;
        }
        err.println("convlens " + cmd + ": internal error: " + e + (verbose ? "" : " (run again with --verbose for the stack trace)"));
        if (verbose) e.printStackTrace(err);
        return Main.INTERNAL;
    }
}
