package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.models.zoo.Heads;
import dev.convlens.models.zoo.SmallNets;
import dev.convlens.models.zoo.Zoo;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Augment;
import dev.convlens.nn.train.Dataset;
import dev.convlens.nn.train.DigitsSheet;
import dev.convlens.nn.train.Idx;
import dev.convlens.nn.train.Loader;
import dev.convlens.nn.train.Schedule;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.nn.train.UciDigits;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.Cka;
import dev.convlens.viz.am.ActivationMaximization;
import dev.convlens.viz.am.Objective;
import dev.convlens.viz.am.Optimizer;
import dev.convlens.viz.am.Robustness;
import dev.convlens.viz.image.Images;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
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
 * {@code convlens experiment resnet-init}: does where a network's weights come from show after
 * fine-tuning? Two networks of one ResNet-style architecture ({@link SmallNets#resnet}), A
 * pretrained on Fashion-MNIST (the shipped {@code resnet-small.onnx}) and B pretrained here on
 * OpenCV's digits sheet, are both fine-tuned (new {@code fc}, every layer trained) on the same 600
 * UCI handwritten digits ({@link UciDigits}, from Debian's python3-sklearn). Then: their test
 * accuracy; class activation maximization side by side at three hidden layers and the logits; and
 * linear CKA ({@link Cka}) between the two networks' activations at every layer on the same test
 * images, before and after fine-tuning. docs/tutorial/resnet-init.md explains it.
 */
@Command(name = "resnet-init",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Two resnet-small networks, pretrained on Fashion-MNIST (A, shipped) and on OpenCV's digits sheet (B, trained "
                    + "here), both fine-tuned on the same 600 UCI handwritten digits (python3-sklearn). Writes their test "
                    + "accuracies, class activation maximization side by side (layer1-3 channels and class logits), and linear "
                    + "CKA between the two networks at every layer (table and plot), before and after fine-tuning.",
            "",
            "Example:",
            "  convlens experiment resnet-init --out runs/resnet-init --threads 2",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class ResnetInitCommand implements Callable<Integer> {
    @ParentCommand Experiment parent;
    @Spec CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the figures, results.md and results.json.")
    Path out;

    @Option(names = "--quick", description = "A shortened run (few images, few steps) that only checks the pipeline.")
    boolean quick;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
            description = "Seed of network B, the fresh heads, the data split, batch order, augmentation and AM (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** The sizes of a run. */
    record Budget(int digitsTrain, int digitsTest, int pretrainEpochs, int finetuneTrain, int finetuneTest, int finetuneEpochs,
                  int ckaImages, int amSteps, int amClasses, int fashionTest) {
        /** The full run: about 12 minutes on 2 quiet cores. */
        static final Budget FULL = new Budget(4000, 1000, 6, 600, 1197, 15, 500, 64, 10, 10000);
        /** --quick: seconds; checks that every step runs and writes its files. */
        static final Budget QUICK = new Budget(128, 64, 1, 64, 64, 2, 32, 4, 2, 64);
    }

    /** Optimization settings (SGD with momentum, cosine schedule, as {@code convlens train}). */
    static final int BATCH_PRETRAIN = 64, BATCH_FINETUNE = 32, CROP_PAD = 2;
    static final double LR_PRETRAIN = 0.05, LR_FINETUNE = 0.02, MOMENTUM = 0.9, WEIGHT_DECAY = 5e-4;
    /** Class AM as in {@code convlens demo}: Adam learning rate and total-variation weight. */
    static final double AM_LR = 0.1, AM_TV = 0.02;
    /** Every image, pretraining and fine-tuning alike, is normalized with Fashion-MNIST's statistics (what A was trained with). */
    static final Loader.Normalize NORM = Loader.Normalize.FASHION_MNIST;
    /** The layers compared: graph value names of {@link SmallNets#resnet} and what the tables call them. */
    static final List<String> LAYERS = List.of("relu", "layer1.0", "layer2.0", "layer3.0", "avgpool", "logits");
    static final List<String> LAYER_TITLES = List.of("stem", "layer1", "layer2", "layer3", "avgpool", "logits");
    /** The hidden layers of the activation-maximization figure. */
    static final List<String> AM_LAYERS = List.of("layer1.0", "layer2.0", "layer3.0");
    static final int SCALE = 3;

    @Override
    public Integer call() {
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        PrintStream err = parent.main.err;
        return VizSupport.guard("experiment resnet-init", err, verbose, () -> {
            try {
                List<Path> files = run(out, quick ? Budget.QUICK : Budget.FULL, threads != null ? threads
                        : Runtime.getRuntime().availableProcessors(), seed, err);
                for (Path f : files) parent.main.out.println(f);
            } catch (IOException | UncheckedIOException e) {
                throw new Predict.Failure(Main.INPUT, "cannot write " + out + ": " + e.getMessage(), e);
            } catch (IllegalArgumentException e) {
                throw new Predict.Failure(Main.INPUT, e.getMessage(), e);
            }
        });
    }

    /** One fine-tuned network's story. */
    record Net(String name, String source, double sourceAcc, int sourceTest, double finetuneAcc, double finetuneLoss,
               List<Trainer.Epoch> curves) {}

    /** Runs the experiment into {@code dir}; returns the files written. */
    static List<Path> run(Path dir, Budget b, int threads, long seed, PrintStream err) throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(dir);
        Kernels k = Backend.select("simd", threads);
        Progress p = new Progress(err, t0);

        // ---------------------------------------------------------------- data
        Dataset uci = UciDigits.load(UciDigits.DEFAULT, 20, 28);
        int[] perm = Dataset.permutation(uci.size(), new SplittableRandom(seed));
        Dataset third = uci.subset(Arrays.copyOfRange(perm, 0, b.finetuneTrain()));
        Dataset thirdTest = uci.subset(Arrays.copyOfRange(perm, b.finetuneTrain(), Math.min(uci.size(), b.finetuneTrain() + b.finetuneTest())));
        Dataset ckaSet = thirdTest.head(b.ckaImages());
        Dataset.Split digits = DigitsSheet.load(DigitsSheet.DEFAULT, 28).split(0.2, seed);
        Dataset digitsTrain = digits.train().sample(b.digitsTrain(), seed), digitsTest = digits.test().sample(b.digitsTest(), seed);
        p.note(String.format(Locale.ROOT, "data: third set UCI digits %d fine-tuning + %d test images (CKA on %d); digits sheet %d train + "
                + "%d test; %d threads, kernels %s", third.size(), thirdTest.size(), ckaSet.size(), digitsTrain.size(), digitsTest.size(),
                threads, k.name()));

        // ---------------------------------------------------------------- the two pretrained networks
        Graph a = SmallNets.resnet(1, 10, seed);
        Zoo.loadWeights(a, shippedResnet());
        double aSourceAcc = Double.NaN;
        int aSourceN = 0;
        if (Files.isRegularFile(Idx.FASHION_MNIST_DIR.resolve("t10k-images-idx3-ubyte.gz"))) {
            Dataset fashionTest = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false).head(b.fashionTest());
            aSourceAcc = new Trainer(a, k, new Sgd(0, 0, false), pretrainConfig(1, seed, null, null)).evaluate(fashionTest, 64, NORM).accuracy();
            aSourceN = fashionTest.size();
            p.note(String.format(Locale.ROOT, "A: shipped resnet-small, Fashion-MNIST test accuracy %.4f on %d images", aSourceAcc, aSourceN));
        } else {
            p.note("A: Fashion-MNIST (dataset-fashion-mnist) not installed; its source accuracy is not measured");
        }
        p.note("B: training resnet-small on the digits sheet, " + b.pretrainEpochs() + " epochs of " + digitsTrain.size() + " images");
        Graph bNet = SmallNets.resnet(1, 10, seed);
        Trainer.Result bPre = new Trainer(bNet, k, sgd(), pretrainConfig(b.pretrainEpochs(), seed, dir.resolve("pretrain-b"), err))
                .fit(digitsTrain, digitsTest);
        p.note(String.format(Locale.ROOT, "B: digits-sheet test accuracy %.4f", bPre.test().accuracy()));

        // ---------------------------------------------------------------- CKA before fine-tuning
        p.note("CKA before fine-tuning: activations of " + ckaSet.size() + " test images at " + LAYER_TITLES);
        List<double[]> gramAPre = grams(a, k, ckaSet), gramBPre = grams(bNet, k, ckaSet);

        // ---------------------------------------------------------------- fine-tuning
        Graph aFt = Heads.replaceLast(copy(a), 10, seed + 1), bFt = Heads.replaceLast(copy(bNet), 10, seed + 1);
        p.note("fine-tuning A (Fashion-MNIST init) on " + third.size() + " UCI digits, " + b.finetuneEpochs() + " epochs, every layer");
        Trainer.Result aRes = new Trainer(aFt, k, sgd(), finetuneConfig(b.finetuneEpochs(), seed, dir.resolve("finetune-a"), err))
                .fit(third, thirdTest);
        p.note("fine-tuning B (digits-sheet init) the same way");
        Trainer.Result bRes = new Trainer(bFt, k, sgd(), finetuneConfig(b.finetuneEpochs(), seed, dir.resolve("finetune-b"), err))
                .fit(third, thirdTest);
        Net netA = new Net("A", "Fashion-MNIST (shipped resnet-small.onnx)", aSourceAcc, aSourceN, aRes.test().accuracy(),
                aRes.test().loss(), aRes.history());
        Net netB = new Net("B", "OpenCV digits sheet (trained here)", bPre.test().accuracy(), digitsTest.size(), bRes.test().accuracy(),
                bRes.test().loss(), bRes.history());
        p.note(String.format(Locale.ROOT, "fine-tuned test accuracy on %d UCI digits: A %.4f, B %.4f", thirdTest.size(),
                netA.finetuneAcc(), netB.finetuneAcc()));

        // ---------------------------------------------------------------- CKA after fine-tuning
        p.note("CKA after fine-tuning");
        List<double[]> gramAFt = grams(aFt, k, ckaSet), gramBFt = grams(bFt, k, ckaSet);
        int n = ckaSet.size();
        Map<String, double[]> cka = new LinkedHashMap<>();
        cka.put("A vs B, after fine-tuning", ckaRow(gramAFt, gramBFt, n));
        cka.put("A vs B, before fine-tuning", ckaRow(gramAPre, gramBPre, n));
        cka.put("A before vs A after", ckaRow(gramAPre, gramAFt, n));
        cka.put("B before vs B after", ckaRow(gramBPre, gramBFt, n));
        // baseline: what an untrained network of the same architecture already shares with A (the input's own structure)
        cka.put("A after vs untrained", ckaRow(gramAFt, grams(SmallNets.resnet(1, 10, seed + 100), k, ckaSet), n));

        // ---------------------------------------------------------------- activation maximization
        int[] classes = new int[b.amClasses()];
        for (int i = 0; i < classes.length; i++) classes[i] = i * 10 / b.amClasses();
        p.note("class activation maximization: " + classes.length + " classes x (" + AM_LAYERS.size() + " layers + logits) x 2 networks, "
                + b.amSteps() + " steps each");
        Tensor start = meanImage(third);
        Selective channelA = selectiveChannels(aFt, k, third), channelB = selectiveChannels(bFt, k, third);
        List<List<Am>> amA = new ArrayList<>(), amB = new ArrayList<>();
        for (int c : classes) {
            amA.add(activationMaximization(aFt, k, c, channelA, start, b.amSteps(), seed));
            amB.add(activationMaximization(bFt, k, c, channelB, start, b.amSteps(), seed));
            p.note("  class " + c + " done");
        }

        // ---------------------------------------------------------------- outputs
        List<Path> files = new ArrayList<>();
        Path amPng = dir.resolve("am-side-by-side.png"), ckaPng = dir.resolve("cka.png");
        Path curvesA = dir.resolve("finetune-a-curves.png"), curvesB = dir.resolve("finetune-b-curves.png"),
                curvesPre = dir.resolve("pretrain-b-curves.png");
        Images.writePng(amFigure(classes, amA, amB), amPng);
        Images.writePng(ckaChart(cka, n), ckaPng);
        Charts.curves(aRes.history(), curvesA);
        Charts.curves(bRes.history(), curvesB);
        Charts.curves(bPre.history(), curvesPre);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Path md = dir.resolve("results.md"), json = dir.resolve("results.json");
        Files.writeString(md, markdown(b, threads, seed, third.size(), thirdTest.size(), digitsTrain.size(), netA, netB, cka, n,
                classes, amA, amB, seconds), StandardCharsets.UTF_8);
        Files.writeString(json, json(b, threads, seed, third.size(), thirdTest.size(), netA, netB, cka, n, classes, amA, amB, seconds),
                StandardCharsets.UTF_8);
        files.addAll(List.of(amPng, ckaPng, curvesPre, curvesA, curvesB, md, json));
        p.note(String.format(Locale.ROOT, "done in %.0f s", seconds));
        return files;
    }

    /** {@code n} images of {@code d} drawn at random (all of them, in order, when {@code n >= d.size()}): the sheet is class-major. */
    // ---------------------------------------------------------------- training

    private static Sgd sgd() {
        return new Sgd(MOMENTUM, WEIGHT_DECAY, false);
    }

    private static Trainer.Config pretrainConfig(int epochs, long seed, Path out, PrintStream progress) {
        return new Trainer.Config(epochs, BATCH_PRETRAIN, seed, new Schedule.Cosine(LR_PRETRAIN, epochs, 0), new Augment(CROP_PAD, false),
                NORM, out, false, progress);
    }

    private static Trainer.Config finetuneConfig(int epochs, long seed, Path out, PrintStream progress) {
        return new Trainer.Config(epochs, BATCH_FINETUNE, seed, new Schedule.Cosine(LR_FINETUNE, epochs, 0), new Augment(CROP_PAD, false),
                NORM, out, false, progress);
    }

    /** The shipped Fashion-MNIST resnet-small, from the classpath. */
    private static Graph shippedResnet() throws IOException {
        String name = DemoCommand.RESOURCES + SmallNets.RESNET + ".onnx";
        try (InputStream in = ResnetInitCommand.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " is not on the classpath");
            return OnnxImporter.toGraph(OnnxModel.parse(Path.of(SmallNets.RESNET + ".onnx"), in.readAllBytes()));
        }
    }

    /** The same graph with its own copies of every parameter (fine-tuning must not change the pretrained network). */
    private static Graph copy(Graph g) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : g.params.entrySet()) params.put(e.getKey(), Tensor.of(e.getValue().data.clone(), e.getValue().shape()));
        return new Graph(g.nodes, params, g.inputs, g.outputs);
    }

    // ---------------------------------------------------------------- CKA

    /** The centred Gram matrix of each of {@link #LAYERS} over the images of {@code d} (inference mode). */
    private static List<double[]> grams(Graph g, Kernels k, Dataset d) {
        int n = d.size();
        float[][] feats = new float[LAYERS.size()][];
        int[] widths = new int[LAYERS.size()];
        try (Loader loader = new Loader(d, 100, NORM, Augment.NONE, 0, 0, false)) {
            int row = 0;
            for (Loader.Batch batch; (batch = loader.next()) != null; ) {
                var run = g.forward(k, Map.of(g.inputs.get(0), batch.x()), false);
                int bn = batch.labels().length;
                for (int l = 0; l < LAYERS.size(); l++) {
                    Tensor v = run.value(LAYERS.get(l));
                    int w = v.size() / bn;
                    if (feats[l] == null) {
                        feats[l] = new float[n * w];
                        widths[l] = w;
                    }
                    System.arraycopy(v.data, 0, feats[l], row * w, bn * w);
                }
                row += bn;
            }
        }
        List<double[]> out = new ArrayList<>();
        for (int l = 0; l < LAYERS.size(); l++) {
            out.add(Cka.centredGram(feats[l], n, widths[l]));
            feats[l] = null;
        }
        return out;
    }

    private static double[] ckaRow(List<double[]> x, List<double[]> y, int n) {
        double[] r = new double[x.size()];
        for (int l = 0; l < r.length; l++) r[l] = Cka.fromGrams(x.get(l), y.get(l), n);
        return r;
    }

    // ---------------------------------------------------------------- activation maximization

    /** One AM picture: what was maximized, the image in [0,1] (1,1,H,W), and the softmax probability of the class. */
    record Am(String objective, int channel, Tensor image, double prob, double objectiveStart, double objectiveEnd) {}

    /**
     * For each of {@link #AM_LAYERS} and each class, the channel most selective for the class
     * ({@code channel[layer][class]}): the largest difference between its spatial mean activation
     * averaged over the class's images and averaged over all images of {@code d}, divided by that
     * mean's standard deviation over all images ({@code sd[layer][channel]}).
     */
    record Selective(int[][] channel, double[][] sd) {}

    static Selective selectiveChannels(Graph g, Kernels k, Dataset d) {
        int layers = AM_LAYERS.size(), kk = d.classes().size();
        double[][][] sumClass = new double[layers][kk][];
        double[][] sum = new double[layers][], sq = new double[layers][];
        int[] count = new int[kk];
        try (Loader loader = new Loader(d, 100, NORM, Augment.NONE, 0, 0, false)) {
            for (Loader.Batch batch; (batch = loader.next()) != null; ) {
                var run = g.forward(k, Map.of(g.inputs.get(0), batch.x()), false);
                for (int i = 0; i < batch.labels().length; i++) count[batch.labels()[i]]++;
                for (int l = 0; l < layers; l++) {
                    Tensor v = run.value(AM_LAYERS.get(l));
                    int c = v.dim(1), hw = v.dim(2) * v.dim(3);
                    if (sum[l] == null) {
                        sum[l] = new double[c];
                        sq[l] = new double[c];
                        for (int j = 0; j < kk; j++) sumClass[l][j] = new double[c];
                    }
                    for (int i = 0; i < batch.labels().length; i++) {
                        for (int ch = 0; ch < c; ch++) {
                            double m = 0;
                            for (int q = 0; q < hw; q++) m += v.data[(i * c + ch) * hw + q];
                            m /= hw;
                            sum[l][ch] += m;
                            sq[l][ch] += m * m;
                            sumClass[l][batch.labels()[i]][ch] += m;
                        }
                    }
                }
            }
        }
        int[][] best = new int[layers][kk];
        double[][] sds = new double[layers][];
        for (int l = 0; l < layers; l++) {
            int c = sum[l].length;
            sds[l] = new double[c];
            for (int j = 0; j < kk; j++) {
                double top = Double.NEGATIVE_INFINITY;
                for (int ch = 0; ch < c; ch++) {
                    double mean = sum[l][ch] / d.size(), sd = Math.sqrt(Math.max(sq[l][ch] / d.size() - mean * mean, 0)) + 1e-6;
                    sds[l][ch] = sd;
                    double score = count[j] == 0 ? 0 : (sumClass[l][j][ch] / count[j] - mean) / sd;
                    if (score > top) {
                        top = score;
                        best[l][j] = ch;
                    }
                }
            }
        }
        return new Selective(best, sds);
    }

    /** The mean image of {@code d} in [0,1], (1,1,H,W): where every AM run starts. */
    static Tensor meanImage(Dataset d) {
        int m = d.imageSize();
        Tensor t = Tensor.zeros(1, d.c(), d.h(), d.w());
        for (int i = 0; i < d.size(); i++) for (int j = 0; j < m; j++) t.data[j] += (d.pixels()[i * m + j] & 0xff) / 255f / d.size();
        return t;
    }

    /**
     * AM of class {@code c}'s selective channel at each of {@link #AM_LAYERS} (its spatial mean divided by
     * the standard deviation of that mean over the fine-tuning images), then of its logit.
     */
    private static List<Am> activationMaximization(Graph g, Kernels k, int c, Selective sel, Tensor start, int steps, long seed) {
        int[][] channels = sel.channel();
        List<Am> out = new ArrayList<>();
        for (int l = 0; l <= AM_LAYERS.size(); l++) {
            boolean logit = l == AM_LAYERS.size();
            // a channel's objective in units of its spread over the data, so that the same TV weight suits every layer
            Objective o = logit ? new Objective.ClassLogit(c, 1)
                    : new Objective.Channel(AM_LAYERS.get(l), channels[l][c], 1 / sel.sd()[l][channels[l][c]]);
            ActivationMaximization am = new ActivationMaximization(g, k, List.of(o), NORM.mean(), NORM.std());
            DemoCommand.GrayParam param = DemoCommand.GrayParam.from(start, seed * 1000 + c);
            ActivationMaximization.Settings s = new ActivationMaximization.Settings(steps, new Robustness(2, 0f, 2, new double[0], 0, 1),
                    0, AM_TV, 4, 0.5, 0, seed * 1000 + c * 10 + l);
            ActivationMaximization.Result r = am.run(param, new Optimizer.Adam(AM_LR), s, null);
            double[] h = r.objective();
            out.add(new Am(logit ? "logit" : LAYER_TITLES.get(LAYERS.indexOf(AM_LAYERS.get(l))), logit ? -1 : channels[l][c], r.image(),
                    prob(g, k, r.image(), c), h.length == 0 ? Double.NaN : h[0], h.length == 0 ? Double.NaN : h[h.length - 1]));
        }
        return out;
    }

    /** softmax(net(normalized image))[c]. */
    private static double prob(Graph g, Kernels k, Tensor image, int c) {
        Tensor x = Tensor.zeros(image.shape());
        for (int i = 0; i < x.data.length; i++) x.data[i] = (image.data[i] - NORM.mean()[0]) / NORM.std()[0];
        float[] z = g.forward(k, Map.of(g.inputs.get(0), x), false).output().data;
        double max = Double.NEGATIVE_INFINITY, s = 0;
        for (float v : z) max = Math.max(max, v);
        for (float v : z) s += StrictMath.exp(v - max);
        return StrictMath.exp(z[c] - max) / s;
    }

    // ---------------------------------------------------------------- figures

    private static BufferedImage gray(Tensor img) {
        int h = img.dim(2), w = img.dim(3);
        BufferedImage b = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = Math.round(255 * Math.min(1f, Math.max(0f, img.data[y * w + x])));
                b.setRGB(x, y, (v << 16) | (v << 8) | v);
            }
        return Images.enlarge(b, SCALE);
    }

    /** Rows: classes; columns: A's layer1..3 channels and logit, a gap, then B's. Caption under each tile. */
    static BufferedImage amFigure(int[] classes, List<List<Am>> a, List<List<Am>> b) {
        int cols = AM_LAYERS.size() + 1, tile = 28 * SCALE, gap = 6, cap = 14, left = 62, top = 46, mid = 24;
        int w = left + 2 * cols * (tile + gap) + mid + gap, h = top + classes.length * (tile + cap + gap) + gap;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY); // all grey: half the PNG size of RGB
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        int blockW = cols * (tile + gap);
        g.drawString("A: Fashion-MNIST init, fine-tuned", left, 16);
        g.drawString("B: digits-sheet init, fine-tuned", left + blockW + mid, 16);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int side = 0; side < 2; side++) {
            for (int j = 0; j < cols; j++) {
                int x = left + side * (blockW + mid) + j * (tile + gap);
                g.drawString(j < AM_LAYERS.size() ? LAYER_TITLES.get(LAYERS.indexOf(AM_LAYERS.get(j))) + " channel" : "class logit", x, 36);
            }
        }
        for (int r = 0; r < classes.length; r++) {
            int y = top + r * (tile + cap + gap);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
            g.drawString("class " + classes[r], 6, y + tile / 2 + 4);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            for (int side = 0; side < 2; side++) {
                List<Am> row = (side == 0 ? a : b).get(r);
                for (int j = 0; j < cols; j++) {
                    Am am = row.get(j);
                    int x = left + side * (blockW + mid) + j * (tile + gap);
                    g.drawImage(gray(am.image()), x, y, null);
                    String caption = am.channel() >= 0 ? String.format(Locale.ROOT, "ch %d", am.channel())
                            : String.format(Locale.ROOT, "p=%.2f", am.prob());
                    g.drawString(caption, x, y + tile + 11);
                }
            }
        }
        g.setColor(new Color(0xb0b0b0));
        int xm = left + blockW + mid / 2 - gap / 2;
        g.drawLine(xm, 22, xm, h - 4);
        g.dispose();
        return img;
    }

    private static final Color[] LINE = {new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c), new Color(0x9467bd),
        new Color(0x7f7f7f)};

    /** CKA per layer, one line per comparison, y from 0 to 1. */
    static BufferedImage ckaChart(Map<String, double[]> rows, int n) {
        int w = 640, h = 380, left = 55, right = w - 200, top = 40, bottom = h - 45;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("linear CKA per layer on " + n + " UCI test digits", left, 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        for (int t = 0; t <= 5; t++) {
            int y = bottom - (bottom - top) * t / 5;
            g.setColor(new Color(0xe0e0e0));
            g.drawLine(left, y, right, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.1f", t / 5.0), left - 28, y + 4);
        }
        int layers = LAYER_TITLES.size();
        for (int l = 0; l < layers; l++) {
            int x = left + 20 + (right - left - 40) * l / (layers - 1);
            g.setColor(Color.DARK_GRAY);
            String s = LAYER_TITLES.get(l);
            g.drawString(s, x - g.getFontMetrics().stringWidth(s) / 2, bottom + 16);
        }
        g.drawString("layer", (left + right) / 2 - 12, bottom + 34);
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        int i = 0;
        for (Map.Entry<String, double[]> e : rows.entrySet()) {
            Color c = LINE[i % LINE.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(i == 0 ? 2.5f : 1.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                    i < 2 ? null : new float[] {5f, 4f}, 0f));
            int px = -1, py = -1;
            for (int l = 0; l < layers; l++) {
                double v = e.getValue()[l];
                if (!Double.isFinite(v)) {
                    px = -1;
                    continue;
                }
                int x = left + 20 + (right - left - 40) * l / (layers - 1), y = bottom - (int) Math.round((bottom - top) * v);
                g.fillOval(x - 3, y - 3, 7, 7);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x;
                py = y;
            }
            g.setStroke(new BasicStroke(1f));
            int ly = top + 10 + i * 20;
            g.drawLine(right + 12, ly, right + 32, ly);
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), right + 38, ly + 4);
            i++;
        }
        g.dispose();
        return img;
    }

    // ---------------------------------------------------------------- results

    private static String f4(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "n/a";
    }

    private static String markdown(Budget b, int threads, long seed, int ftTrain, int ftTest, int digitsTrain, Net a, Net bn,
                                   Map<String, double[]> cka, int n, int[] classes, List<List<Am>> amA, List<List<Am>> amB, double seconds) {
        StringBuilder s = new StringBuilder("# convlens experiment resnet-init\n\n");
        s.append(String.format(Locale.ROOT, "Seed %d, %d threads, %.0f s. Third set: UCI handwritten digits (python3-sklearn), %d images "
                + "for fine-tuning, %d for testing. Fine-tuning: every layer, new fc, SGD momentum %.1f, weight decay %.0e, lr %.3g "
                + "cosine, batch %d, %d epochs, random crop after %d-pixel padding.%n%n", seed, threads, seconds, ftTrain, ftTest,
                MOMENTUM, WEIGHT_DECAY, LR_FINETUNE, BATCH_FINETUNE, b.finetuneEpochs(), CROP_PAD));
        s.append("## Accuracy\n\n| network | pretrained on | source test accuracy | fine-tuned test accuracy (UCI digits) | test loss |\n");
        s.append("| --- | --- | --- | --- | --- |\n");
        for (Net net : List.of(a, bn)) {
            s.append(String.format(Locale.ROOT, "| %s | %s | %s (%d images) | %s | %s |%n", net.name(), net.source(), f4(net.sourceAcc()),
                    net.sourceTest(), f4(net.finetuneAcc()), f4(net.finetuneLoss())));
        }
        s.append(String.format(Locale.ROOT, "%nB was pretrained for %d epochs on %d digits-sheet images (batch %d, lr %.3g cosine).%n%n",
                b.pretrainEpochs(), digitsTrain, BATCH_PRETRAIN, LR_PRETRAIN));
        s.append(String.format(Locale.ROOT, "## Linear CKA on %d UCI test digits%n%n| comparison |", n));
        for (String t : LAYER_TITLES) s.append(' ').append(t).append(" |");
        s.append("\n| --- |");
        for (int l = 0; l < LAYER_TITLES.size(); l++) s.append(" --- |");
        s.append('\n');
        for (Map.Entry<String, double[]> e : cka.entrySet()) {
            s.append("| ").append(e.getKey()).append(" |");
            for (double v : e.getValue()) s.append(' ').append(f4(v)).append(" |");
            s.append('\n');
        }
        s.append("\n![CKA](cka.png)\n\n## Class activation maximization\n\n");
        s.append(String.format(Locale.ROOT, "%d Adam steps (lr %.2g, TV %.2g, 2-pixel jitter, blur every 4 steps) from the mean "
                + "fine-tuning image. Hidden layers: the channel most selective for the class (largest standardized difference of its "
                + "mean activation on the class's fine-tuning images), its spatial mean divided by that mean's standard deviation over "
                + "those images; output: the class logit, with the probability the network gives "
                + "the picture.%n%n| class | A channels (layer1, layer2, layer3) | A p(class) | B channels (layer1, layer2, layer3) | B p(class) |%n"
                + "| --- | --- | --- | --- | --- |%n", b.amSteps(), AM_LR, AM_TV));
        for (int r = 0; r < classes.length; r++) {
            s.append(String.format(Locale.ROOT, "| %d | %s | %.3f | %s | %.3f |%n", classes[r], channels(amA.get(r)),
                    amA.get(r).get(AM_LAYERS.size()).prob(), channels(amB.get(r)), amB.get(r).get(AM_LAYERS.size()).prob()));
        }
        s.append("\n![AM](am-side-by-side.png)\n");
        return s.toString();
    }

    private static String channels(List<Am> row) {
        List<String> c = new ArrayList<>();
        for (Am am : row) if (am.channel() >= 0) c.add(Integer.toString(am.channel()));
        return String.join(", ", c);
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    private static String json(Budget b, int threads, long seed, int ftTrain, int ftTest, Net a, Net bn, Map<String, double[]> cka, int n,
                               int[] classes, List<List<Am>> amA, List<List<Am>> amB, double seconds) {
        StringBuilder s = new StringBuilder("{\n");
        s.append(String.format(Locale.ROOT, "  \"experiment\": \"resnet-init\",%n  \"seed\": %d,%n  \"threads\": %d,%n  \"seconds\": %.1f,%n"
                + "  \"finetune_train\": %d,%n  \"finetune_test\": %d,%n  \"finetune_epochs\": %d,%n  \"cka_images\": %d,%n", seed, threads,
                seconds, ftTrain, ftTest, b.finetuneEpochs(), n));
        s.append("  \"networks\": [\n");
        List<Net> nets = List.of(a, bn);
        for (int i = 0; i < nets.size(); i++) {
            Net net = nets.get(i);
            s.append(String.format(Locale.ROOT, "    {\"name\": \"%s\", \"pretrained_on\": \"%s\", \"source_test_accuracy\": %s, "
                    + "\"source_test_images\": %d, \"finetuned_test_accuracy\": %s, \"finetuned_test_loss\": %s, \"test_accuracy_per_epoch\": [",
                    net.name(), net.source(), num(net.sourceAcc()), net.sourceTest(), num(net.finetuneAcc()), num(net.finetuneLoss())));
            for (int e = 0; e < net.curves().size(); e++) s.append(e > 0 ? ", " : "").append(num(net.curves().get(e).testAcc()));
            s.append("]}").append(i + 1 < nets.size() ? "," : "").append('\n');
        }
        s.append("  ],\n  \"layers\": [");
        for (int l = 0; l < LAYER_TITLES.size(); l++) s.append(l > 0 ? ", " : "").append('"').append(LAYER_TITLES.get(l)).append('"');
        s.append("],\n  \"cka\": {\n");
        int i = 0;
        for (Map.Entry<String, double[]> e : cka.entrySet()) {
            s.append("    \"").append(e.getKey()).append("\": [");
            for (int l = 0; l < e.getValue().length; l++) s.append(l > 0 ? ", " : "").append(num(e.getValue()[l]));
            s.append(']').append(++i < cka.size() ? "," : "").append('\n');
        }
        s.append("  },\n  \"activation_maximization\": [\n");
        for (int r = 0; r < classes.length; r++) {
            s.append("    {\"class\": ").append(classes[r]);
            for (int side = 0; side < 2; side++) {
                List<Am> row = (side == 0 ? amA : amB).get(r);
                s.append(", \"").append(side == 0 ? "A" : "B").append("\": [");
                for (int j = 0; j < row.size(); j++) {
                    Am am = row.get(j);
                    s.append(j > 0 ? ", " : "").append(String.format(Locale.ROOT, "{\"objective\": \"%s\", \"channel\": %d, "
                            + "\"objective_start\": %s, \"objective_end\": %s, \"prob\": %s}", am.objective(), am.channel(),
                            num(am.objectiveStart()), num(am.objectiveEnd()), num(am.prob())));
                }
                s.append(']');
            }
            s.append('}').append(r + 1 < classes.length ? "," : "").append('\n');
        }
        s.append("  ]\n}\n");
        return s.toString();
    }

    /** Progress lines on stderr with the elapsed time. */
    private record Progress(PrintStream err, long t0) {
        void note(String s) {
            err.printf(Locale.ROOT, "convlens experiment resnet-init [%4.0f s]: %s%n", (System.nanoTime() - t0) / 1e9, s);
        }
    }
}
