package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.am.ActivationMaximization;
import dev.convlens.viz.am.FourierParam;
import dev.convlens.viz.am.ImageParam;
import dev.convlens.viz.am.Objective;
import dev.convlens.viz.am.Optimizer;
import dev.convlens.viz.am.PixelParam;
import dev.convlens.viz.am.Robustness;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens visualize}: gradient-ascent activation maximization ({@link ActivationMaximization})
 * of a class logit, a channel or a unit, with Lucid's defaults, writing a PNG.
 */
@Command(name = "visualize",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Activation maximization: the image that most excites a class logit, a channel or one unit, by "
                    + "gradient ascent with Lucid's defaults (512 Adam steps at lr 0.05; each step pad 12, jitter 8, "
                    + "scale 0.9-1.1, rotate +-10 degrees, jitter 4; a decorrelated 1/f Fourier image through a sigmoid).",
            "",
            "Layers are named by ONNX node name or value name (e.g. '/layer4/layer4.1/relu_1/Relu').",
            "Progress (step, objective, ms/step) goes to stderr; the PNG's path to stdout. A batch (--batch) "
                    + "is written as one grid; --diversity pushes its images apart (Lucid's diversity at --layer).",
            "",
            "Examples:",
            "  convlens visualize --model resnet18.onnx --objective class --target 281 --out am/",
            "  convlens visualize --model resnet18.onnx --objective channel --layer /layer3/layer3.1/relu_1/Relu "
                    + "--channel 7 --batch 4 --diversity 100 --out am/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class VisualizeCommand implements Callable<Integer> {
    enum Kind { CLASS, CHANNEL, NEURON }

    enum Param { PIXEL, FOURIER }

    enum Opt { ADAM, SGD }


    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model; its input expects ImageNet-normalized images.")
    Path model;
    @Option(names = "--objective", paramLabel = "KIND", defaultValue = "class", converter = KindConverter.class,
            description = "class, channel or neuron (default: ${DEFAULT-VALUE}).")
    Kind objective;
    @Option(names = "--target", paramLabel = "K", description = "The class for --objective class.")
    Integer target;
    @Option(names = "--layer", paramLabel = "NAME", description = "The layer for channel, neuron and diversity.")
    String layer;
    @Option(names = "--channel", paramLabel = "C", description = "The channel for channel and neuron.")
    Integer channel;
    @Option(names = "--unit", paramLabel = "Y,X", split = ",", description = "The unit's position for neuron.")
    int[] unit;
    @Option(names = "--param", paramLabel = "P", defaultValue = "fourier", converter = ParamConverter.class,
            description = "Image parameterization: pixel or fourier (default: ${DEFAULT-VALUE}).")
    Param param;
    @Option(names = "--steps", defaultValue = "512", description = "Optimization steps (default: ${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--lr", defaultValue = "0.05", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--optimizer", defaultValue = "adam", converter = OptConverter.class, description = "adam or sgd (default: ${DEFAULT-VALUE}).")
    Opt optimizer;
    @Option(names = "--size", defaultValue = "224", description = "Image size in pixels, square (default: ${DEFAULT-VALUE}).")
    int size;
    @Option(names = "--batch", defaultValue = "1", description = "Images optimized together (default: ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--diversity", paramLabel = "W", defaultValue = "0", description = "Weight of the diversity term at --layer (default: ${DEFAULT-VALUE}).")
    double diversity;
    @Option(names = "--l2", defaultValue = "0", description = "L2 decay weight (default: ${DEFAULT-VALUE}).")
    double l2;
    @Option(names = "--tv", defaultValue = "0", description = "Total-variation weight (default: ${DEFAULT-VALUE}).")
    double tv;
    @Option(names = "--blur-every", paramLabel = "K", defaultValue = "0", description = "Blur the image every K steps (default: never).")
    int blurEvery;
    @Option(names = "--blur-sigma", defaultValue = "0.5", description = "The blur's sigma in pixels (default: ${DEFAULT-VALUE}).")
    double blurSigma;
    @Option(names = "--no-transforms", description = "No random pad/jitter/scale/rotate.")
    boolean noTransforms;
    @Option(names = "--seed", defaultValue = "0", description = "Seeds the start and the transforms (default: ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--progress", paramLabel = "N", defaultValue = "16", description = "A progress line every N steps, 0 for none (default: ${DEFAULT-VALUE}).")
    int progress;
    @Option(names = "--out", paramLabel = "DIR", defaultValue = ".", description = "Where the PNG goes (default: the current folder).")
    Path out;
    @Option(names = "--save", paramLabel = "DIR", description = "Also write image.npy and param.npy there.")
    Path save;
    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd", description = "Kernels: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    BackendName backend;
    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;
    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        List<Objective> terms = objectives();
        if (steps < 1 || size < 8 || batch < 1 || !(lr > 0) || progress < 0 || blurEvery < 0 || (threads != null && threads < 1))
            throw usage("--steps, --batch and --threads must be at least 1, --size at least 8, --lr above 0");
        PrintStream err = main.err;
        try {
            Graph g = load();
            Kernels k = Backend.select(backend.name(), threads != null ? threads : Runtime.getRuntime().availableProcessors());
            ActivationMaximization am;
            try {
                am = new ActivationMaximization(g, k, terms);
            } catch (IllegalArgumentException e) {
                err.println("convlens visualize: " + e.getMessage());
                return Main.USAGE;
            }
            ImageParam p = param == Param.PIXEL ? PixelParam.random(seed, batch, size, size, 0.01, false, true)
                    : FourierParam.random(seed, batch, size, size, 0.01);
            Optimizer opt = optimizer == Opt.ADAM ? new Optimizer.Adam(lr) : new Optimizer.Sgd(lr);
            ActivationMaximization.Settings s = new ActivationMaximization.Settings(steps,
                    noTransforms ? Robustness.NONE : Robustness.LUCID, l2, tv, blurEvery, blurSigma, progress, seed);
            ActivationMaximization.Result r;
            try {
                r = am.run(p, opt, s, err);
            } catch (IllegalArgumentException e) {
                err.println("convlens visualize: " + e.getMessage());
                return Main.INPUT;
            }
            Path png = out.resolve(fileName());
            ActivationMaximization.writePng(r.image(), png);
            if (save != null) ActivationMaximization.save(r.image(), p, save);
            main.out.println(png);
            return Main.OK;
        } catch (Predict.Failure e) {
            err.println("convlens visualize: " + e.getMessage());
            if (verbose && e.getCause() != null) e.getCause().printStackTrace(err);
            return e.code;
        } catch (UncheckedIOException e) {
            err.println("convlens visualize: " + e.getMessage());
            return Main.INPUT;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            err.println("convlens visualize: internal error: " + e + (verbose ? "" : " (run again with --verbose for the stack trace)"));
            if (verbose) e.printStackTrace(err);
            return Main.INTERNAL;
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private List<Objective> objectives() {
        List<Objective> t = new ArrayList<>();
        switch (objective) {
            case CLASS -> {
                if (target == null) throw usage("--objective class needs --target K");
                t.add(new Objective.ClassLogit(target, 1));
            }
            case CHANNEL -> {
                if (layer == null || channel == null) throw usage("--objective channel needs --layer and --channel");
                t.add(new Objective.Channel(layer, channel, 1));
            }
            case NEURON -> {
                if (layer == null || channel == null || unit == null || unit.length != 2)
                    throw usage("--objective neuron needs --layer, --channel and --unit Y,X");
                t.add(new Objective.Neuron(layer, channel, unit[0], unit[1], 1));
            }
        }
        if (diversity != 0) {
            if (layer == null) throw usage("--diversity needs --layer (the layer whose Gram matrices are compared)");
            t.add(new Objective.Diversity(layer, diversity));
        }
        return t;
    }

    private Graph load() {
        if (!Files.isRegularFile(model)) throw new Predict.Failure(Main.INPUT, model + ": no such model file", null);
        try {
            return checks.graph(model, () -> OnnxImporter.load(model));
        } catch (OnnxException e) {
            throw new Predict.Failure(e.getMessage().contains("not supported") ? Main.UNSUPPORTED : Main.INPUT, e.getMessage(), e);
        }
    }

    /** e.g. class-281.png, channel-layer3.1.relu-7.png, neuron-conv-2-3x4.png. */
    private String fileName() {
        String l = layer == null ? "" : layer.replaceAll("[^A-Za-z0-9._-]+", "_").replaceAll("^_+|_+$", "");
        return switch (objective) {
            case CLASS -> "class-" + target;
            case CHANNEL -> "channel-" + l + "-" + channel;
            case NEURON -> String.format(Locale.ROOT, "neuron-%s-%d-%dx%d", l, channel, unit[0], unit[1]);
        } + ".png";
    }

    static final class KindConverter implements picocli.CommandLine.ITypeConverter<Kind> {
        public Kind convert(String v) { return Kind.valueOf(v.toUpperCase(Locale.ROOT)); }
    }

    static final class ParamConverter implements picocli.CommandLine.ITypeConverter<Param> {
        public Param convert(String v) { return Param.valueOf(v.toUpperCase(Locale.ROOT)); }
    }

    static final class OptConverter implements picocli.CommandLine.ITypeConverter<Opt> {
        public Opt convert(String v) { return Opt.valueOf(v.toUpperCase(Locale.ROOT)); }
    }
}
