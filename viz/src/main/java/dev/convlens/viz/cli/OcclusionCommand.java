package dev.convlens.viz.cli;

import dev.convlens.models.Labels;
import dev.convlens.models.Preprocess;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.Occlusion;
import dev.convlens.viz.ReceptiveField;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens occlusion}: Zeiler and Fergus's occlusion maps (see {@link Occlusion}). */
@Command(name = "occlusion",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7): slide a grey square over the image and map, at each "
                    + "position, (a) the probability of the target class, (b) the summed activation of the layer's "
                    + "strongest feature map (strongest on the clean image), (c) the most probable class.",
            "",
            "Writes PNGs into --out: occlusion_prob.png and occlusion_prob_overlay.png, occlusion_activation.png and "
                    + "occlusion_activation_overlay.png, occlusion_label.png (with a legend). With --save, also "
                    + "occlusion_prob.npy, occlusion_activation.npy (float32) and occlusion_label.npy (int32), each (rows, cols).",
            "",
            "Examples:",
            "  convlens occlusion --model resnet18.onnx --image cat.jpg --layer layer4 --out occ/",
            "  convlens occlusion --model net.onnx --input x.npy --size 32 --stride 16 --target 281 --save occ/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class OcclusionCommand implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    VizSupport.Source source;

    @Option(names = "--target", paramLabel = "CLASS", defaultValue = "-1",
            description = "The true class whose probability is mapped (default: the top class of the clean image).")
    int target;

    @Option(names = "--layer", paramLabel = "NAME",
            description = "Layer of map (b): a value, node or module path such as layer4 (default: the last spatial layer).")
    String layer;

    @Option(names = "--size", paramLabel = "PIXELS", defaultValue = "56", description = "Side of the square (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--stride", paramLabel = "PIXELS", defaultValue = "28", description = "Step between positions (default: ${DEFAULT-VALUE}).")
    int stride;

    @Option(names = "--fill", paramLabel = "VALUE", defaultValue = "0",
            description = "Value under the square in every channel, after normalization (default: ${DEFAULT-VALUE} = the dataset mean).")
    float fill;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8", description = "Occluded copies per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "Folder for the PNGs (default: the current one).")
    Path out;

    @Option(names = "--save", paramLabel = "DIR", description = "Also write the maps as .npy into DIR.")
    Path save;

    @Option(names = "--labels", paramLabel = "FILE", description = "Class names, one per line, for the label map's legend.")
    Path labels;

    @Option(names = "--resize", paramLabel = "N", defaultValue = "" + Preprocess.RESIZE, description = "Images: shorter side (default: ${DEFAULT-VALUE}).")
    int resize;

    @Option(names = "--crop", paramLabel = "N", defaultValue = "" + Preprocess.CROP, description = "Images: center crop (default: ${DEFAULT-VALUE}).")
    int crop;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd", description = "Kernels: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    BackendName backend;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        if (size < 1 || stride < 1 || batch < 1) throw new ParameterException(spec.commandLine(), "--size, --stride and --batch must be at least 1");
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        try {
            Graph g = VizSupport.load(model, checks);
            Tensor x = checks.input(CliInputs.input(source, resize, crop, main.err), source);
            String value = layer != null ? CliInputs.layer(spec.commandLine(), g, layer) : lastSpatial(g);
            Kernels k = Backend.select(backend.name(), threads != null ? threads : Runtime.getRuntime().availableProcessors());
            long t0 = System.nanoTime();
            Occlusion.Maps m = Occlusion.run(g, k, x, target, value, new Occlusion.Config(size, stride, fill, batch));
            List<String> names = Labels.find(labels, m.classes());
            Occlusion.render(m, x, out, names);
            if (save != null) Occlusion.save(m, save);
            float min = Float.POSITIVE_INFINITY;
            int at = 0;
            for (int i = 0; i < m.prob().length; i++) if (m.prob()[i] < min) min = m.prob()[at = i];
            String t = Labels.name(names, m.target());
            main.out.printf(Locale.ROOT, "occlusion: %dx%d positions (square %d, stride %d) in %.1f s; class %d%s: p = %.4f clean, "
                            + "lowest %.4f with the square at row %d col %d; layer %s channel %d%n",
                    m.rows(), m.cols(), size, stride, (System.nanoTime() - t0) / 1e9, m.target(), t == null ? "" : " (" + t + ")",
                    m.cleanProb(), min, at / m.cols(), at % m.cols(), value, m.channel());
            return Main.OK;
        } catch (RuntimeException e) {
            return CliInputs.report("occlusion", e, verbose, main.err);
        }
    }

    /** The last value of the graph with a spatial receptive field (e.g. ResNet's layer4, AlexNet's pool5). */
    static String lastSpatial(Graph g) {
        List<String> names = new ArrayList<>(ReceptiveField.all(g).keySet());
        return names.get(names.size() - 1);
    }
}
