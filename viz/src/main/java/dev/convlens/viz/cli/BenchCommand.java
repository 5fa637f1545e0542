package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.models.onnx.proto.Onnx.TensorShapeProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.Workload;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
 * {@code convlens bench}: a quick timing of one {@link Workload} on the user's own ONNX model.
 * Warm-up runs first (the JIT compiles the kernels), then {@code --iterations} timed runs, each
 * measured with {@link System#nanoTime}; the median, min and max go to stdout, as one JSON object
 * with {@code --json}.
 */
@Command(name = "bench",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Time a forward pass, a saliency map, a training step or class visualization on an ONNX model.",
            "",
            "Workloads (--what):",
            "  forward    one inference forward pass of a batch",
            "  saliency   forward, then the gradient of each image's top logit to the input (no weight gradients)",
            "  train      one training step: forward in training mode, cross-entropy against fixed random labels,",
            "             backward to every parameter, SGD (lr 0.01, momentum 0.9); the model's weights change",
            "  visualize  " + Workload.VISUALIZE_STEPS + " steps of class visualization (convlens visualize's defaults:",
            "             Fourier image, Lucid's transforms, Adam); RGB ImageNet-normalized models only",
            "",
            "The input is random N(0,1) noise of the model's declared input shape (batch replaced by --batch); "
                    + "use --shape C,H,W when the model declares no spatial size. Warm-up runs are not timed. "
                    + "Times are wall-clock milliseconds per run; on a busy machine take the min as the best case.",
            "peak_heap_mb (with --json) is the largest heap in use during the timed runs, summed over the heap "
                    + "pools: an upper bound that includes garbage the collector had not reclaimed yet.",
            "",
            "Examples:",
            "  convlens bench --model resnet18.onnx --what forward",
            "  convlens bench --model resnet18.onnx --what saliency --threads 2 --iterations 20 --json",
            "  convlens bench --model resnet18_bn.onnx --what train --batch 16 --threads 2 --json",
            "  convlens bench --model net.onnx --shape 3,224,224 --backend reference --iterations 3",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class BenchCommand implements Callable<Integer> {

    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--what", paramLabel = "WORK", defaultValue = "forward",
            description = "forward, saliency, train or visualize (default: ${DEFAULT-VALUE}).")
    String what;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "1", description = "Images per run (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--threads", paramLabel = "T", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--iterations", paramLabel = "K", defaultValue = "10", description = "Timed runs (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "3", description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd",
            description = "Kernels: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}; simd falls back to reference "
                    + "with a warning when jdk.incubator.vector is missing).")
    BackendName backend;

    @Option(names = "--shape", paramLabel = "C,H,W",
            description = "Input shape of one image, instead of the model's declared input shape.")
    String shapeText;

    /** --shape parsed, or null. */
    private int[] shape;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seeds the input and the labels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object: {\"what\":..,\"median_ms\":..,\"min_ms\":..,\"max_ms\":..,"
            + "\"threads\":..,\"backend\":..,...}.")
    boolean json;

    @Option(names = "--verbose", description = "Print each run's time to stderr, and stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    @Override
    public Integer call() {
        Workload.What w;
        try {
            w = Workload.What.parse(what);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--what must be forward, saliency, train or visualize, got '" + what + "'");
        }
        if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        if (iterations < 1) throw new ParameterException(spec.commandLine(), "--iterations must be at least 1, got " + iterations);
        if (warmup < 0) throw new ParameterException(spec.commandLine(), "--warmup must be at least 0, got " + warmup);
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        if (shapeText != null) {
            try {
                shape = Arrays.stream(shapeText.split(",", -1)).mapToInt(d -> Integer.parseInt(d.trim())).toArray();
            } catch (NumberFormatException e) {
                shape = new int[0];
            }
            if (shape.length != 3 || Arrays.stream(shape).anyMatch(d -> d < 1))
                throw new ParameterException(spec.commandLine(), "--shape must be three positive numbers C,H,W, got '" + shapeText + "'");
        }
        return VizSupport.guard("bench", main.err, verbose, () -> bench(w));
    }

    private void bench(Workload.What w) {
        OnnxModel m = read();
        int[] chw = shape != null ? shape : declaredShape(m);
        Graph g;
        try {
            g = checks.graph(model, () -> OnnxImporter.toGraph(m));
        } catch (OnnxException e) {
            throw new Predict.Failure(e.getMessage().contains(" is not supported") || e.getMessage().contains("unsupported")
                    ? Main.UNSUPPORTED : Main.INPUT, e.getMessage(), e);
        }
        if (g.inputs.size() != 1) {
            throw new Predict.Failure(Main.UNSUPPORTED, model + ": bench needs a model with one input; this one has " + g.inputs, null);
        }
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Kernels k = Backend.select(backend.name(), t);
        String backendUsed = k.name().contains("(") ? k.name().substring(0, k.name().indexOf('(')) : k.name();
        int threadsUsed = backendUsed.equals("simd") ? t : 1;

        Workload work;
        try {
            work = Workload.of(w, g, k, batch, chw[0], chw[1], chw[2], seed);
        } catch (IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, model + ": " + w.id() + " with input (" + batch + "," + chw[0] + "," + chw[1]
                    + "," + chw[2] + ") failed: " + e.getMessage() + (shape == null ? " (try --shape C,H,W)" : ""), e);
        }
        for (int i = 0; i < warmup; i++) once(work, "warm-up " + (i + 1));
        System.gc();
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && p.isValid()).toList();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        double[] ms = new double[iterations];
        for (int i = 0; i < iterations; i++) ms[i] = once(work, "run " + (i + 1));
        long peak = 0;
        for (MemoryPoolMXBean p : heap) peak += p.getPeakUsage().getUsed();
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = iterations % 2 == 1 ? sorted[iterations / 2] : (sorted[iterations / 2 - 1] + sorted[iterations / 2]) / 2;
        double imagesPerS = batch / (median / 1e3);
        if (json) {
            main.out.println(String.format(Locale.ROOT, "{\"what\":%s,\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,"
                            + "\"threads\":%d,\"backend\":%s,\"model\":%s,\"batch\":%d,\"input\":[%d,%d,%d,%d],\"iterations\":%d,"
                            + "\"warmup\":%d,\"images_per_s\":%.3f,\"peak_heap_mb\":%.1f,\"times_ms\":%s}",
                    Predict.quote(w.id()), median, sorted[0], sorted[iterations - 1], threadsUsed, Predict.quote(backendUsed),
                    Predict.quote(model.toString()), batch, batch, chw[0], chw[1], chw[2], iterations, warmup, imagesPerS,
                    peak / 1048576.0, times(ms)));
        } else {
            main.out.println(String.format(Locale.ROOT, "%s %s, batch %d, input %dx%dx%d, %s on %d thread%s: median %.2f ms "
                            + "(min %.2f, max %.2f) over %d runs after %d warm-up; %.1f %s/s",
                    model.getFileName(), w.id(), batch, chw[0], chw[1], chw[2], backendUsed, threadsUsed, threadsUsed == 1 ? "" : "s",
                    median, sorted[0], sorted[iterations - 1], iterations, warmup, imagesPerS,
                    w == Workload.What.VISUALIZE ? "images x " + Workload.VISUALIZE_STEPS + " steps" : "images"));
        }
    }

    /** One timed run, in milliseconds. */
    private double once(Workload work, String label) {
        long t0 = System.nanoTime();
        float v;
        try {
            v = work.run();
        } catch (IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, model + ": " + work.what().id() + " failed: " + e.getMessage()
                    + (work.what() == Workload.What.VISUALIZE ? " (visualize rescales the image by 0.9-1.1 each step; "
                    + "a model exported for one input size cannot take that)" : ""), e);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        if (verbose) main.err.printf(Locale.ROOT, "convlens bench: %s %.2f ms (result %g)%n", label, ms, v);
        return ms;
    }

    private static String times(double[] ms) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < ms.length; i++) s.append(i > 0 ? "," : "").append(String.format(Locale.ROOT, "%.3f", ms[i]));
        return s.append(']').toString();
    }

    private OnnxModel read() {
        if (!Files.isRegularFile(model)) throw new Predict.Failure(Main.INPUT, model + ": no such model file", null);
        try {
            return OnnxModel.read(model);
        } catch (OnnxException e) {
            throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
        }
    }

    /** (C,H,W) of the model's first non-initializer input, from its declared dims. */
    private int[] declaredShape(OnnxModel m) {
        java.util.Set<String> inits = new java.util.HashSet<>();
        m.proto().getGraph().getInitializerList().forEach(i -> inits.add(i.getName()));
        for (ValueInfoProto v : m.proto().getGraph().getInputList()) {
            if (inits.contains(v.getName())) continue;
            String why;
            if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
                why = "declares no shape";
            } else {
                List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
                if (dims.size() == 4 && dims.get(1).hasDimValue() && dims.get(2).hasDimValue() && dims.get(3).hasDimValue()) {
                    return new int[] {(int) dims.get(1).getDimValue(), (int) dims.get(2).getDimValue(), (int) dims.get(3).getDimValue()};
                }
                why = "is declared as " + dims.stream().map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue())
                        : d.getDimParam().isEmpty() ? "?" : d.getDimParam()).toList() + ", not (N,C,H,W) with numbers for C, H and W";
            }
            throw new Predict.Failure(Main.INPUT, model + ": the input '" + v.getName() + "' " + why + "; give --shape C,H,W", null);
        }
        throw new Predict.Failure(Main.UNSUPPORTED, model + ": the model declares no input", null);
    }
}
