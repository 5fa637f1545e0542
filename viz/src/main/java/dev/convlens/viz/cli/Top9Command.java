package dev.convlens.viz.cli;

import dev.convlens.models.Preprocess;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.TopPatches;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code convlens top9}: the strongest activations of a layer's channels over an image folder (see {@link TopPatches}). */
@Command(name = "top9",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Top activations over an image folder (Zeiler & Fergus 2014, Fig. 2): for each chosen channel of --layer, the 9 "
                    + "images whose strongest unit in that channel is strongest (one per image), shown as the unit's "
                    + "receptive-field patch and, beside it, its deconvnet projection.",
            "",
            "Streams the PNG and JPEG files of --images (sorted by name) through the model; memory stays bounded by "
                    + "channels x 9 whatever the folder's size. Writes DIR/top_<channel>.png and DIR/top9.tsv "
                    + "(channel, rank, activation, file, unit row, unit col).",
            "",
            "Examples:",
            "  convlens top9 --model resnet18.onnx --images photos/ --layer layer3 --first 16 --out top/",
            "  convlens top9 --model alexnet.onnx --images val/ --layer features.10 --channels 3,7,42 --threads 4",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class Top9Command implements Callable<Integer> {
    static final class Channels {
        @Option(names = "--channels", paramLabel = "LIST", split = ",", description = "Channels to show, e.g. 0,1,2.")
        int[] list;
        @Option(names = "--first", paramLabel = "K", description = "The first K channels (default when neither is given: 16).")
        Integer first;
    }

    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--images", required = true, paramLabel = "DIR", description = "Folder of PNG and JPEG images.")
    Path images;

    @Option(names = "--layer", required = true, paramLabel = "NAME", description = "A value, node or module path such as layer3.")
    String layer;

    @ArgGroup(exclusive = true)
    Channels channels;

    @Option(names = "--keep", paramLabel = "N", defaultValue = "9", description = "Activations kept per channel (default: ${DEFAULT-VALUE}).")
    int keep;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "2", description = "Images processed at once (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--kernel-threads", paramLabel = "N", description = "Threads of the simd kernels in each forward (default: all cores).")
    Integer kernelThreads;

    @Option(names = "--no-projections", description = "Skip the deconvnet projections (one backward pass per shown patch).")
    boolean noProjections;

    @Option(names = "--scale", paramLabel = "N", defaultValue = "1", description = "Enlarge each tile N times (default: ${DEFAULT-VALUE}).")
    int scale;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "Folder for the figures (default: the current one).")
    Path out;

    @Option(names = "--resize", paramLabel = "N", defaultValue = "" + Preprocess.RESIZE, description = "Shorter side (default: ${DEFAULT-VALUE}).")
    int resize;

    @Option(names = "--crop", paramLabel = "N", defaultValue = "" + Preprocess.CROP, description = "Center crop (default: ${DEFAULT-VALUE}).")
    int crop;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd", description = "Kernels: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    BackendName backend;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        if (keep < 1 || threads < 1 || scale < 1 || resize < 1 || crop < 1 || (kernelThreads != null && kernelThreads < 1)) {
            throw new ParameterException(spec.commandLine(), "--keep, --threads, --kernel-threads, --scale, --resize and --crop must be at least 1");
        }
        if (channels != null && channels.first != null && channels.first < 1) throw new ParameterException(spec.commandLine(), "--first must be at least 1");
        try {
            if (!Files.isDirectory(images)) throw new Predict.Failure(Main.INPUT, images + ": no such folder", null);
            List<Path> files = TopPatches.images(images);
            if (files.isEmpty()) throw new Predict.Failure(Main.INPUT, images + ": no PNG or JPEG files", null);
            Graph g = VizSupport.load(model, checks);
            String value = CliInputs.layer(spec.commandLine(), g, layer);
            Kernels k = Backend.select(backend.name(), kernelThreads != null ? kernelThreads : Runtime.getRuntime().availableProcessors());
            Function<Path, Tensor> load = TopPatches.imagenet(resize, crop);
            int[] chosen = channels != null && channels.list != null ? channels.list : firstChannels(g, k, load.apply(files.get(0)), value,
                    channels != null && channels.first != null ? channels.first : 16);
            TopPatches.Result r = TopPatches.run(g, k, files, load, value, chosen, keep, threads, main.err);
            TopPatches.render(r, g, k, load, out, !noProjections, scale);
            StringBuilder tsv = new StringBuilder("channel\trank\tactivation\tfile\ty\tx\n");
            for (int i = 0; i < chosen.length; i++) {
                List<TopPatches.Hit> hits = r.top().get(i);
                for (int j = 0; j < hits.size(); j++) {
                    TopPatches.Hit h = hits.get(j);
                    tsv.append(String.format(Locale.ROOT, "%d\t%d\t%.6g\t%s\t%d\t%d%n", chosen[i], j + 1, h.activation(),
                            r.files().get(h.image()).getFileName(), h.y(), h.x()));
                }
            }
            Files.writeString(out.resolve("top9.tsv"), tsv);
            main.out.printf(Locale.ROOT, "top9: %d images, layer %s, %d channels -> %s%n", files.size(), value, chosen.length, out);
            return Main.OK;
        } catch (java.io.IOException e) {
            return CliInputs.report("top9", new Predict.Failure(Main.INPUT, out + ": cannot write: " + e.getMessage(), e), verbose, main.err);
        } catch (RuntimeException e) {
            return CliInputs.report("top9", e, verbose, main.err);
        }
    }

    /** 0 .. min(k, channels)-1, the channel count read from one forward. */
    private static int[] firstChannels(Graph g, Kernels k, Tensor x, String value, int count) {
        Tensor a = g.forward(k, Map.of(g.inputs.get(0), x), false).value(value);
        int n = Math.min(count, a.rank() == 4 ? a.dim(1) : 0);
        if (n == 0) throw new IllegalArgumentException("layer '" + value + "' is not a feature map (N,C,H,W)");
        int[] c = new int[n];
        for (int i = 0; i < n; i++) c[i] = i;
        return c;
    }
}
