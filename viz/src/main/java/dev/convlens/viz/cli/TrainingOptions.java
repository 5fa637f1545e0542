package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxException;
import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Adam;
import dev.convlens.nn.train.Augment;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Idx;
import dev.convlens.nn.train.ImageFolder;
import dev.convlens.nn.train.Loader;
import dev.convlens.nn.train.Optimizer;
import dev.convlens.nn.train.Schedule;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The options {@code convlens train} and {@code convlens finetune} share (a picocli mixin), and the
 * training run itself: data, optimizer, schedule, the {@link Trainer}, and what is written to
 * {@code --out}.
 */
final class TrainingOptions {
    enum OptimizerName { sgd, adam, adamw }

    enum ScheduleName { constant, step, cosine }

    @Option(names = "--data", required = true, paramLabel = "fashion-mnist|digits|DIR",
            description = "fashion-mnist (Debian's dataset-fashion-mnist: its 60,000 train and 10,000 test images), digits "
                    + "(OpenCV's 5,000 handwritten digits from Debian's opencv-doc, 20x20 centred in 28x28, split into train and "
                    + "test by --seed and --test-fraction) or a folder with one subfolder per class (torchvision's ImageFolder), "
                    + "split the same way.")
    String data;

    @Option(names = "--epochs", defaultValue = "10", paramLabel = "N", description = "Epochs in all (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", paramLabel = "B", description = "Mini-batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "LR", description = "Learning rate (default: 0.05 for sgd, 0.001 for adam and adamw).")
    Double lr;

    @Option(names = "--optimizer", defaultValue = "sgd", paramLabel = "NAME",
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}), as torch.optim.")
    OptimizerName optimizer;

    @Option(names = "--momentum", defaultValue = "0.9", paramLabel = "MU", description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--nesterov", description = "SGD with Nesterov momentum.")
    boolean nesterov;

    @Option(names = "--weight-decay", paramLabel = "WD",
            description = "Weight decay (default: 5e-4 for sgd, 0 for adam, 0.01 for adamw; decoupled for adamw).")
    Double weightDecay;

    @Option(names = "--schedule", defaultValue = "cosine", paramLabel = "NAME",
            description = "Learning rate per epoch: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}: cosine annealing to 0 "
                    + "over --epochs; step: times --gamma every --step-size epochs).")
    ScheduleName schedule;

    @Option(names = "--step-size", defaultValue = "10", paramLabel = "N", description = "Step schedule period (default: ${DEFAULT-VALUE}).")
    int stepSize;

    @Option(names = "--gamma", defaultValue = "0.1", paramLabel = "G", description = "Step schedule factor (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
            description = "Seed of the weights, the split, the batch order, augmentation and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder: model.onnx, classes.txt, curves.csv/png, confusion.csv/png, checkpoint.ckpt.")
    Path out;

    @Option(names = "--resume", description = "Continue from DIR/checkpoint.ckpt (same seed and thread count give the same result "
            + "as a run that was never stopped).")
    boolean resume;

    @Option(names = "--crop-pad", defaultValue = "0", paramLabel = "P",
            description = "Augmentation: random crop after zero padding of P pixels (default: ${DEFAULT-VALUE}, none).")
    int cropPad;

    @Option(names = "--flip", description = "Augmentation: random horizontal flip.")
    boolean flip;

    @Option(names = "--test-fraction", defaultValue = "0.2", paramLabel = "F",
            description = "Image folders: the fraction held out for testing (default: ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--limit", paramLabel = "N", description = "Use only the first N training images (and N/6 test images), for a quick run.")
    Integer limit;

    @Option(names = "--channels", paramLabel = "C", description = "Image folders: 1 (grayscale) or 3 (RGB) (default: 3; fashion-mnist is 1).")
    Integer channels;

    @Option(names = "--mean", split = ",", paramLabel = "M", description = "Per-channel mean of v/255 (default: Fashion-MNIST's, or ImageNet's for RGB).")
    float[] mean;

    @Option(names = "--std", split = ",", paramLabel = "S", description = "Per-channel std of v/255 (defaults as --mean).")
    float[] std;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "simd", description = "Kernels: reference, simd or opencl (default: ${DEFAULT-VALUE}).")
    BackendName backend;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** Refuses bad values with a usage error. */
    void validate(CommandSpec spec) {
        if (epochs < 1) throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        if (batch < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batch);
        if (lr != null && !(lr > 0)) throw new ParameterException(spec.commandLine(), "--lr must be positive, got " + lr);
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        if (channels != null && channels != 1 && channels != 3) throw new ParameterException(spec.commandLine(), "--channels must be 1 or 3");
        if (!(testFraction > 0 && testFraction < 1)) throw new ParameterException(spec.commandLine(), "--test-fraction must be in (0,1)");
        if (limit != null && limit < 6) throw new ParameterException(spec.commandLine(), "--limit must be at least 6, got " + limit);
        if (cropPad < 0) throw new ParameterException(spec.commandLine(), "--crop-pad must be >= 0");
        if ((mean == null) != (std == null)) throw new ParameterException(spec.commandLine(), "give --mean and --std together");
        if (momentum < 0 || momentum >= 1) throw new ParameterException(spec.commandLine(), "--momentum must be in [0,1)");
        if (nesterov && optimizer != OptimizerName.sgd) throw new ParameterException(spec.commandLine(), "--nesterov is for --optimizer sgd");
    }

