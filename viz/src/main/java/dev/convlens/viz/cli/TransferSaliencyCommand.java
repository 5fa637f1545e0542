package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.models.zoo.Heads;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Augment;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Loader;
import dev.convlens.nn.train.Schedule;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.Saliency;
import dev.convlens.viz.image.Images;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens experiment transfer-saliency}: assignment 3 of the course this project follows,
 * transfer learning and saliency, on real data.
 *
 * <ol>
 *   <li>Three variants of the same AlexNet-style network ({@link SmallNets#alexnet}) are trained on
 *       OpenCV's handwritten digits sheet ({@link DigitsSheet}, 10 classes, split 80/20 by the seed) with
 *       the same budget (epochs, batch, SGD with momentum, cosine schedule, learning rate):
 *       <b>last1</b>: the shipped {@code alexnet-small.onnx} (trained by convlens on Fashion-MNIST) with its
 *       last Linear replaced and everything else frozen; <b>last2</b>: the same with the last two Linears
 *       replaced (AlexNet/VGG style, {@link Heads#replaceLastTwo}) and the convolutions frozen;
 *       <b>scratch</b>: the architecture freshly initialized, everything trained.</li>
 *   <li>Each variant's train and test loss/accuracy per epoch (curves-ID.png, .csv), one figure
 *       comparing their test curves (compare.png), and a table (results.md, results.json).</li>
 *   <li>Simonyan et al.'s vanilla-gradient saliency {@code M = max_ch |dS_c/dx|} of the best variant for
 *       a few correctly and a few wrongly classified test digits, with true label and prediction written
 *       on the figure (saliency.png).</li>
 * </ol>
 */
@Command(name = "transfer-saliency",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Transfer learning and saliency (assignment 3): fine-tune the shipped alexnet-small (Fashion-MNIST) on OpenCV's "
                    + "handwritten digits three ways (replace the last Linear, replace the last two, train from scratch) with "
                    + "the same budget; curves, a comparison table, and vanilla-gradient saliency maps of the best variant for "
                    + "correctly and wrongly classified test digits. docs/tutorial/transfer-saliency.md explains it.",
            "",
            "Writes into --out: curves-last1|last2|scratch.png/.csv, compare.png, saliency.png, results.md, results.json.",
            "",
            "Example:",
            "  convlens experiment transfer-saliency --out runs/a3 --threads 2",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class TransferSaliencyCommand implements Callable<Integer> {
    @ParentCommand Experiment parent;
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--quick", description = "A shortened run for tests: 600 training and 200 test digits, 2 epochs, 2+2 saliency maps.")
    boolean quick;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S",
            description = "Seed of the split, the fresh layers, the batch order and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    /** The budget every variant gets (full run). */
    static final int EPOCHS = 10, BATCH = 64, QUICK_EPOCHS = 2, QUICK_TRAIN = 600, QUICK_TEST = 200;
    static final double LR = 0.05, MOMENTUM = 0.9, WEIGHT_DECAY = 5e-4, TEST_FRACTION = 0.2;
    /** Saliency examples: one correct per class, and this many wrong (full run). */
    static final int WRONG = 9, QUICK_EACH = 2;
    /** Saliency maps are drawn this many times larger than the 28x28 digits. */
    static final int SCALE = 4;
    static final String MODEL = "alexnet-small.onnx";

    /** A trained variant and its numbers. */
    record Variant(String id, String title, String frozen, Graph g, long trainable, List<Trainer.Epoch> history,
                   Trainer.Evaluation test, Trainer.Evaluation trainEval, double seconds) {}

    /** One test image, its label, the prediction and its softmax probability. */
    record Example(int index, int label, int pred, double prob) {
        boolean correct() {
            return label == pred;
        }
    }

    @Override
    public Integer call() {
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + threads);
        java.io.PrintStream err = parent.main.err;
        try {
            return run(err);
        } catch (TrainingOptions.Failure e) {
            err.println("convlens experiment transfer-saliency: " + e.getMessage());
            return e.code;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            err.println("convlens experiment transfer-saliency: " + e.getMessage());
            return Main.INPUT;
        }
    }

    private int run(java.io.PrintStream err) {
        long t0 = System.nanoTime();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Kernels k = Backend.select("simd", nThreads);
        int epochs = quick ? QUICK_EPOCHS : EPOCHS;
        Dataset.Split data;
        try {
            data = DigitsSheet.load(DigitsSheet.DEFAULT, 28).split(TEST_FRACTION, seed);
        } catch (IllegalArgumentException e) {
            throw new TrainingOptions.Failure(Main.INPUT, e.getMessage(), e);
        }
        if (quick) data = new Dataset.Split(data.train().sample(QUICK_TRAIN, seed), data.test().sample(QUICK_TEST, seed + 1));
        int classes = data.train().classes().size();
        note(err, String.format(Locale.ROOT, "digits sheet: %d train and %d test images of 28x28, %d classes (split by seed %d); "
                + "%d epochs per variant, kernels %s", data.train().size(), data.test().size(), classes, seed, epochs, k.name()));
        mkdirs(out);

        List<Variant> variants = new ArrayList<>();
        String[] ids = VARIANTS;
        for (int v = 0; v < ids.length; v++) {
            Graph g = build(ids[v], classes, seed);
            String title = TITLES[v], frozen = FROZEN[v];
            long trainable = Trainer.learnableValues(g);
            note(err, String.format(Locale.ROOT, "[%d/3] %s: %s; %d trainable values (ETA: %s)", v + 1, ids[v], title, trainable,
                    eta(variants, v)));
            Trainer.Config cfg = new Trainer.Config(epochs, BATCH, seed, new Schedule.Cosine(LR, epochs, 0), Augment.NONE,
                    Loader.Normalize.FASHION_MNIST, null, false, err);
            long s0 = System.nanoTime();
            Trainer trainer = new Trainer(g, k, new Sgd(MOMENTUM, WEIGHT_DECAY, false), cfg);
            Trainer.Result r = trainer.fit(data.train(), data.test());
            double seconds = (System.nanoTime() - s0) / 1e9;
            // The running train numbers are taken with dropout on and while the weights move; this is the
            // training set seen as the test set is (inference mode, final weights), to tell under- from overfitting.
            Trainer.Evaluation trainEval = trainer.evaluate(data.train(), BATCH, Loader.Normalize.FASHION_MNIST);
            Variant done = new Variant(ids[v], title, frozen, g, trainable, r.history(), r.test(), trainEval, seconds);
            variants.add(done);
            Trainer.writeCurves(out.resolve("curves-" + done.id() + ".csv"), done.history());
            Path png = out.resolve("curves-" + done.id() + ".png");
            Charts.curves(done.history(), done.id() + ": " + done.title(), png);
        }
        List<Charts.Series> loss = new ArrayList<>(), acc = new ArrayList<>();
        for (Variant v : variants) {
            loss.add(Charts.series(v.id(), v.history(), Trainer.Epoch::testLoss));
            acc.add(Charts.series(v.id(), v.history(), Trainer.Epoch::testAcc));
        }
        Charts.panels(null, "test loss", loss, "test accuracy", acc, out.resolve("compare.png"));

        Variant best = variants.get(0);
        for (Variant v : variants) if (v.test().accuracy() > best.test().accuracy()) best = v;
        note(err, "saliency maps of the best variant, " + best.id() + String.format(Locale.ROOT, " (test accuracy %.4f)", best.test().accuracy()));
        List<Example> all = predict(best.g(), k, data.test());
        List<Example> chosen = choose(all, classes, quick);
        Saliency sal = new Saliency(best.g(), k);
        List<Tile> tiles = new ArrayList<>();
        for (Example e : chosen) {
            Tensor x = image(data.test(), e.index());
            Saliency.Result pred = sal.vanilla(x, e.pred());
            Saliency.Result truth = e.correct() ? null : sal.vanilla(x, e.label());
            tiles.add(new Tile(e, x, pred.map(), truth == null ? null : truth.map()));
        }
        saliencyFigure(tiles, data.test().classes(), best.id(), out.resolve("saliency.png"));

        writeResults(variants, best, tiles, data, epochs, nThreads, k.name());
        double total = (System.nanoTime() - t0) / 1e9;
        note(err, String.format(Locale.ROOT, "done in %.1f s", total));
        for (String f : new String[] {"results.md", "results.json", "compare.png", "saliency.png"}) parent.main.out.println(out.resolve(f));
        for (Variant v : variants) {
            parent.main.out.println(out.resolve("curves-" + v.id() + ".png"));
            parent.main.out.println(out.resolve("curves-" + v.id() + ".csv"));
        }
        return Main.OK;
    }

    /**
     * {@code n} images of {@code d} drawn at random (seeded), kept in their original order; the sheet is
     * class-major, so a head would hold only the first classes.
     */
    private static void note(java.io.PrintStream err, String s) {
        err.println("convlens experiment transfer-saliency: " + s);
    }

    /** The variants, what each trains and what it freezes (as {@link #build} makes them). */
    static final String[] VARIANTS = {"last1", "last2", "scratch"};
    static final String[] TITLES = {"replace the last Linear (classifier.4), freeze the rest",
        "replace the last two Linears (classifier.1, classifier.4), freeze the convolutions",
        "train from scratch (fresh weights, nothing frozen)"};
    static final String[] FROZEN = {"features.0, features.3 (both convolutions) and classifier.1 (Linear 3136->128)",
        "features.0, features.3 (both convolutions)", "nothing"};

    /**
     * Variant {@code id}'s network for {@code classes} classes: the shipped model with every parameter
     * frozen and then the last one (last1) or two (last2) Linears replaced by fresh trainable ones, or
     * the architecture freshly initialized (scratch). Fresh weights are drawn from {@code seed}.
     */
    static Graph build(String id, int classes, long seed) {
        switch (id) {
            case "last1", "last2" -> {
                Graph pre = pretrained();
                pre.freezePrefix("");
                return id.equals("last1") ? Heads.replaceLast(pre, classes, seed) : Heads.replaceLastTwo(pre, classes, seed);
            }
            case "scratch" -> {
                return SmallNets.alexnet(1, 28, classes, seed);
            }
            default -> throw new IllegalArgumentException("unknown variant " + id);
        }
    }

    /**
     * A rough estimate of what is left, from the variant just done: measured here, last2 takes about
     * as long as last1 (the forward pass through the frozen convolutions dominates both) and scratch
     * about three times as long (it backpropagates through both convolutions).
     */
    private static String eta(List<Variant> done, int v) {
        if (done.isEmpty()) return "unknown until the first variant ends";
        double last = done.get(done.size() - 1).seconds();
        double left = v == 1 ? last * (1 + 3) : last * 3;
        return String.format(Locale.ROOT, "~%d:%02d", (long) left / 60, (long) left % 60);
    }

    /** The shipped alexnet-small, read afresh (Heads shares tensors with its input, so each variant gets its own copy). */
    private static Graph pretrained() {
        byte[] bytes = DemoCommand.resource(MODEL);
        return OnnxImporter.toGraph(OnnxModel.parse(Path.of(MODEL), bytes));
    }

    // ---------------------------------------------------------------- predictions and saliency

    /** Every test image's prediction and softmax probability, in test order. */
    static List<Example> predict(Graph g, Kernels k, Dataset test) {
        List<Example> all = new ArrayList<>();
        try (Loader loader = new Loader(test, BATCH, Loader.Normalize.FASHION_MNIST, Augment.NONE, 0, 0, false)) {
            for (Loader.Batch b; (b = loader.next()) != null; ) {
                Tensor z = g.forward(k, Map.of(g.inputs.get(0), b.x()), false).output();
                int kk = z.size() / b.labels().length;
                for (int r = 0; r < b.labels().length; r++) {
                    int best = 0;
                    for (int c = 1; c < kk; c++) if (z.data[r * kk + c] > z.data[r * kk + best]) best = c;
                    double sum = 0;
                    for (int c = 0; c < kk; c++) sum += Math.exp((double) z.data[r * kk + c] - z.data[r * kk + best]);
                    all.add(new Example(b.indices()[r], b.labels()[r], best, 1 / sum));
                }
            }
        }
        return all;
    }

    /**
     * The examples shown: the first correctly classified test digit of each class (quick: the first
     * {@link #QUICK_EACH}), then the first {@link #WRONG} misclassified ones in test order (quick:
     * {@link #QUICK_EACH}); fewer when the test set has fewer.
     */
    static List<Example> choose(List<Example> all, int classes, boolean quick) {
        List<Example> correct = new ArrayList<>(), wrong = new ArrayList<>();
        boolean[] seen = new boolean[classes];
        int nCorrect = quick ? QUICK_EACH : classes, nWrong = quick ? QUICK_EACH : WRONG;
        for (Example e : all) {
            if (e.correct() && !seen[e.label()] && correct.size() < nCorrect) {
                seen[e.label()] = true;
                correct.add(e);
            } else if (!e.correct() && wrong.size() < nWrong) {
                wrong.add(e);
            }
        }
        correct.sort((a, b) -> Integer.compare(a.label(), b.label()));
        List<Example> chosen = new ArrayList<>(correct);
        chosen.addAll(wrong);
        return chosen;
    }

    /** Test image {@code i} as the network's input (1,1,28,28): (v/255 - mean)/std, as the Loader prepares it. */
    static Tensor image(Dataset d, int i) {
        int m = d.imageSize();
        Tensor x = Tensor.zeros(1, d.c(), d.h(), d.w());
        float mean = Loader.Normalize.FASHION_MNIST.mean()[0], std = Loader.Normalize.FASHION_MNIST.std()[0];
        for (int j = 0; j < m; j++) x.data[j] = ((d.pixels()[i * m + j] & 0xff) / 255f - mean) / std;
        return x;
    }

    /** One example on the figure: the image, the map for the predicted class, and (when wrong) the map for the true class. */
    record Tile(Example e, Tensor x, Tensor predMap, Tensor trueMap) {
        /** The share of the predicted class's saliency mass that lies on the digit's ink (pixels >= {@link #INK}). */
        double onInk() {
            return inkShare(x, predMap);
        }

        /** The share of the image's pixels that are ink. */
        double inkArea() {
            float threshold = (INK / 255f - Loader.Normalize.FASHION_MNIST.mean()[0]) / Loader.Normalize.FASHION_MNIST.std()[0];
            int n = 0;
            for (float v : x.data) if (v >= threshold) n++;
            return n / (double) x.size();
        }
    }

    /** A pixel counts as ink from this grey level on (of 255). */
    static final int INK = 64;

    /** {@code sum(M on ink) / sum(M)} for a normalized grey image {@code x (1,1,H,W)} and its map {@code m (H,W)}. */
    static double inkShare(Tensor x, Tensor m) {
        float threshold = (INK / 255f - Loader.Normalize.FASHION_MNIST.mean()[0]) / Loader.Normalize.FASHION_MNIST.std()[0];
        double on = 0, all = 0;
        for (int i = 0; i < m.size(); i++) {
            all += m.data[i];
            if (x.data[i] >= threshold) on += m.data[i];
        }
        return all > 0 ? on / all : 0;
    }

    /**
     * The saliency grid: correctly classified digits (image, map of the predicted = true class), then
     * misclassified ones (image, map of the predicted class, map of the true class), each captioned
     * with its true label, prediction and probability.
     */
    static void saliencyFigure(List<Tile> tiles, List<String> names, String variant, Path file) {
        int px = 28 * SCALE, gap = 6, head = 34, cap = 34, margin = 12;
        List<Tile> right = new ArrayList<>(), wrong = new ArrayList<>();
        for (Tile t : tiles) (t.e().correct() ? right : wrong).add(t);
        int rightW = 2 * px + gap, wrongW = 3 * px + 2 * gap, colGap = 22;
        int perRowRight = 5, perRowWrong = 3;
        int width = Math.max(perRowRight * rightW + (perRowRight - 1) * colGap, perRowWrong * wrongW + (perRowWrong - 1) * colGap) + 2 * margin;
        int rowsRight = (right.size() + perRowRight - 1) / perRowRight, rowsWrong = (wrong.size() + perRowWrong - 1) / perRowWrong;
        int rowH = cap + px + 16;
        int height = head + 24 + rowsRight * rowH + 30 + rowsWrong * rowH + 24 + margin;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("Vanilla-gradient saliency M = max_ch |dS_c/dx| of the " + variant + " variant on test digits", margin, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("each map scaled from 0 (dark) to its 99th percentile (yellow; the few larger values saturate); S_c is the logit of class c", margin, 40);
        int y = head + 24;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("Correctly classified (" + right.size() + "): image | saliency of the predicted (= true) class", margin, y);
        y += 8;
        for (int i = 0; i < right.size(); i++) {
            Tile t = right.get(i);
            int x0 = margin + (i % perRowRight) * (rightW + colGap), y0 = y + (i / perRowRight) * rowH;
            caption(g, t.e(), names, x0, y0);
            g.drawImage(picture(t.x()), x0, y0 + cap, null);
            g.drawImage(map(t.predMap()), x0 + px + gap, y0 + cap, null);
        }
        y += rowsRight * rowH + 22;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("Misclassified (" + wrong.size() + "): image | saliency of the predicted class | saliency of the true class", margin, y);
        y += 8;
        if (wrong.isEmpty()) {
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawString("(no misclassified test image)", margin, y + 20);
        }
        for (int i = 0; i < wrong.size(); i++) {
            Tile t = wrong.get(i);
            int x0 = margin + (i % perRowWrong) * (wrongW + colGap), y0 = y + (i / perRowWrong) * rowH;
            caption(g, t.e(), names, x0, y0);
            g.drawImage(picture(t.x()), x0, y0 + cap, null);
            g.drawImage(map(t.predMap()), x0 + px + gap, y0 + cap, null);
            g.drawImage(map(t.trueMap()), x0 + 2 * (px + gap), y0 + cap, null);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
            g.setColor(Color.DARK_GRAY);
            g.drawString("c = pred " + names.get(t.e().pred()), x0 + px + gap, y0 + cap + px + 12);
            g.drawString("c = true " + names.get(t.e().label()), x0 + 2 * (px + gap), y0 + cap + px + 12);
        }
        g.dispose();
        Images.writePng(img, file);
    }

    private static void caption(Graphics2D g, Example e, List<String> names, int x, int y) {
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.setColor(e.correct() ? new Color(0x1a7f37) : new Color(0xc62828));
        g.drawString(String.format(Locale.ROOT, "true %s, pred %s (p %.2f)", names.get(e.label()), names.get(e.pred()), e.prob()), x, y + 16);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        g.setColor(Color.DARK_GRAY);
        g.drawString("test image #" + e.index(), x, y + 29);
    }

    private static BufferedImage picture(Tensor x) {
        return Images.enlarge(Images.fromNormalized(x, Loader.Normalize.FASHION_MNIST.mean(), Loader.Normalize.FASHION_MNIST.std()), SCALE);
    }

    /** Saliency maps are shown from 0 to this quantile of their values; the few larger values saturate. */
    static final double CLIP = 0.99;

    /**
     * A map (H,W) (values >= 0, a max of absolute values) as a viridis picture from 0 to its
     * {@link #CLIP} quantile: vanilla gradients have a few isolated peaks that would otherwise turn
     * the rest of the map dark.
     */
    private static BufferedImage map(Tensor m) {
        float[] sorted = m.data.clone();
        java.util.Arrays.sort(sorted);
        float hi = sorted[(int) Math.floor(CLIP * (sorted.length - 1))];
        int h = m.dim(-2), w = m.dim(-1);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.setRGB(x, y, Images.viridis(hi > 0 ? m.data[y * w + x] / hi : 0));
        return Images.enlarge(img, SCALE);
    }

    // ---------------------------------------------------------------- results

    private void writeResults(List<Variant> vs, Variant best, List<Tile> tiles, Dataset.Split data, int epochs, int nThreads,
                              String kernels) {
        StringBuilder md = new StringBuilder();
        md.append("# Transfer learning and saliency: results\n\n");
        md.append(String.format(Locale.ROOT, "Command: `convlens experiment transfer-saliency --out %s%s --threads %d --seed %d`%n%n",
                out, quick ? " --quick" : "", nThreads, seed));
        md.append(String.format(Locale.ROOT, "Data: OpenCV's digits sheet, %d train and %d test images (28x28, 10 classes, split by seed %d). "
                + "Pretrained network: the shipped %s (Fashion-MNIST). Budget for every variant: %d epochs, batch %d, SGD momentum %.1f, "
                + "weight decay %.0e, lr %.2f with cosine annealing to 0, no augmentation, Fashion-MNIST normalization. Kernels: %s.%n%n",
                data.train().size(), data.test().size(), seed, MODEL, epochs, BATCH, MOMENTUM, WEIGHT_DECAY, LR, kernels));
        md.append("| variant | what is trained | frozen | trainable parameters | test accuracy | test loss | train accuracy / loss "
                + "(last epoch, running, dropout on) | train accuracy / loss (final weights, inference mode) | time (s) |\n");
        md.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Variant v : vs) {
            Trainer.Epoch last = v.history().get(v.history().size() - 1);
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %,d | %.4f | %.4f | %.4f / %.4f | %.4f / %.4f | %.1f |%n", v.id(), v.title(),
                    v.frozen(), v.trainable(), v.test().accuracy(), v.test().loss(), last.trainAcc(), last.trainLoss(), v.trainEval().accuracy(),
                    v.trainEval().loss(), v.seconds()));
        }
        md.append("\nTest accuracy per epoch:\n\n| epoch |");
        for (Variant v : vs) md.append(' ').append(v.id()).append(" |");
        md.append("\n| ---: |");
        for (int i = 0; i < vs.size(); i++) md.append(" ---: |");
        md.append('\n');
        for (int e = 0; e < epochs; e++) {
            md.append("| ").append(e + 1).append(" |");
            for (Variant v : vs) md.append(String.format(Locale.ROOT, " %.4f |", v.history().get(e).testAcc()));
            md.append('\n');
        }
        md.append(String.format(Locale.ROOT, "%nSaliency maps (saliency.png) from the best variant, **%s** (test accuracy %.4f):%n%n", best.id(),
                best.test().accuracy()));
        md.append("| test image | true | predicted | probability | correct | saliency mass on ink | ink share of the image |\n"
                + "| ---: | ---: | ---: | ---: | --- | ---: | ---: |\n");
        double[] sum = new double[2], count = new double[2];
        for (Tile t : tiles) {
            Example e = t.e();
            md.append(String.format(Locale.ROOT, "| %d | %d | %d | %.3f | %s | %.3f | %.3f |%n", e.index(), e.label(), e.pred(), e.prob(),
                    e.correct() ? "yes" : "no", t.onInk(), t.inkArea()));
            sum[e.correct() ? 0 : 1] += t.onInk() / t.inkArea();
            count[e.correct() ? 0 : 1]++;
        }
        md.append(String.format(Locale.ROOT, "%nMean ratio (saliency mass on ink) / (ink share of the image): %.2f for the correct, %.2f for the "
                + "misclassified examples (1 = saliency spread evenly; ink = grey level >= %d).%n", sum[0] / Math.max(1, count[0]),
                sum[1] / Math.max(1, count[1]), INK));
        md.append("\nTimes are wall-clock seconds of training plus the per-epoch test evaluation, on a shared machine: noisy.\n");
        write(out.resolve("results.md"), md.toString());

        StringBuilder js = new StringBuilder("{\n");
        js.append("  \"experiment\": \"transfer-saliency\",\n");
        js.append(String.format(Locale.ROOT, "  \"seed\": %d, \"threads\": %d, \"quick\": %b, \"kernels\": \"%s\",%n", seed, nThreads, quick, kernels));
        js.append(String.format(Locale.ROOT, "  \"data\": {\"name\": \"digits\", \"train\": %d, \"test\": %d, \"classes\": %d},%n",
                data.train().size(), data.test().size(), data.train().classes().size()));
        js.append(String.format(Locale.ROOT, "  \"budget\": {\"epochs\": %d, \"batch\": %d, \"optimizer\": \"sgd\", \"momentum\": %s, "
                + "\"weight_decay\": %s, \"lr\": %s, \"schedule\": \"cosine\"},%n", epochs, BATCH, MOMENTUM, WEIGHT_DECAY, LR));
        js.append("  \"pretrained\": \"" + MODEL + "\",\n  \"variants\": [\n");
        for (int i = 0; i < vs.size(); i++) {
            Variant v = vs.get(i);
            js.append(String.format(Locale.ROOT, "    {\"id\": \"%s\", \"trained\": \"%s\", \"frozen\": \"%s\", \"trainable\": %d, "
                    + "\"test_acc\": %.6f, \"test_loss\": %.6f, \"train_eval_acc\": %.6f, \"train_eval_loss\": %.6f, \"seconds\": %.3f,%n"
                    + "     \"history\": [", v.id(), v.title(), v.frozen(), v.trainable(), v.test().accuracy(), v.test().loss(),
                    v.trainEval().accuracy(), v.trainEval().loss(), v.seconds()));
            for (int e = 0; e < v.history().size(); e++) {
                Trainer.Epoch ep = v.history().get(e);
                js.append(e == 0 ? "" : ", ").append(String.format(Locale.ROOT,
                        "{\"epoch\": %d, \"lr\": %.6g, \"train_loss\": %.6f, \"train_acc\": %.6f, \"test_loss\": %.6f, \"test_acc\": %.6f}",
                        ep.epoch(), ep.lr(), ep.trainLoss(), ep.trainAcc(), ep.testLoss(), ep.testAcc()));
            }
            js.append("]}").append(i < vs.size() - 1 ? "," : "").append('\n');
        }
        js.append("  ],\n  \"best\": \"").append(best.id()).append("\",\n  \"saliency\": [");
        for (int i = 0; i < tiles.size(); i++) {
            Example e = tiles.get(i).e();
            js.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"index\": %d, \"true\": %d, \"pred\": %d, \"prob\": %.6f, \"correct\": %b, \"saliency_on_ink\": %.6f, "
                    + "\"ink_area\": %.6f}", e.index(), e.label(), e.pred(), e.prob(), e.correct(), tiles.get(i).onInk(), tiles.get(i).inkArea()));
        }
        js.append("\n  ]\n}\n");
        write(out.resolve("results.json"), js.toString());
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new TrainingOptions.Failure(Main.INPUT, dir + ": cannot create the output folder: " + e.getMessage(), e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TrainingOptions.Failure(Main.INPUT, file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
