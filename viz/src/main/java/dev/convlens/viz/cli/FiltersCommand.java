package dev.convlens.viz.cli;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.viz.FeatureGrids;
import dev.convlens.viz.image.Images;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens filters}: a convolution's filters as colour patches, and optionally an image's feature maps (see {@link FeatureGrids}). */
@Command(name = "filters",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "A convolution's filters as patches (Zeiler & Fergus 2014, Fig. 5/6): each filter min-max scaled on its own, "
                    + "RGB for 3 input channels, grey otherwise. Writes DIR/filters.png.",
            "With --image, also the feature maps of --layer for that image, one heatmap per channel: DIR/activations.png.",
            "",
            "Examples:",
            "  convlens filters --model resnet18.onnx --out f/",
            "  convlens filters --model alexnet.onnx --layer features.3 --image cat.jpg --out f/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class FiltersCommand implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--layer", paramLabel = "NAME",
            description = "A convolution (its node, output, module path or weight name; default: the first convolution).")
    String layer;

    @Option(names = "--image", paramLabel = "FILE", description = "Also draw this image's feature maps of --layer.")
    Path image;

    @Option(names = "--max", paramLabel = "N", defaultValue = "64", description = "At most N filters or maps (default: ${DEFAULT-VALUE}).")
    int max;

    @Option(names = "--scale", paramLabel = "N", defaultValue = "6", description = "Enlarge each filter N times (default: ${DEFAULT-VALUE}).")
    int scale;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "Folder for the PNGs (default: the current one).")
    Path out;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        if (max < 1 || scale < 1) throw new ParameterException(spec.commandLine(), "--max and --scale must be at least 1");
        try {
            Graph g = VizSupport.load(model, checks);
            String weight = FeatureGrids.firstConvWeight(g);
            String output = null;
            if (layer != null) {
                String v = CliInputs.layer(spec.commandLine(), g, layer);
                weight = null;
                for (Node n : g.nodes) {
                    if (n.op() instanceof Layers.Conv && (n.outputs().get(0).equals(v) || n.inputs().get(1).equals(v))) {
                        weight = n.inputs().get(1);
                        output = n.outputs().get(0);
                    }
                }
                if (weight == null) throw new ParameterException(spec.commandLine(), "--layer: '" + layer + "' (" + v + ") is not a convolution");
            } else {
                for (Node n : g.nodes) if (n.op() instanceof Layers.Conv && output == null) output = n.outputs().get(0);
            }
            int cols = (int) Math.ceil(Math.sqrt(max));
            Images.writePng(FeatureGrids.filters(g, weight, max, scale, cols), out.resolve("filters.png"));
            if (image != null) {
                VizSupport.Source src = new VizSupport.Source();
                src.image = image;
                Tensor x = checks.input(VizSupport.input(src, main.err), src);
                Images.writePng(FeatureGrids.activations(g, Backend.auto(), x, output, max, 1, cols), out.resolve("activations.png"));
            }
            main.out.println("filters: " + weight + " -> " + out.resolve("filters.png"));
            return Main.OK;
        } catch (RuntimeException e) {
            return CliInputs.report("filters", e, verbose, main.err);
        }
    }
}