    boolean fashionMnist() {
        return data.equals("fashion-mnist");
    }

    boolean digits() {
        return data.equals("digits");
    }

    /** Images' channels: 1 for Fashion-MNIST and the digits sheet, else --channels (default 3). */
    int imageChannels() {
        return fashionMnist() || digits() ? 1 : channels != null ? channels : 3;
    }

    /** Train and test sets; an input error (exit 3) when the data cannot be read. */
    Dataset.Split loadData(int size, PrintStream err) {
        Dataset.Split s;
        try {
            if (fashionMnist()) {
                if (size != 28) err.println("convlens: note: Fashion-MNIST images are 28x28; --size is ignored");
                s = new Dataset.Split(Idx.fashionMnist(Idx.FASHION_MNIST_DIR, true), Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false));
            } else if (digits()) {
                if (size != 28) err.println("convlens: note: the digits sheet gives 28x28 images; --size is ignored");
                s = DigitsSheet.load(DigitsSheet.DEFAULT, 28).split(testFraction, seed);
            } else {
                Path dir = Path.of(data);
                if (!Files.isDirectory(dir)) throw new Failure(Main.INPUT, dir + ": no such folder (--data takes fashion-mnist or a folder)", null);
                s = ImageFolder.load(dir, imageChannels(), size).split(testFraction, seed);
            }
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new Failure(Main.INPUT, e.getMessage(), e);
        }
        if (limit != null) s = new Dataset.Split(s.train().head(limit), s.test().head(Math.max(1, limit / 6)));
        err.printf(Locale.ROOT, "convlens: data %s: %d train and %d test images of %dx%dx%d, %d classes%n", data, s.train().size(),
                s.test().size(), s.train().c(), s.train().h(), s.train().w(), s.train().classes().size());
        return s;
    }

    Loader.Normalize normalize(int c) {
        if (mean != null) {
            if (mean.length != c || std.length != c) throw new Failure(Main.INPUT, "--mean and --std need " + c + " values each", null);
            return new Loader.Normalize(mean, std);
        }
        if (c == 1) return Loader.Normalize.FASHION_MNIST;
        return Loader.Normalize.IMAGENET;
    }

    double learningRate() {
        return lr != null ? lr : optimizer == OptimizerName.sgd ? 0.05 : 0.001;
    }

    Optimizer makeOptimizer() {
        return switch (optimizer) {
            case sgd -> new Sgd(momentum, weightDecay != null ? weightDecay : 5e-4, nesterov);
            case adam -> new Adam(0.9, 0.999, 1e-8, weightDecay != null ? weightDecay : 0, false);
            case adamw -> new Adam(0.9, 0.999, 1e-8, weightDecay != null ? weightDecay : 0.01, true);
        };
    }

    Schedule makeSchedule() {
        double lr0 = learningRate();
        return switch (schedule) {
            case constant -> new Schedule.Constant(lr0);
            case step -> new Schedule.Step(lr0, stepSize, gamma);
            case cosine -> new Schedule.Cosine(lr0, epochs, 0);
        };
    }

    /** An ONNX model to train; input error (3) or unsupported model (4) as {@code predict}. */
    static Graph loadOnnx(Path model) {
        if (!Files.isRegularFile(model)) throw new Failure(Main.INPUT, model + ": no such model file", null);
        try {
            Graph g = OnnxImporter.load(model);
            if (g.inputs.size() != 1) throw new Failure(Main.UNSUPPORTED, model + ": training needs a model with one input, not " + g.inputs, null);
            return g;
        } catch (OnnxException e) {
            throw new Failure(e.getMessage().contains("not supported") ? Main.UNSUPPORTED : Main.INPUT, e.getMessage(), e);
        }
    }

    /** Trains {@code g} on {@code data} and writes everything to --out; returns the exit code. */
    int train(String command, Graph g, Dataset.Split data, PrintStream out, PrintStream err) {
        int c = data.train().c(), h = data.train().h(), w = data.train().w();
        Kernels k = Backend.select(backend.name(), threads != null ? threads : Runtime.getRuntime().availableProcessors());
        err.printf(Locale.ROOT, "convlens: %s: %d trainable parameter tensors (%d values), %s, lr %.4g (%s), batch %d, seed %d, kernels %s%n",
                command, Trainer.learnable(g).size(), Trainer.learnableValues(g), optimizer, learningRate(), schedule, batch, seed, k.name());
        Trainer.Config cfg = new Trainer.Config(epochs, batch, seed, makeSchedule(), new Augment(cropPad, flip), normalize(c), this.out,
                resume, err);
        Trainer.Result r;
        try {
            Path ckpt = this.out.resolve(Trainer.CHECKPOINT);
            if (resume && !Files.isRegularFile(ckpt)) err.println("convlens: note: no " + ckpt + " yet; starting from epoch 1");
            r = new Trainer(g, k, makeOptimizer(), cfg).fit(data.train(), data.test());
        } catch (Trainer.NonFiniteException e) {
            throw new Failure(Main.INPUT, e.getMessage(), e);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new Failure(Main.INPUT, e.getMessage(), e);
        }
        Path model = this.out.resolve("model.onnx");
        try {
            OnnxExporter.write(g, model, Map.of(g.inputs.get(0), new int[] {-1, c, h, w}));
        } catch (RuntimeException e) {
            throw new Failure(Main.UNSUPPORTED, "trained, but the model cannot be written as ONNX (" + e.getMessage()
                    + "); the weights are in " + this.out.resolve(Trainer.CHECKPOINT), e);
        }
        try {
            Files.write(this.out.resolve("classes.txt"), data.train().classes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Failure(Main.INPUT, this.out + ": cannot write classes.txt: " + e, e);
        }
        Charts.curves(r.history(), this.out.resolve("curves.png"));
        Charts.confusion(r.test().confusion(), data.train().classes(), this.out.resolve("confusion.png"));
        out.printf(Locale.ROOT, "test accuracy %.4f, test loss %.4f after %d epochs%n", r.test().accuracy(), r.test().loss(), epochs);
        out.println("wrote " + model + ", classes.txt, curves.csv, curves.png, confusion.csv, confusion.png, checkpoint.ckpt in " + this.out);
        return Main.OK;
    }

    /** Runs {@code body}, mapping failures to exit codes and messages as {@code predict} does. */
    int guarded(String command, PrintStream err, java.util.function.IntSupplier body) {
        try {
            return body.getAsInt();
        } catch (Failure e) {
            err.println();
            err.println("convlens " + command + ": " + e.getMessage());
            if (verbose && e.getCause() != null) e.getCause().printStackTrace(err);
            return e.code;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            err.println();
            err.println("convlens " + command + ": internal error: " + e + (verbose ? "" : " (run again with --verbose for the stack trace)"));
            if (verbose) e.printStackTrace(err);
            return Main.INTERNAL;
        }
    }

    /** A failure the user can act on, with its exit code. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int code;

        Failure(int code, String message, Throwable cause) {
            super(message, cause);
            this.code = code;
        }
    }
}
