package dev.convlens.viz.cli;

import dev.convlens.models.Labels;
import dev.convlens.models.Preprocess;
import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.models.onnx.proto.Onnx.NodeProto;
import dev.convlens.models.onnx.proto.Onnx.TensorShapeProto;
import dev.convlens.models.onnx.proto.Onnx.ValueInfoProto;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens predict}: classify one image (or one prepared input tensor) with an ONNX model
 * and print the top-k classes with their softmax probabilities.
 */
@Command(name = "predict",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Classify one image with an ONNX model: the top-k classes and their softmax probabilities.",
            "",
            "An image (PNG or JPEG) is prepared as torchvision's ImageNet models expect: shorter side resized "
                    + "to 256 (antialiased bilinear, as PIL), center crop 224, scaled to [0,1] and normalized "
                    + "with the ImageNet mean and std. A .npy input is used as is (float32 NCHW, already normalized).",
            "",
            "Class names come from --labels (one per line, line i = class i) or, for 1000-class models, from "
                    + "Debian's darknet ImageNet list if installed; otherwise indices are printed. Nothing is downloaded.",
            "",
            "Examples:",
            "  convlens predict --model resnet18.onnx --image cat.jpg",
            "  convlens predict --model resnet18.onnx --image cat.jpg --top 3 --labels imagenet.txt",
            "  convlens predict --model net.onnx --input x.npy --json --save out/",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class Predict implements Callable<Integer> {
    /** Kernel layers the user may pick. */

    static final class Source {
        @Option(names = "--image", paramLabel = "FILE", description = "Image to classify (PNG or JPEG).")
        Path image;
        @Option(names = "--input", paramLabel = "FILE.npy",
                description = "Prepared input instead of an image: float32 (1,C,H,W) or (C,H,W), already normalized.")
        Path input;
    }

    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE.onnx", description = "The ONNX model (opsets 6 to 17).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--top", paramLabel = "K", defaultValue = "5", description = "How many classes to show (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--json", description = "Print one JSON object: {\"logits\":[...],\"top\":[{\"index\":k,\"label\":...,\"prob\":p},...]}.")
    boolean json;

    @Option(names = "--save", paramLabel = "DIR", description = "Also write the logits to DIR/logits.npy (DIR is created).")
    Path save;

    @Option(names = "--labels", paramLabel = "FILE", description = "Class names, one per line (line i names class i).")
    Path labels;

    @Option(names = "--resize", paramLabel = "N", defaultValue = "" + Preprocess.RESIZE,
            description = "Images: shorter side resized to N (default: ${DEFAULT-VALUE}).")
    int resize;

    @Option(names = "--crop", paramLabel = "N", defaultValue = "" + Preprocess.CROP,
            description = "Images: center crop N x N after resizing (default: ${DEFAULT-VALUE}).")
    int crop;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd",
            description = "Kernels: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}; simd falls back to reference "
                    + "with a warning when jdk.incubator.vector is missing, opencl to simd when there is no OpenCL device; "
                    + "'convlens devices' lists them).")
    BackendName backend;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Report the backend and timings; print stack traces on errors.")
    boolean verbose;

    @picocli.CommandLine.Mixin ModelChecks checks;

    /** The parsed model and its graph, set by {@link #loadModel}. */
    private OnnxModel onnx;
    private Graph graph;

    /** A failure the user can act on, with its exit code (3 input, 4 unsupported model). */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        Failure(int code, String message, Throwable cause) {
            super(message, cause);
            this.code = code;
        }
    }

    @Override
    public Integer call() {
        if (top < 1) throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + top);
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        if (resize < 1 || crop < 1) throw new ParameterException(spec.commandLine(), "--resize and --crop must be at least 1");
        PrintStream err = main.err;
        try {
            predict(main.out, err);
            return Main.OK;
        } catch (Failure e) {
            err.println("convlens predict: " + e.getMessage());
            if (verbose && e.getCause() != null) e.getCause().printStackTrace(err);
            return e.code;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            err.println("convlens predict: internal error: " + e
                    + (verbose ? "" : " (run again with --verbose for the stack trace)"));
            if (verbose) e.printStackTrace(err);
            return Main.INTERNAL;
        }
    }

    private void predict(PrintStream out, PrintStream err) {
        long t0 = System.nanoTime();
        Graph g = loadModel();
        graph = g;
        long t1 = System.nanoTime();
        Tensor x = prepareInput(err);
        List<String> names = null;
        if (labels != null) { // read before the forward pass, so a bad file fails fast
            try {
                names = Labels.read(labels);
            } catch (IllegalArgumentException e) {
                throw new Failure(Main.INPUT, e.getMessage(), e);
            }
        }
        Kernels k = Backend.select(backend.name(), threads != null ? threads : Runtime.getRuntime().availableProcessors());
        if (verbose) {
            err.printf(Locale.ROOT, "convlens: model %s loaded in %.0f ms (%d nodes); input %s; backend %s%n",
                    model, (t1 - t0) / 1e6, g.nodes.size(), Shapes.str(x.shape()), k.name());
        }
        long t2 = System.nanoTime();
        Tensor y;
        try {
            y = g.infer(k, Map.of(g.inputs.get(0), x)).output();
        } catch (IllegalArgumentException e) {
            throw new Failure(Main.INPUT, "the input " + Shapes.str(x.shape()) + " does not fit the model " + model
                    + ": " + e.getMessage(), e);
        }
        if (verbose) err.printf(Locale.ROOT, "convlens: forward in %.0f ms%n", (System.nanoTime() - t2) / 1e6);

        // One row of class scores: (1,C), or (1,C,1,1) from a model that ends in a 1x1 pooling.
        if (y.rank() > 1 && y.dim(0) != 1) {
            throw new Failure(Main.UNSUPPORTED, model + ": the output " + Shapes.str(y.shape()) + " is not one row of "
                    + "class scores for one input", null);
        }
        int classes = y.size();
        if (names == null) {
            try {
                names = Labels.find(null, classes);
            } catch (IllegalArgumentException e) {
                throw new Failure(Main.INPUT, e.getMessage(), e);
            }
        }
        if (names != null && names.size() != classes) {
            err.println("convlens: " + (labels != null ? labels : "the label list") + " has " + names.size()
                    + " labels but the model has " + classes + " classes; classes without a label are shown by index");
        }
        if (save != null) saveLogits(y);

        float[] logits = y.data;
        double[] prob = softmax(logits);
        int[] order = topK(prob, Math.min(top, classes));
        if (json) {
            out.println(json(logits, prob, order, names));
        } else {
            out.printf(Locale.ROOT, "%4s  %6s  %8s  %s%n", "rank", "class", "prob", "label");
            for (int r = 0; r < order.length; r++) {
                String label = Labels.name(names, order[r]);
                out.printf(Locale.ROOT, "%4d  %6d  %8.4f  %s%n", r + 1, order[r], prob[order[r]], label == null ? "-" : label);
            }
        }
    }

    // ---- stages, each failing with the file and the right exit code ----

    private Graph loadModel() {
        if (!Files.isRegularFile(model)) throw new Failure(Main.INPUT, model + ": no such model file", null);
        OnnxModel m;
        try {
            m = OnnxModel.read(model);
        } catch (OnnxException e) {
            throw new Failure(Main.INPUT, e.getMessage(), e);
        }
        onnx = m;
        TreeSet<String> unknown = new TreeSet<>();
        for (NodeProto n : m.proto().getGraph().getNodeList()) {
            boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (!defaultDomain || !OnnxImporter.SUPPORTED.contains(n.getOpType())) {
                unknown.add(defaultDomain ? n.getOpType() : n.getDomain() + "." + n.getOpType());
            }
        }
        if (!unknown.isEmpty()) {
            throw new Failure(Main.UNSUPPORTED, model + ": unsupported operator(s) " + String.join(", ", unknown)
                    + "; convlens supports: " + String.join(", ", OnnxImporter.SUPPORTED), null);
        }
        Graph g;
        try {
            g = checks.graph(model, () -> OnnxImporter.toGraph(m));
        } catch (OnnxException e) {
            // Unsupported attribute values and opsets say "is not supported"; everything else is a broken file.
            throw new Failure(e.getMessage().contains(" is not supported") ? Main.UNSUPPORTED : Main.INPUT, e.getMessage(), e);
        }
        if (g.inputs.size() != 1) {
            throw new Failure(Main.UNSUPPORTED, model + ": predict needs a model with one input; this one has "
                    + g.inputs.size() + ": " + g.inputs, null);
        }
        return g;
    }

    private Tensor prepareInput(PrintStream err) {
        Tensor x;
        if (source.image != null) {
            try {
                x = Preprocess.imagenet(source.image, resize, crop, err);
            } catch (IllegalArgumentException e) {
                throw new Failure(Main.INPUT, e.getMessage(), e);
            }
        } else {
            Path f = source.input;
            if (!Files.isRegularFile(f)) throw new Failure(Main.INPUT, f + ": no such input file", null);
            try {
                x = Npy.read(f);
            } catch (IOException | IllegalArgumentException e) {
                throw new Failure(Main.INPUT, e.getMessage() != null && e.getMessage().contains(f.toString())
                        ? e.getMessage() : f + ": " + e, e);
            }
            if (x.rank() == 3) x = x.reshape(1, x.dim(0), x.dim(1), x.dim(2));
            if (x.rank() != 4 || x.dim(0) != 1) {
                throw new Failure(Main.INPUT, f + ": shape " + Shapes.str(x.shape()) + "; predict takes one input "
                        + "(1,C,H,W) or (C,H,W)", null);
            }
        }
        checkDeclaredShape(x);
        return checks.input(x, source.image != null ? source.image : source.input);
    }

    /** Compares the input with the model's declared input shape where its dims are numbers (the batch dim aside). */
    private void checkDeclaredShape(Tensor x) {
        String name = graph.inputs.get(0);
        for (ValueInfoProto v : onnx.proto().getGraph().getInputList()) {
            if (!v.getName().equals(name) || !v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) continue;
            List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
            List<String> want = new ArrayList<>();
            boolean fits = dims.size() == x.rank();
            for (int i = 0; i < dims.size(); i++) {
                TensorShapeProto.Dimension d = dims.get(i);
                want.add(d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
                if (fits && d.hasDimValue() && i > 0 && d.getDimValue() != x.dim(i)) fits = false;
            }
            if (!fits) {
                throw new Failure(Main.INPUT, "the input " + Shapes.str(x.shape()) + " does not fit " + model
                        + ", whose input '" + name + "' is (" + String.join(",", want) + ")"
                        + (source.image != null ? "; try --resize and --crop" : ""), null);
            }
        }
    }

    private void saveLogits(Tensor y) {
        Path f = save.resolve("logits.npy");
        try {
            Files.createDirectories(save);
            Npy.write(f, y);
        } catch (IOException e) {
            throw new Failure(Main.INPUT, f + ": cannot write: " + e, e);
        }
    }

    // ---- results ----

    /** softmax in double with the max subtracted: p_i = exp(z_i - max z) / sum_j exp(z_j - max z). */
    static double[] softmax(float[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) max = Math.max(max, v);
        double[] p = new double[z.length];
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) p[i] /= sum;
        return p;
    }

    /** Indices of the k largest values, largest first; ties keep the lower index first. */
    static int[] topK(double[] v, int k) {
        int[] idx = new int[k];
        boolean[] taken = new boolean[v.length];
        for (int r = 0; r < k; r++) {
            int best = -1;
            for (int i = 0; i < v.length; i++) {
                if (!taken[i] && (best < 0 || v[i] > v[best] || (Double.isNaN(v[best]) && !Double.isNaN(v[i])))) best = i;
            }
            taken[best] = true;
            idx[r] = best;
        }
        return idx;
    }

    static String json(float[] logits, double[] prob, int[] order, List<String> names) {
        StringBuilder s = new StringBuilder("{\"logits\":[");
        for (int i = 0; i < logits.length; i++) {
            if (i > 0) s.append(',');
            s.append(Float.isFinite(logits[i]) ? Float.toString(logits[i]) : "null");
        }
        s.append("],\"top\":[");
        for (int r = 0; r < order.length; r++) {
            if (r > 0) s.append(',');
            String label = Labels.name(names, order[r]);
            double p = prob[order[r]];
            s.append("{\"index\":").append(order[r]).append(",\"label\":").append(label == null ? "null" : quote(label))
                    .append(",\"prob\":").append(Double.isFinite(p) ? Double.toString(p) : "null").append('}');
        }
        return s.append("]}").toString();
    }

    /** A JSON string literal. */
    static String quote(String v) {
        StringBuilder s = new StringBuilder("\"");
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                case '\t' -> s.append("\\t");
                default -> {
                    if (c < 0x20) s.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else s.append(c);
                }
            }
        }
        return s.append('"').toString();
    }
}
