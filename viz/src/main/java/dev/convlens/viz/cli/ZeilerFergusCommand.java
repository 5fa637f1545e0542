package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxExporter;
import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.zoo.Heads;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Augment;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Idx;
import dev.convlens.nn.train.Loader;
import dev.convlens.nn.train.Schedule;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.Deconvnet;
import dev.convlens.viz.FeatureGrids;
import dev.convlens.viz.LayerRef;
import dev.convlens.viz.Occlusion;
import dev.convlens.viz.ReceptiveField;
import dev.convlens.viz.image.Images;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens experiment zeiler-fergus}: Zeiler and Fergus, "Visualizing and Understanding
 * Convolutional Networks", ECCV 2014, redone on Fashion-MNIST with {@code alexnet-small}
 * (docs/tutorial/zeiler-fergus.md explains the method and shows the figures).
 *
 * <p>Six steps, each writing into {@code --out}:
 * <ol>
 *   <li>train {@code alexnet-small} with SGD on a Fashion-MNIST subset, one ONNX snapshot per epoch in
 *       {@code epochs/} (epoch 0: the initial weights); curves in {@code fashion/};</li>
 *   <li>for a seeded random set of live channels of each convolution (its ReLU output), the 9 test images
 *       whose strongest unit in that channel is strongest (Fig. 2), as deconvnet projections
 *       ({@link Relu.Rule#DECONVNET}: unpooling through the switches, rectification, transposed filters)
 *       beside the receptive-field patches;</li>
 *   <li>the same channels' strongest projection in each epoch's snapshot (Fig. 4);</li>
 *   <li>the first layer's filters;</li>
 *   <li>occlusion maps for a few test images (Fig. 7): probability of the true class, summed activation of the
 *       strongest map of the last convolution, most probable class;</li>
 *   <li>transfer (Sec. 5): retrain only the last Linear layer of the Fashion-MNIST network on OpenCV's digits
 *       against the same architecture trained from scratch with the same epochs, batch size and optimizer (and, as a
 *       third arm, every layer fine-tuned from the Fashion-MNIST weights).</li>
 * </ol>
 * Everything is a function of the seed and the thread count.
 */
@Command(name = "zeiler-fergus",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Zeiler & Fergus 2014 on Fashion-MNIST: train alexnet-small keeping an ONNX snapshot per epoch, then top-9 "
                    + "deconvnet projections with their image patches for channels of every convolution, the same channels "
                    + "across epochs, the first-layer filters, occlusion maps, and transfer to OpenCV's handwritten digits "
                    + "(only the last layer retrained) against training from scratch with the same budget (and against "
                    + "fine-tuning every layer).",
            "",
            "Writes into --out: curves.png, top9_conv1.png, top9_conv2.png, evolution.png, filters.png, occlusion.png, "
                    + "results.md and results.json; epochs/epoch-N.onnx (N = 0 is the initial network); fashion/ (curves.csv, "
                    + "checkpoint). The full run took 13 minutes on 2 busy cores (an estimated 6-8 when quiet); --quick is a small check.",
            "",
            "Example:",
            "  convlens experiment zeiler-fergus --out runs/zf --threads 2 --seed 1",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class ZeilerFergusCommand implements Callable<Integer> {
    static final String NAME = "experiment zeiler-fergus";

    @ParentCommand Experiment parent;
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--quick", description = "A shortened run (600 training images, 2 epochs, few channels and images) for tests.")
    boolean quick;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S",
            description = "Seed of the weights, batch order, dropout, channel choice and digits split (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs on Fashion-MNIST (default: 5; --quick: 2).")
    Integer epochs;

    @Option(names = "--train-images", paramLabel = "N",
            description = "Fashion-MNIST training images used, the first N of the 60,000 (default: 12000; --quick: 600).")
    Integer trainImages;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    // ---------------------------------------------------------------- the plan

    /** One transfer comparison: {@code perClass} digits per class (0: the whole training split), {@code epochs} for both arms. */
    record TransferRow(int perClass, int epochs) {}

    /**
     * The sizes of a run.
     *
     * @param testImages  Fashion-MNIST test images for accuracy (the first N of 10,000)
     * @param visImages   test images searched for top activations (the first N)
     * @param channels    channels shown per convolution
     * @param digitsTest  digits test images per class (the first N of each class in the seeded 20% split; 0: all)
     */
    record Plan(int epochs, int trainImages, int testImages, int visImages, int channels, int occlusionImages, int digitsTest,
                List<TransferRow> transfer) {}

    static final int BATCH = 64, KEEP = 9, TILE = 40, OCC_SIZE = 12, OCC_STRIDE = 2, OCC_SCALE = 4;
    static final double LR = 0.05, MOMENTUM = 0.9, WEIGHT_DECAY = 5e-4;
    /** The convolutions of alexnet-small and the ReLU after each, whose output is the layer's feature maps. */
    static final List<String> LAYER_NAMES = List.of("conv1", "conv2"), LAYER_MODULES = List.of("features.1", "features.4");
    /** Fashion-MNIST classes whose first test image gets occlusion maps: T-shirt/top, Pullover, Shirt, Ankle boot. */
    static final int[] OCCLUSION_CLASSES = {0, 2, 6, 9};
    static final Loader.Normalize NORM = Loader.Normalize.FASHION_MNIST;

    Plan plan() {
        Plan p = quick
                ? new Plan(2, 600, 200, 100, 3, 2, 20, List.of(new TransferRow(20, 2)))
                : new Plan(5, 12000, 10000, 2000, 6, 4, 0, List.of(new TransferRow(10, 30), new TransferRow(0, 3)));
        return new Plan(epochs != null ? epochs : p.epochs(), trainImages != null ? trainImages : p.trainImages(), p.testImages(),
                p.visImages(), p.channels(), p.occlusionImages(), p.digitsTest(), p.transfer());
    }

    @Override
    public Integer call() {
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        if (epochs != null && epochs < 1) throw new ParameterException(spec.commandLine(), "--epochs must be at least 1");
        if (trainImages != null && (trainImages < 10 || trainImages > 60000)) {
            throw new ParameterException(spec.commandLine(), "--train-images must be in [10, 60000]");
        }
        PrintStream err = parent.main.err;
        try {
            run(plan(), err);
            return Main.OK;
        } catch (UncheckedIOException e) {
            err.println("convlens " + NAME + ": " + e.getMessage());
            if (verbose) e.printStackTrace(err);
            return Main.INPUT;
        } catch (RuntimeException e) {
            return CliInputs.report(NAME, e, verbose, err);
        }
    }

    // ---------------------------------------------------------------- the run

    private void run(Plan p, PrintStream err) {
        long t0 = System.nanoTime();
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Kernels k = Backend.select("simd", nThreads);
        Results res = new Results();
        res.put("experiment", "zeiler-fergus").put("quick", quick).put("seed", seed).put("threads", nThreads).put("kernels", k.name());
        mkdirs(out.resolve("epochs"));

        // 1. train, one snapshot per epoch
        Dataset train, test;
        try {
            train = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, true).head(p.trainImages());
            test = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false).head(p.testImages());
        } catch (IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
        }
        step(err, 1, String.format(Locale.ROOT, "training %s on %d Fashion-MNIST images for %d epochs (SGD lr %.2g, cosine, batch %d); "
                + "test: %d images", SmallNets.ALEXNET, train.size(), p.epochs(), LR, BATCH, test.size()));
        Graph g = SmallNets.alexnet(1, 28, 10, seed);
        snapshot(g, 0);
        Trainer.Config cfg = new Trainer.Config(p.epochs(), BATCH, seed, new Schedule.Cosine(LR, p.epochs(), 0), Augment.NONE, NORM,
                out.resolve("fashion"), false, err);
        Trainer.Result tr = new Trainer(g, k, new Sgd(MOMENTUM, WEIGHT_DECAY, false), cfg).fit(train, test, e -> snapshot(g, e.epoch()));
        Charts.curves(tr.history(), out.resolve("curves.png"));
        res.history = tr.history();
        res.put("fashion_train_images", train.size()).put("fashion_test_images", test.size()).put("epochs", p.epochs())
                .put("fashion_test_accuracy", tr.test().accuracy()).put("fashion_test_loss", tr.test().loss());

        List<Graph> models = new ArrayList<>();
        for (int e = 0; e <= p.epochs(); e++) models.add(OnnxImporter.load(snapshotFile(e)));
        Graph last = models.get(p.epochs());
        Dataset vis = test.head(p.visImages());
        Tensor images = tensor(vis);
        List<String> values = resolveAll(last, LAYER_MODULES);

        // 2. top 9 per channel, final network
        step(err, 2, "top-" + KEEP + " deconvnet projections over " + vis.size() + " test images");
        Map<String, Strongest> scan = scan(last, k, images, values);
        int[][] chosen = new int[values.size()][];
        for (int l = 0; l < values.size(); l++) {
            chosen[l] = chooseChannels(scan.get(values.get(l)), p.channels(), seed + l);
            res.channels.put(LAYER_NAMES.get(l), chosen[l]);
            BufferedImage fig = top9Figure(last, k, images, values.get(l), LAYER_NAMES.get(l), chosen[l], scan.get(values.get(l)), res);
            Images.writePng(fig, out.resolve("top9_" + LAYER_NAMES.get(l) + ".png"));
        }

        // 3. the same channels through training
        step(err, 3, "evolution of the chosen channels over " + models.size() + " snapshots");
        List<Map<String, Strongest>> scans = new ArrayList<>();
        for (int e = 0; e < models.size(); e++) {
            scans.add(e == p.epochs() ? scan : scan(models.get(e), k, images, resolveAll(models.get(e), LAYER_MODULES)));
        }
        Images.writePng(evolutionFigure(models, scans, k, images, chosen, res), out.resolve("evolution.png"));

        // 4. first-layer filters
        step(err, 4, "first-layer filters");
        BufferedImage filters = FeatureGrids.filters(last, null, 32, 8, 8);
        Images.writePng(titled(filters, "conv1 filters (5x5) after epoch " + p.epochs()), out.resolve("filters.png"));

        // 5. occlusion
        step(err, 5, "occlusion maps (square " + OCC_SIZE + ", stride " + OCC_STRIDE + ") for " + p.occlusionImages() + " test images");
        Images.writePng(occlusionFigure(last, k, vis, images, values.get(values.size() - 1), p.occlusionImages(), res),
                out.resolve("occlusion.png"));

        // 6. transfer to digits
        step(err, 6, "transfer to OpenCV's digits: last layer retrained vs. trained from scratch");
        transfer(p, k, err, res);

        double seconds = (System.nanoTime() - t0) / 1e9;
        res.put("seconds", seconds);
        writeText(out.resolve("results.json"), res.json());
        writeText(out.resolve("results.md"), res.markdown(p, this));
        PrintStream o = parent.main.out;
        o.printf(Locale.ROOT, "zeiler-fergus: Fashion-MNIST test accuracy %.4f after %d epochs; %.0f s in all%n",
                tr.test().accuracy(), p.epochs(), seconds);
        for (String f : List.of("curves.png", "top9_conv1.png", "top9_conv2.png", "evolution.png", "filters.png", "occlusion.png",
                "results.md", "results.json")) {
            o.println("wrote " + out.resolve(f));
        }
        o.println("wrote " + out.resolve("epochs") + " (epoch-0.onnx .. epoch-" + p.epochs() + ".onnx)");
    }

    private void step(PrintStream err, int i, String what) {
        err.println("convlens " + NAME + ": [" + i + "/6] " + what);
    }

    private Path snapshotFile(int epoch) {
        return out.resolve("epochs").resolve("epoch-" + epoch + ".onnx");
    }

    private void snapshot(Graph g, int epoch) {
        OnnxExporter.write(g, snapshotFile(epoch), Map.of(g.inputs.get(0), new int[] {-1, 1, 28, 28}));
    }

    /** The value names of module paths. */
    static List<String> resolveAll(Graph g, List<String> modules) {
        List<String> v = new ArrayList<>();
        for (String m : modules) v.add(LayerRef.resolve(g, m));
        return v;
    }

    // ---------------------------------------------------------------- images and scans

    /** The whole dataset as one normalized tensor (N, C, H, W), through the same {@link Loader} training uses. */
    static Tensor tensor(Dataset d) {
        Tensor all = Tensor.zeros(d.size(), d.c(), d.h(), d.w());
        int at = 0;
        try (Loader loader = new Loader(d, 256, NORM, Augment.NONE, 0, 0, false)) {
            for (Loader.Batch b; (b = loader.next()) != null; ) {
                System.arraycopy(b.x().data, 0, all.data, at, b.x().size());
                at += b.x().size();
            }
        }
        return all;
    }

    /** Image {@code n} of {@code images} as (1, C, H, W). */
    static Tensor image(Tensor images, int n) {
        int m = images.size() / images.dim(0);
        return Tensor.of(Arrays.copyOfRange(images.data, n * m, (n + 1) * m), 1, images.dim(1), images.dim(2), images.dim(3));
    }

    /**
     * Per image and channel of one layer: the strongest unit, {@code act[n*channels + c]} its value and
     * {@code at[n*channels + c] = y*w + x} its place (the first of equal maxima).
     */
    record Strongest(float[] act, int[] at, int images, int channels, int w) {
        /** The largest activation of channel c over all images. */
        float max(int c) {
            float m = Float.NEGATIVE_INFINITY;
            for (int n = 0; n < images; n++) m = Math.max(m, act[n * channels + c]);
            return m;
        }

        /**
         * The {@code keep} images of channel {@code c} with the strongest unit, strongest first; ties go to
         * the earlier image.
         */
        int[] top(int c, int keep) {
            int[] best = new int[Math.min(keep, images)];
            boolean[] taken = new boolean[images];
            for (int r = 0; r < best.length; r++) {
                int b = -1;
                for (int n = 0; n < images; n++) if (!taken[n] && (b < 0 || act[n * channels + c] > act[b * channels + c])) b = n;
                taken[b] = true;
                best[r] = b;
            }
            return best;
        }
    }

    /** Runs {@code images} through {@code g} in batches and records each layer's strongest unit per image and channel. */
    static Map<String, Strongest> scan(Graph g, Kernels k, Tensor images, List<String> values) {
        int n = images.dim(0), per = images.size() / n, batch = 100;
        Map<String, float[]> acts = new LinkedHashMap<>();
        Map<String, int[]> ats = new LinkedHashMap<>();
        Map<String, int[]> dims = new LinkedHashMap<>();
        for (int first = 0; first < n; first += batch) {
            int b = Math.min(batch, n - first);
            Tensor xb = Tensor.of(Arrays.copyOfRange(images.data, first * per, (first + b) * per), b, images.dim(1), images.dim(2),
                    images.dim(3));
            Run run = g.forward(k, Map.of(g.inputs.get(0), xb), false);
            for (String v : values) {
                Tensor a = run.value(v); // (b, C, h, w)
                int c = a.dim(1), plane = a.dim(2) * a.dim(3);
                float[] act = acts.computeIfAbsent(v, key -> new float[n * c]);
                int[] at = ats.computeIfAbsent(v, key -> new int[n * c]);
                dims.putIfAbsent(v, new int[] {c, a.dim(3)});
                for (int i = 0; i < b; i++)
                    for (int ch = 0; ch < c; ch++) {
                        int off = (i * c + ch) * plane, best = 0;
                        for (int j = 1; j < plane; j++) if (a.data[off + j] > a.data[off + best]) best = j;
                        act[(first + i) * c + ch] = a.data[off + best];
                        at[(first + i) * c + ch] = best;
                    }
            }
        }
        Map<String, Strongest> result = new LinkedHashMap<>();
        for (String v : values) result.put(v, new Strongest(acts.get(v), ats.get(v), n, dims.get(v)[0], dims.get(v)[1]));
        return result;
    }

    /** {@code count} channels in a seeded random order, skipping dead ones (never above 0 on these images). */
    static int[] chooseChannels(Strongest s, int count, long seed) {
        int[] perm = Dataset.permutation(s.channels(), new SplittableRandom(seed));
        int[] out = new int[Math.min(count, s.channels())];
        int m = 0;
        for (int i = 0; i < perm.length && m < out.length; i++) if (s.max(perm[i]) > 0) out[m++] = perm[i];
        for (int i = 0; i < perm.length && m < out.length; i++) { // fewer live channels than asked: fill with dead ones
            boolean used = false;
            for (int j = 0; j < m; j++) used |= out[j] == perm[i];
            if (!used) out[m++] = perm[i];
        }
        return out;
    }

    /** The receptive field of unit (y, x) cut from {@code t (1,C,H,W)}: (1, C, sizeH, sizeW), zero outside the image. */
    static Tensor field(Tensor t, ReceptiveField.Field f, int y, int x) {
        int c = t.dim(1), h = t.dim(2), w = t.dim(3), fh = f.sizeH(), fw = f.sizeW();
        Tensor out = Tensor.zeros(1, c, fh, fw);
        ReceptiveField.Box b = f.box(y, x, h, w);
        int top = f.top(y), left = f.left(x);
        for (int ch = 0; ch < c; ch++)
            for (int yy = b.top(); yy < b.bottom(); yy++) {
                System.arraycopy(t.data, (ch * h + yy) * w + b.left(), out.data, (ch * fh + yy - top) * fw + b.left() - left, b.width());
            }
        return out;
    }

    /** A picture enlarged to about {@code size} pixels wide (nearest neighbour, an integer factor of at least 1). */
    static BufferedImage tile(BufferedImage img, int size) {
        return Images.enlarge(img, Math.max(1, size / img.getWidth()));
    }

    /** The deconvnet projection of unit (c, y, x) of {@code value} for image x, cut to the unit's receptive field. */
    static BufferedImage projection(Deconvnet d, Tensor x, String value, ReceptiveField.Field f, int c, int at, int w) {
        int y = at / w, xx = at % w;
        Tensor p = d.project(x, value, Deconvnet.Unit.at(c, y, xx), Relu.Rule.DECONVNET).projection();
        return tile(Images.signal(field(p, f, y, xx)), TILE);
    }

    // ---------------------------------------------------------------- figures

    /** Fig. 2: per channel, 3x3 deconvnet projections of its top 9 units beside the 3x3 receptive-field patches. */
    private static BufferedImage top9Figure(Graph g, Kernels k, Tensor images, String value, String name, int[] channels,
                                            Strongest s, Results res) {
        ReceptiveField.Field f = ReceptiveField.of(g, value);
        Deconvnet d = new Deconvnet(g, k);
        List<List<BufferedImage>> cells = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        for (int c : channels) {
            int[] top = s.top(c, KEEP);
            List<BufferedImage> projs = new ArrayList<>(), patches = new ArrayList<>();
            float[] acts = new float[top.length];
            for (int r = 0; r < top.length; r++) {
                int n = top[r], at = s.at()[n * s.channels() + c];
                Tensor x = image(images, n);
                projs.add(projection(d, x, value, f, c, at, s.w()));
                patches.add(tile(Images.fromNormalized(field(x, f, at / s.w(), at % s.w()), NORM.mean(), NORM.std()), TILE));
                acts[r] = s.act()[n * s.channels() + c];
            }
            res.top9.add(new Results.Top9(name, c, acts, top));
            cells.add(List.of(Images.grid(projs, null, 3, 3), Images.grid(patches, null, 3, 3)));
            rows.add(String.format(Locale.ROOT, "channel %d", c));
        }
        return table(String.format(Locale.ROOT, "%s: top %d of %d test images (receptive field %dx%d)", name, KEEP, s.images(),
                f.sizeH(), f.sizeW()), List.of("deconvnet projections", "image patches"), rows, cells, null);
    }

    /** Fig. 4: each chosen channel's strongest projection in each snapshot (rows: channels, columns: epochs). */
    private BufferedImage evolutionFigure(List<Graph> models, List<Map<String, Strongest>> scans, Kernels k, Tensor images,
                                          int[][] chosen, Results res) {
        List<List<BufferedImage>> cells = new ArrayList<>();
        List<List<String>> captions = new ArrayList<>();
        List<String> rows = new ArrayList<>(), cols = new ArrayList<>();
        for (int e = 0; e < models.size(); e++) cols.add(e == 0 ? "init" : "epoch " + e);
        for (int l = 0; l < chosen.length; l++)
            for (int c : chosen[l]) {
                List<BufferedImage> row = new ArrayList<>();
                List<String> caps = new ArrayList<>();
                float[] acts = new float[models.size()];
                for (int e = 0; e < models.size(); e++) {
                    Graph g = models.get(e);
                    String value = LayerRef.resolve(g, LAYER_MODULES.get(l));
                    Strongest s = scans.get(e).get(value);
                    int n = s.top(c, 1)[0], at = s.at()[n * s.channels() + c];
                    acts[e] = s.act()[n * s.channels() + c];
                    row.add(projection(new Deconvnet(g, k), image(images, n), value, ReceptiveField.of(g, value), c, at, s.w()));
                    caps.add(String.format(Locale.ROOT, "%.3g", acts[e]));
                }
                res.evolution.add(new Results.Evolution(LAYER_NAMES.get(l), c, acts));
                cells.add(row);
                captions.add(caps);
                rows.add(LAYER_NAMES.get(l) + " ch " + c);
            }
        return table("strongest deconvnet projection per snapshot (caption: its activation)", cols, rows, cells, captions);
    }

    /** Fig. 7: input, (a) p(true class), (b) summed strongest map, (c) most probable class, and that map's projection. */
    private static BufferedImage occlusionFigure(Graph g, Kernels k, Dataset vis, Tensor images, String value, int count,
                                                 Results res) {
        List<List<BufferedImage>> cells = new ArrayList<>();
        List<List<String>> captions = new ArrayList<>();
        List<String> rows = new ArrayList<>();
        List<String> names = vis.classes();
        Deconvnet d = new Deconvnet(g, k);
        int h = images.dim(2), w = images.dim(3), bh = h * OCC_SCALE, bw = w * OCC_SCALE;
        for (int i = 0; i < Math.min(count, OCCLUSION_CLASSES.length); i++) {
            int n = -1;
            for (int j = 0; j < vis.size() && n < 0; j++) if (vis.labels()[j] == OCCLUSION_CLASSES[i]) n = j;
            if (n < 0) continue;
            Tensor x = image(images, n);
            int t = vis.labels()[n];
            Occlusion.Maps m = Occlusion.run(g, k, x, t, value, new Occlusion.Config(OCC_SIZE, OCC_STRIDE, 0f, 64));
            BufferedImage input = Images.enlarge(Images.fromNormalized(x, NORM.mean(), NORM.std()), OCC_SCALE);
            BufferedImage prob = Images.enlarge(probability(Occlusion.toPixels(m, m.prob(), h, w), h, w), OCC_SCALE);
            BufferedImage act = Images.enlarge(Images.heatmap(Occlusion.toPixels(m, m.activation(), h, w), h, w), OCC_SCALE);
            float[] idx = new float[m.label().length];
            for (int j = 0; j < idx.length; j++) idx[j] = j;
            float[] cell = Occlusion.toPixels(m, idx, h, w);
            int[] labels = new int[bh * bw];
            for (int y = 0; y < bh; y++)
                for (int xx = 0; xx < bw; xx++) labels[y * bw + xx] = m.label()[(int) cell[(y / OCC_SCALE) * w + xx / OCC_SCALE]];
            BufferedImage label = Images.categorical(labels, bh, bw, names, 10);
            Tensor proj = d.project(x, value, Deconvnet.Unit.strongestIn(m.channel()), Relu.Rule.DECONVNET).projection();
            BufferedImage projection = Images.enlarge(Images.signal(proj), OCC_SCALE);
            float lo = min(m.prob()), hi = max(m.prob());
            int keep = 0;
            for (int l : m.label()) if (l == t) keep++;
            double kept = (double) keep / m.label().length;
            cells.add(List.of(input, prob, act, label, projection));
            captions.add(List.of(String.format(Locale.ROOT, "p = %.3f", m.cleanProb()), String.format(Locale.ROOT, "%.2f .. %.2f", lo, hi),
                    String.format(Locale.ROOT, "%.3g .. %.3g", min(m.activation()), max(m.activation())),
                    String.format(Locale.ROOT, "true label at %.0f%% of places", 100 * kept), "unit of channel " + m.channel()));
            rows.add(names.get(t));
            res.occlusion.add(new Results.Occ(n, names.get(t), m.cleanProb(), lo, m.channel(), m.cleanActivation(), kept));
        }
        return table(String.format(Locale.ROOT, "occlusion: grey %dx%d square, stride %d (%dx%d places); (b) and projection: channel k* of "
                        + "conv2, the strongest on the clean image", OCC_SIZE, OCC_SIZE, OCC_STRIDE, (h - OCC_SIZE) / OCC_STRIDE + 1,
                (w - OCC_SIZE) / OCC_STRIDE + 1),
                List.of("input", "(a) p(true class), 0..1", "(b) sum of map k*", "(c) most probable class", "projection of k*"), rows, cells,
                captions);
    }

    /** A probability map on a fixed scale: viridis from 0 (dark) to 1 (yellow). */
    static BufferedImage probability(float[] p, int h, int w) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img.setRGB(x, y, Images.viridis(p[y * w + x]));
        return img;
    }

    private static float min(float[] a) {
        float m = Float.POSITIVE_INFINITY;
        for (float v : a) m = Math.min(m, v);
        return m;
    }

    private static float max(float[] a) {
        float m = Float.NEGATIVE_INFINITY;
        for (float v : a) m = Math.max(m, v);
        return m;
    }

    /** A picture with a title line above it. */
    static BufferedImage titled(BufferedImage img, String title) {
        return table(title, List.of(), List.of(""), List.of(List.of(img)), null);
    }

    /**
     * A labelled table of pictures on white: a title, column headers, a label left of each row, and an
     * optional caption under each cell. Columns are as wide as their widest cell, rows as tall as their
     * tallest.
     */
    static BufferedImage table(String title, List<String> cols, List<String> rows, List<List<BufferedImage>> cells,
                               List<List<String>> captions) {
        Font plain = new Font(Font.SANS_SERIF, Font.PLAIN, 11), bold = new Font(Font.SANS_SERIF, Font.BOLD, 12);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(plain), fb = pg.getFontMetrics(bold);
        int ncols = 0;
        for (List<BufferedImage> r : cells) ncols = Math.max(ncols, r.size());
        int gap = 6, line = 14, labelW = 0;
        for (String r : rows) labelW = Math.max(labelW, fm.stringWidth(r));
        if (labelW > 0) labelW += gap;
        int[] colW = new int[ncols], rowH = new int[cells.size()];
        for (int j = 0; j < ncols; j++) if (j < cols.size()) colW[j] = fm.stringWidth(cols.get(j));
        for (int i = 0; i < cells.size(); i++)
            for (int j = 0; j < cells.get(i).size(); j++) {
                BufferedImage c = cells.get(i).get(j);
                colW[j] = Math.max(colW[j], c.getWidth());
                if (captions != null) colW[j] = Math.max(colW[j], fm.stringWidth(captions.get(i).get(j)));
                rowH[i] = Math.max(rowH[i], c.getHeight() + (captions != null ? line : 0));
            }
        int headH = cols.isEmpty() ? 0 : line + 2, titleH = title == null ? 0 : line + 6;
        int width = gap + labelW, height = gap + titleH + headH;
        for (int w : colW) width += w + gap;
        for (int h : rowH) height += h + gap;
        width = Math.max(width, gap * 2 + (title == null ? 0 : fb.stringWidth(title)));
        pg.dispose();
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.BLACK);
        if (title != null) {
            g.setFont(bold);
            g.drawString(title, gap, gap + line - 2);
        }
        g.setFont(plain);
        int x0 = gap + labelW, y = gap + titleH;
        int x = x0;
        for (int j = 0; j < ncols; j++) {
            if (j < cols.size()) g.drawString(cols.get(j), x, y + line - 3);
            x += colW[j] + gap;
        }
        y += headH;
        for (int i = 0; i < cells.size(); i++) {
            int imgH = rowH[i] - (captions != null ? line : 0);
            g.drawString(rows.get(i), gap, y + imgH / 2 + 4);
            x = x0;
            for (int j = 0; j < cells.get(i).size(); j++) {
                BufferedImage c = cells.get(i).get(j);
                g.drawImage(c, x, y, null);
                if (captions != null) g.drawString(captions.get(i).get(j), x, y + c.getHeight() + line - 3);
                x += colW[j] + gap;
            }
            y += rowH[i] + gap;
        }
        g.dispose();
        return img;
    }

    // ---------------------------------------------------------------- transfer

    /** For each row: the Fashion-MNIST network with only a fresh last layer trained, against the same net from scratch. */
    private void transfer(Plan p, Kernels k, PrintStream err, Results res) {
        Dataset.Split digits;
        try {
            digits = DigitsSheet.load(DigitsSheet.DEFAULT, 28).split(0.2, seed);
        } catch (IllegalArgumentException e) {
            throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
        }
        Dataset test = p.digitsTest() > 0 ? perClass(digits.test(), p.digitsTest()) : digits.test();
        for (TransferRow row : p.transfer()) {
            Dataset train = row.perClass() > 0 ? perClass(digits.train(), row.perClass()) : digits.train();
            Graph base = OnnxImporter.load(snapshotFile(p.epochs()));
            base.freezePrefix("");
            Graph head = Heads.replaceLast(base, 10, seed);
            Graph all = Heads.replaceLast(OnnxImporter.load(snapshotFile(p.epochs())), 10, seed);
            Graph scratch = SmallNets.alexnet(1, 28, 10, seed);
            List<Graph> arms = List.of(head, all, scratch);
            List<String> names = List.of("last layer only, from Fashion-MNIST", "all layers, from Fashion-MNIST", "all layers, from scratch");
            double[] a = new double[arms.size()], secs = new double[arms.size()];
            long steps = 0;
            for (int i = 0; i < arms.size(); i++) {
                err.printf(Locale.ROOT, "convlens %s: transfer, %s: %d digit images, %d epochs ...%n", NAME, names.get(i), train.size(),
                        row.epochs());
                long t0 = System.nanoTime();
                Trainer trainer = new Trainer(arms.get(i), k, new Sgd(MOMENTUM, WEIGHT_DECAY, false), new Trainer.Config(row.epochs(),
                        BATCH, seed, new Schedule.Cosine(LR, row.epochs(), 0), Augment.NONE, NORM, null, false, null));
                a[i] = trainer.fit(train, test).test().accuracy();
                secs[i] = (System.nanoTime() - t0) / 1e9;
                steps = trainer.step();
                err.printf(Locale.ROOT, "convlens %s:   test accuracy %.4f (%d steps, %.1f s)%n", NAME, a[i], steps, secs[i]);
            }
            res.transfer.add(new Results.Transfer(row.perClass() > 0 ? row.perClass() : train.size() / 10, train.size(), test.size(),
                    row.epochs(), steps, Trainer.learnableValues(head), Trainer.learnableValues(scratch), a[0], a[1], a[2], secs[0], secs[1], secs[2]));
        }
    }

    /** The first {@code n} images of each class, in dataset order. */
    static Dataset perClass(Dataset d, int n) {
        int[] count = new int[d.classes().size()];
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) if (count[d.labels()[i]]++ < n) idx.add(i);
        int[] a = new int[idx.size()];
        for (int i = 0; i < a.length; i++) a[i] = idx.get(i);
        return d.subset(a);
    }

    // ---------------------------------------------------------------- results

    /** What results.json and results.md hold. */
    static final class Results {
        record Top9(String layer, int channel, float[] activations, int[] images) {}

        record Evolution(String layer, int channel, float[] top1PerEpoch) {}

        record Occ(int image, String label, float cleanProb, float minProb, int channel, float cleanActivation, double trueLabelShare) {}

        record Transfer(int perClass, int trainImages, int testImages, int epochs, long steps, long headValues, long scratchValues,
                        double lastLayerAccuracy, double fineTuneAccuracy, double scratchAccuracy, double lastLayerSeconds,
                        double fineTuneSeconds, double scratchSeconds) {}

        final Map<String, Object> scalars = new LinkedHashMap<>();
        final Map<String, int[]> channels = new LinkedHashMap<>();
        List<Trainer.Epoch> history = List.of();
        final List<Top9> top9 = new ArrayList<>();
        final List<Evolution> evolution = new ArrayList<>();
        final List<Occ> occlusion = new ArrayList<>();
        final List<Transfer> transfer = new ArrayList<>();

        Results put(String key, Object value) {
            scalars.put(key, value);
            return this;
        }

        String json() {
            StringBuilder s = new StringBuilder("{\n");
            for (Map.Entry<String, Object> e : scalars.entrySet()) s.append("  ").append(q(e.getKey())).append(": ").append(v(e.getValue())).append(",\n");
            s.append("  \"history\": [");
            for (int i = 0; i < history.size(); i++) {
                Trainer.Epoch e = history.get(i);
                s.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"epoch\": %d, \"lr\": %s, \"train_loss\": %s, "
                        + "\"train_accuracy\": %s, \"test_loss\": %s, \"test_accuracy\": %s, \"seconds\": %s}", e.epoch(), num(e.lr()),
                        num(e.trainLoss()), num(e.trainAcc()), num(e.testLoss()), num(e.testAcc()), num(e.seconds())));
            }
            s.append("\n  ],\n  \"channels\": {");
            int i = 0;
            for (Map.Entry<String, int[]> e : channels.entrySet()) {
                s.append(i++ == 0 ? "" : ", ").append(q(e.getKey())).append(": ").append(Arrays.toString(e.getValue()));
            }
            s.append("},\n  \"top9\": [");
            for (i = 0; i < top9.size(); i++) {
                Top9 t = top9.get(i);
                s.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"layer\": %s, \"channel\": %d, \"activations\": %s, "
                        + "\"test_images\": %s}", q(t.layer()), t.channel(), nums(t.activations()), Arrays.toString(t.images())));
            }
            s.append("\n  ],\n  \"evolution\": [");
            for (i = 0; i < evolution.size(); i++) {
                Evolution t = evolution.get(i);
                s.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"layer\": %s, \"channel\": %d, \"top1_per_epoch\": %s}",
                        q(t.layer()), t.channel(), nums(t.top1PerEpoch())));
            }
            s.append("\n  ],\n  \"occlusion\": [");
            for (i = 0; i < occlusion.size(); i++) {
                Occ o = occlusion.get(i);
                s.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"test_image\": %d, \"label\": %s, \"clean_prob\": %s, "
                        + "\"min_prob\": %s, \"channel\": %d, \"clean_activation\": %s, \"true_label_share\": %s}", o.image(), q(o.label()),
                        num(o.cleanProb()), num(o.minProb()), o.channel(), num(o.cleanActivation()), num(o.trueLabelShare())));
            }
            s.append("\n  ],\n  \"transfer\": [");
            for (i = 0; i < transfer.size(); i++) {
                Transfer t = transfer.get(i);
                s.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT, "    {\"per_class\": %d, \"train_images\": %d, "
                        + "\"test_images\": %d, \"epochs\": %d, \"steps\": %d, \"last_layer_values\": %d, \"scratch_values\": %d, "
                        + "\"last_layer_accuracy\": %s, \"finetune_accuracy\": %s, \"scratch_accuracy\": %s, \"last_layer_seconds\": %s, "
                        + "\"finetune_seconds\": %s, \"scratch_seconds\": %s}",
                        t.perClass(), t.trainImages(), t.testImages(), t.epochs(), t.steps(), t.headValues(), t.scratchValues(),
                        num(t.lastLayerAccuracy()), num(t.fineTuneAccuracy()), num(t.scratchAccuracy()), num(t.lastLayerSeconds()),
                        num(t.fineTuneSeconds()), num(t.scratchSeconds())));
            }
            return s.append("\n  ]\n}\n").toString();
        }

        String markdown(Plan p, ZeilerFergusCommand cmd) {
            StringBuilder s = new StringBuilder("# Zeiler & Fergus 2014 on Fashion-MNIST: results\n\n");
            s.append(String.format(Locale.ROOT, "`convlens experiment zeiler-fergus --out %s%s --seed %d --threads %s` (kernels %s), %.0f s in all.%n%n",
                    cmd.out, cmd.quick ? " --quick" : "", cmd.seed, scalars.get("threads"), scalars.get("kernels"), (double) scalars.get("seconds")));
            s.append(String.format(Locale.ROOT, "## Training `alexnet-small` on Fashion-MNIST%n%n%d training images (the first of the 60,000), "
                    + "%d test images; SGD (momentum %.1f, weight decay %.0e), lr %.2g with cosine annealing, batch %d, no augmentation.%n%n",
                    (int) scalars.get("fashion_train_images"), (int) scalars.get("fashion_test_images"), MOMENTUM, WEIGHT_DECAY, LR, BATCH));
            s.append("| epoch | lr | train loss | train acc | test loss | test acc | seconds |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (Trainer.Epoch e : history) {
                s.append(String.format(Locale.ROOT, "| %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.1f |%n", e.epoch(), e.lr(), e.trainLoss(),
                        e.trainAcc(), e.testLoss(), e.testAcc(), e.seconds()));
            }
            s.append(String.format(Locale.ROOT, "%n## Strongest activation per snapshot (evolution.png)%n%nOver the first %d test images; "
                    + "the chosen channels are a seeded random draw among those that fire.%n%n| layer | channel |", p.visImages()));
            int n = evolution.isEmpty() ? 0 : evolution.get(0).top1PerEpoch().length;
            for (int e = 0; e < n; e++) s.append(e == 0 ? " init |" : " epoch " + e + " |");
            s.append("\n| --- | ---: |");
            for (int e = 0; e < n; e++) s.append(" ---: |");
            s.append('\n');
            for (Evolution ev : evolution) {
                s.append("| ").append(ev.layer()).append(" | ").append(ev.channel()).append(" |");
                for (float a : ev.top1PerEpoch()) s.append(String.format(Locale.ROOT, " %.3g |", a));
                s.append('\n');
            }
            s.append(String.format(Locale.ROOT, "%n## Occlusion (occlusion.png)%n%nGrey (mean) %dx%d square, stride %d; map (b) and k*: conv2."
                    + "%n%n| test image | true class | p(true), clean | lowest p(true) | share of places still predicting it | k* |%n"
                    + "| ---: | --- | ---: | ---: | ---: | ---: |%n", OCC_SIZE, OCC_SIZE, OCC_STRIDE));
            for (Occ o : occlusion) {
                s.append(String.format(Locale.ROOT, "| %d | %s | %.4f | %.4f | %.0f%% | %d |%n", o.image(), o.label(), o.cleanProb(), o.minProb(),
                        100 * o.trueLabelShare(), o.channel()));
            }
            s.append(String.format(Locale.ROOT, "%n## Transfer to OpenCV's handwritten digits%n%nDigits split 80/20 by seed %d; test on %d "
                    + "held-out digits. Every arm: same epochs, batch %d, SGD, lr %.2g cosine, weight decay %.0e. \"Last layer\": the "
                    + "Fashion-MNIST network with a fresh `classifier.4`, everything else frozen; \"scratch\": the same architecture, all "
                    + "layers trained from seeded random weights; \"all layers, from Fashion-MNIST\" (not in the paper's Sec. 5): "
                    + "the Fashion-MNIST network with a fresh `classifier.4`, every layer trained.%n%n", cmd.seed, transfer.isEmpty() ? 0 : transfer.get(0).testImages(), BATCH,
                    LR, WEIGHT_DECAY));
            s.append("| digits per class | training images | epochs | steps | last layer only, from Fashion-MNIST | all layers, from "
                    + "Fashion-MNIST | all layers, from scratch |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (Transfer t : transfer) {
                s.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | **%.4f** (%,d values trained) | %.4f | **%.4f** (%,d values trained) |%n",
                        t.perClass(), t.trainImages(), t.epochs(), t.steps(), t.lastLayerAccuracy(), t.headValues(), t.fineTuneAccuracy(),
                        t.scratchAccuracy(), t.scratchValues()));
            }
            return s.toString();
        }

        private static String q(String s) {
            return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
        }

        private static String v(Object o) {
            if (o instanceof String str) return q(str);
            if (o instanceof Double d) return num(d);
            if (o instanceof Float f) return num(f);
            return String.valueOf(o);
        }

        private static String num(double d) {
            return Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null";
        }

        private static String nums(float[] a) {
            StringBuilder s = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) s.append(i == 0 ? "" : ", ").append(num(a[i]));
            return s.append(']').toString();
        }
    }

    private static void mkdirs(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot create the folder: " + e.getMessage(), e);
        }
    }

    private static void writeText(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
