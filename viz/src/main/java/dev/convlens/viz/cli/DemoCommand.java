package dev.convlens.viz.cli;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.models.onnx.OnnxModel;
import dev.convlens.nn.Graph;
import dev.convlens.nn.train.Loader;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.Deconvnet;
import dev.convlens.viz.FeatureGrids;
import dev.convlens.viz.LayerRef;
import dev.convlens.viz.Occlusion;
import dev.convlens.viz.ReceptiveField;
import dev.convlens.viz.Saliency;
import dev.convlens.viz.TopPatches;
import dev.convlens.viz.am.ActivationMaximization;
import dev.convlens.viz.am.ImageParam;
import dev.convlens.viz.am.Objective;
import dev.convlens.viz.am.Optimizer;
import dev.convlens.viz.am.Regularizers;
import dev.convlens.viz.am.Robustness;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Function;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code convlens demo}: every visualization of convlens on the two networks it ships (trained by
 * convlens itself on Fashion-MNIST) and the 20 Fashion-MNIST test images it ships, in one
 * self-contained HTML page. Needs no network and no file outside the jar.
 */
@Command(name = "demo",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Runs every visualization on the two shipped Fashion-MNIST models (alexnet-small, resnet-small) and the "
                    + "20 shipped test images: first-layer filters, activation grids, saliency and Grad-CAM, deconvnet "
                    + "projections, top-9 patches, occlusion maps and class activation maximization for every class. "
                    + "Writes one self-contained HTML page DIR/report.html and prints its path.",
            "",
            "Example:",
            "  convlens demo",
            "  convlens demo --out /tmp/demo --threads 2",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class DemoCommand implements Callable<Integer> {
    @ParentCommand Main main;
    @Spec CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "convlens-demo", description = "Folder for report.html (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--threads", paramLabel = "N", description = "Threads for the simd kernels (default: all cores).")
    Integer threads;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** Where the shipped models, images and class names are on the classpath. */
    static final String RESOURCES = "/dev/convlens/models/fashion/";
    /** Pixel scale of the 28x28 pictures in the page. */
    private static final int SCALE = 4;
    /** Class activation maximization: Adam steps, learning rate and total-variation weight (chosen by eye: recognizable in about a second per class). */
    private static final int AM_STEPS = 64;
    private static final double AM_LR = 0.1, AM_TV = 0.02;
    private static final float[] MEAN = Loader.Normalize.FASHION_MNIST.mean(), STD = Loader.Normalize.FASHION_MNIST.std();

    /** A shipped network and the layers the demo looks at (module paths, resolved by {@link LayerRef}). */
    record Net(String name, String title, String early, String deep) {}

    static final List<Net> NETS = List.of(
            new Net("alexnet-small", "alexnet-small (2 convolutions, 2 linear layers)", "features.1", "features.4"),
            new Net("resnet-small", "resnet-small (3 residual stages with BN)", "relu", "layer2.0"));

    /** One shipped test image: file name, true label, normalized input (1,1,28,28). */
    record Sample(String file, int label, Tensor x) {}

    @Override
    public Integer call() {
        if (threads != null && threads < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        return VizSupport.guard("demo", main.err, verbose, () -> {
            try {
                Path page = run(out, threads != null ? threads : Runtime.getRuntime().availableProcessors(), main.err);
                main.out.println(page);
            } catch (IOException e) {
                throw new Predict.Failure(Main.INPUT, "cannot write " + out + ": " + e.getMessage(), e);
            }
        });
    }

    /** Builds the page into {@code dir}/report.html and returns its path; progress lines go to {@code err}. */
    static Path run(Path dir, int threads, java.io.PrintStream err) throws IOException {
        long t0 = System.nanoTime();
        Kernels k = Backend.select("simd", threads);
        List<String> classes = new String(resource("classes.txt"), StandardCharsets.UTF_8).lines().filter(s -> !s.isBlank()).toList();
        List<Sample> samples = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            String slug = classes.get(c).toLowerCase(Locale.ROOT).replaceAll("[^a-z]+", "-");
            for (int i = 0; i < 2; i++) {
                String f = String.format(Locale.ROOT, "%02d-%s-%d.png", c, slug, i);
                samples.add(new Sample(f, c, toTensor(ImageIO.read(new java.io.ByteArrayInputStream(resource(f))), f)));
            }
        }
        err.printf(Locale.ROOT, "convlens demo: %d test images, %d classes, %d threads%n", samples.size(), classes.size(), threads);
        List<ReportPage.Section> sections = new ArrayList<>();
        for (Net net : NETS) {
            Graph g = OnnxImporter.toGraph(OnnxModel.parse(Path.of(net.name() + ".onnx"), resource(net.name() + ".onnx")));
            sections.addAll(new Demo(net, g, k, classes, samples, err).sections());
            err.printf(Locale.ROOT, "convlens demo: %s done (%.1f s)%n", net.name(), (System.nanoTime() - t0) / 1e9);
        }
        Path page = dir.resolve("report.html");
        ReportPage.write(page, "convlens demo: inside two small CNNs trained on Fashion-MNIST",
                "Two networks that convlens trained itself on the Fashion-MNIST training set, looked at with every method "
                        + "convlens implements, on 20 images of the Fashion-MNIST test set (2 per class, shipped in the jar; "
                        + "Fashion-MNIST by Zalando Research, MIT licence). Pictures are 28x28 pixels, shown enlarged "
                        + SCALE + " times.", sections);
        err.printf(Locale.ROOT, "convlens demo: wrote %s in %.1f s%n", page, (System.nanoTime() - t0) / 1e9);
        return page;
    }

    static byte[] resource(String name) {
        try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) throw new Predict.Failure(Main.INTERNAL, "resource " + RESOURCES + name + " is missing from the classpath", null);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A grey 28x28 picture as the models' input (1,1,H,W): (v/255 - mean)/std, as the trainer prepared it. */
    static Tensor toTensor(BufferedImage img, String name) {
        if (img == null) throw new Predict.Failure(Main.INTERNAL, name + ": not a readable image", null);
        int h = img.getHeight(), w = img.getWidth();
        Tensor x = Tensor.zeros(1, 1, h, w);
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) x.data[y * w + xx] = (img.getRaster().getSample(xx, y, 0) / 255f - MEAN[0]) / STD[0];
        return x;
    }

    static byte[] png(BufferedImage img) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            if (!ImageIO.write(img, "png", b)) throw new IllegalStateException("no PNG writer");
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The figures of one network. */
    private static final class Demo {
        final Net net;
        final Graph g;
        final Kernels k;
        final List<String> classes;
        final List<Sample> samples;
        final java.io.PrintStream err;
        final String early, deep;
        final Saliency saliency;
        final Deconvnet deconv;

        Demo(Net net, Graph g, Kernels k, List<String> classes, List<Sample> samples, java.io.PrintStream err) {
            this.net = net;
            this.g = g;
            this.k = k;
            this.classes = classes;
            this.samples = samples;
            this.err = err;
            this.early = LayerRef.resolve(g, net.early());
            this.deep = LayerRef.resolve(g, net.deep());
            this.saliency = new Saliency(g, k);
            this.deconv = new Deconvnet(g, k);
        }

        private void progress(String what) {
            err.println("convlens demo: " + net.name() + ": " + what);
        }

        private ReportPage.Figure fig(String alt, String caption, BufferedImage img) {
            return new ReportPage.Figure(net.name() + " " + alt, caption, png(img));
        }

        private BufferedImage picture(Tensor x) {
            return Images.enlarge(Images.fromNormalized(x, MEAN, STD), SCALE);
        }

        private String h(String what) {
            return net.name() + ": " + what;
        }

        /** softmax probabilities of one input. */
        private double[] probs(Tensor x) {
            Tensor logits = saliency.forward(x).output();
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (float v : logits.data) m = Math.max(m, v);
            double[] p = new double[logits.size()];
            for (int i = 0; i < p.length; i++) s += p[i] = Math.exp(logits.data[i] - m);
            for (int i = 0; i < p.length; i++) p[i] /= s;
            return p;
        }

        private String verdict(Sample s) {
            double[] p = probs(s.x());
            int top = 0;
            for (int i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
            return String.format(Locale.ROOT, "true: %s, predicted: %s (%.1f%%)%s", classes.get(s.label()), classes.get(top),
                    100 * p[top], top == s.label() ? "" : " WRONG");
        }

        List<ReportPage.Section> sections() {
            List<ReportPage.Section> out = new ArrayList<>();
            int correct = 0;
            for (Sample s : samples) if (Saliency.top1(saliency.forward(s.x()).output()) == s.label()) correct++;
            out.add(new ReportPage.Section(net.title(), String.format(Locale.ROOT,
                    "%d of the %d shipped test images are classified correctly. Layers shown: %s (early) and %s (deep).",
                    correct, samples.size(), net.early(), net.deep()), List.of()));

            progress("filters and activations");
            List<ReportPage.Figure> f = new ArrayList<>();
            f.add(fig("filters", "first-layer filters (" + FeatureGrids.firstConvWeight(g) + "), each min-max scaled",
                    FeatureGrids.filters(g, null, 32, 8, 8)));
            Sample s0 = samples.get(14); // a sneaker
            f.add(fig("input", "the input: " + s0.file(), picture(s0.x())));
            f.add(fig("activations early", "feature maps of " + net.early() + " for " + s0.file(),
                    FeatureGrids.activations(g, k, s0.x(), early, 32, 2, 8)));
            f.add(fig("activations deep", "feature maps of " + net.deep() + " for " + s0.file() + " (first 32 channels)",
                    FeatureGrids.activations(g, k, s0.x(), deep, 32, 4, 8)));
            out.add(new ReportPage.Section(h("filters and activation grids"), null, f));

            progress("saliency and Grad-CAM");
            f = new ArrayList<>();
            for (int i = 0; i < samples.size(); i += 3) {
                Sample s = samples.get(i);
                Saliency.Result van = saliency.vanilla(s.x(), s.label());
                Saliency.Result gb = saliency.guided(s.x(), s.label());
                Saliency.Result cam = saliency.gradCam(s.x(), s.label(), net.deep());
                int hh = s.x().dim(2), ww = s.x().dim(3);
                BufferedImage base = picture(s.x());
                List<BufferedImage> tiles = List.of(base,
                        Images.enlarge(Images.heatmap(van.map().data, hh, ww), SCALE),
                        Images.enlarge(Images.signal(gb.gradient()), SCALE),
                        Images.overlay(base, Images.heatmap(cam.map().data, hh, ww), 0.5f));
                f.add(fig("saliency " + s.file(), verdict(s) + "; maps for the true class",
                        Images.grid(tiles, List.of("input", "gradient", "guided bp", "Grad-CAM"), 4, 2)));
            }
            out.add(new ReportPage.Section(h("saliency and Grad-CAM"), "Per image: the input; |gradient| of the true "
                    + "class's logit (Simonyan et al. 2014); guided backpropagation (Springenberg et al. 2015); Grad-CAM at "
                    + net.deep() + " (Selvaraju et al. 2017) over the input.", f));

            progress("deconvnet projections");
            f = new ArrayList<>();
            List<BufferedImage> tiles = new ArrayList<>();
            List<String> caps = new ArrayList<>();
            for (int i = 1; i < samples.size(); i += 3) {
                Sample s = samples.get(i);
                Deconvnet.Projection p = deconv.project(s.x(), net.deep(), Deconvnet.Unit.strongest());
                tiles.add(picture(s.x()));
                caps.add(classes.get(s.label()));
                tiles.add(Images.enlarge(Images.signal(p.projection()), SCALE));
                caps.add("channel " + p.unit().channel());
            }
            f.add(fig("deconvnet", "image and the deconvnet projection of the strongest unit of " + net.deep(),
                    Images.grid(tiles, caps, 6, 2)));
            out.add(new ReportPage.Section(h("deconvnet projections"), "Zeiler & Fergus 2014: the strongest activation of "
                    + net.deep() + " sent back to pixel space (ReLUs pass positive signal only).", f));

            progress("top-9 patches");
            out.add(topPatches());

            progress("occlusion");
            f = new ArrayList<>();
            tiles = new ArrayList<>();
            caps = new ArrayList<>();
            for (int i = 0; i < samples.size(); i += 4) {
                Sample s = samples.get(i);
                Occlusion.Maps m = Occlusion.run(g, k, s.x(), s.label(), null, Occlusion.Config.of(6, 3));
                tiles.add(picture(s.x()));
                caps.add(String.format(Locale.ROOT, "%s p=%.2f", classes.get(s.label()), m.cleanProb()));
                BufferedImage heat = Images.heatmap(m.prob(), m.rows(), m.cols());
                BufferedImage big = new BufferedImage(28 * SCALE, 28 * SCALE, BufferedImage.TYPE_INT_RGB);
                java.awt.Graphics2D gr = big.createGraphics();
                gr.drawImage(heat, 0, 0, big.getWidth(), big.getHeight(), null);
                gr.dispose();
                tiles.add(big);
                caps.add("p(true) occluded");
            }
            f.add(fig("occlusion", "left: image and the probability of its true class; right: that probability with a "
                    + "6x6 grey square at each position (stride 3; dark = the square hurts)", Images.grid(tiles, caps, 4, 2)));
            out.add(new ReportPage.Section(h("occlusion"), "Zeiler & Fergus 2014, sec. 4.2.", f));

            progress("class activation maximization (10 classes)");
            out.add(activationMaximization());
            return out;
        }

        private ReportPage.Section topPatches() {
            int[] channels = {0, 1, 2, 3};
            Map<Path, Tensor> byPath = new HashMap<>();
            List<Path> files = new ArrayList<>();
            for (Sample s : samples) {
                Path p = Path.of(s.file());
                files.add(p);
                byPath.put(p, s.x());
            }
            Function<Path, Tensor> load = byPath::get;
            TopPatches.Result r = TopPatches.run(g, k, files, load, deep, channels, 9, 1, null);
            ReceptiveField.Field field = ReceptiveField.of(g, deep);
            int scale = Math.max(1, 96 / Math.max(field.sizeH(), field.sizeW()));
            List<ReportPage.Figure> f = new ArrayList<>();
            for (int i = 0; i < channels.length; i++) {
                List<BufferedImage> patches = new ArrayList<>(), projs = new ArrayList<>();
                List<String> caps = new ArrayList<>();
                for (TopPatches.Hit hit : r.top().get(i)) {
                    Tensor x = load.apply(files.get(hit.image()));
                    ReceptiveField.Box b = field.box(hit.y(), hit.x(), x.dim(2), x.dim(3));
                    patches.add(Images.enlarge(Images.fromNormalized(crop(x, field, hit, b), MEAN, STD), scale));
                    Tensor p = deconv.project(x, deep, Deconvnet.Unit.at(channels[i], hit.y(), hit.x()), Relu.Rule.DECONVNET).projection();
                    projs.add(Images.enlarge(Images.signal(crop(p, field, hit, b)), scale));
                    caps.add(String.format(Locale.ROOT, "%.3g", hit.activation()));
                }
                List<BufferedImage> both = new ArrayList<>();
                List<String> bothCaps = new ArrayList<>();
                for (int j = 0; j < patches.size(); j++) {
                    both.add(patches.get(j));
                    bothCaps.add(caps.get(j));
                }
                for (int j = 0; j < projs.size(); j++) {
                    both.add(projs.get(j));
                    bothCaps.add("deconv");
                }
                f.add(fig("top9 channel " + channels[i], net.deep() + " channel " + channels[i]
                        + ": the 9 strongest patches (activation under each) and their deconvnet projections",
                        Images.grid(both, bothCaps, 9, 2)));
            }
            return new ReportPage.Section(h("top-9 patches"), String.format(Locale.ROOT,
                    "Zeiler & Fergus 2014, Fig. 2: for channels 0-3 of %s, the receptive fields (%dx%d pixels, grey outside "
                            + "the image) of the strongest unit in each of the 9 shipped images where it fires most.",
                    net.deep(), field.sizeH(), field.sizeW()), f);
        }

        /** The receptive field of {@code hit} cut out of {@code x (1,C,H,W)}; 0 (the mean grey) outside the image. */
        private static Tensor crop(Tensor x, ReceptiveField.Field f, TopPatches.Hit hit, ReceptiveField.Box b) {
            int c = x.dim(1), hh = x.dim(2), ww = x.dim(3), fh = f.sizeH(), fw = f.sizeW();
            Tensor out = Tensor.zeros(1, c, fh, fw);
            int top = f.top(hit.y()), left = f.left(hit.x());
            for (int ch = 0; ch < c; ch++)
                for (int y = b.top(); y < b.bottom(); y++)
                    System.arraycopy(x.data, (ch * hh + y) * ww + b.left(), out.data, (ch * fh + y - top) * fw + b.left() - left, b.width());
            return out;
        }

        /** The mean of the shipped images in [0,1], (1,1,H,W). */
        private Tensor meanImage() {
            Tensor m = Tensor.zeros(samples.get(0).x().shape());
            for (Sample s : samples)
                for (int i = 0; i < m.data.length; i++) m.data[i] += (s.x().data[i] * STD[0] + MEAN[0]) / samples.size();
            return m;
        }

        private ReportPage.Section activationMaximization() {
            List<BufferedImage> tiles = new ArrayList<>();
            List<String> caps = new ArrayList<>();
            Tensor start = meanImage();
            Tensor startX = Tensor.zeros(start.shape());
            for (int i = 0; i < startX.data.length; i++) startX.data[i] = (start.data[i] - MEAN[0]) / STD[0];
            tiles.add(picture(startX));
            caps.add("start (mean image)");
            int steps = AM_STEPS;
            for (int c = 0; c < classes.size(); c++) {
                ActivationMaximization am = new ActivationMaximization(g, k, List.of(new Objective.ClassLogit(c, 1)), MEAN, STD);
                GrayParam p = GrayParam.from(start, c);
                ActivationMaximization.Settings s = new ActivationMaximization.Settings(steps,
                        new Robustness(2, 0f, 2, new double[0], 0, 1), 0, AM_TV, 4, 0.5, 0, c);
                ActivationMaximization.Result r = am.run(p, new Optimizer.Adam(AM_LR), s, null);
                Tensor img = r.image();
                Tensor x = Tensor.zeros(img.shape());
                for (int i = 0; i < x.data.length; i++) x.data[i] = (img.data[i] - MEAN[0]) / STD[0];
                double[] pr = probs(x);
                tiles.add(picture(x));
                caps.add(String.format(Locale.ROOT, "%s %.0f%%", classes.get(c), 100 * pr[c]));
            }
            return new ReportPage.Section(h("class activation maximization"), "For each class, the 28x28 grey image that "
                    + "maximizes the class's logit (Simonyan et al. 2014): " + steps + " Adam steps on sigmoid-parameterized "
                    + "pixels, starting from the mean of the 20 shipped images, with random 2-pixel jitter, a total-variation "
                    + "penalty and a light blur every 4 steps (Olah et al. 2017). Under each: the class and the probability "
                    + "the network gives the picture.",
                    List.of(fig("class am", "class activation maximization, all classes", Images.grid(tiles, caps, 6, 2))));
        }
    }

    /**
     * A grey image {@code (B,1,H,W) = sigmoid(p)} for activation maximization of one-channel networks
     * (what {@link dev.convlens.viz.am.PixelParam} is for RGB): {@code d/dp = d/dimage * s (1 - s)}.
     */
    static final class GrayParam implements ImageParam {
        private final Tensor p;
        private Tensor last;

        GrayParam(Tensor p) {
            this.p = p;
        }

        /** Starts at {@code image (1,1,H,W)} in [0,1] (clamped to [0.02, 0.98]) with a little noise. */
        static GrayParam from(Tensor image, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            Tensor p = Tensor.zeros(image.shape());
            for (int i = 0; i < p.data.length; i++) {
                double v = Math.min(0.98, Math.max(0.02, image.data[i]));
                p.data[i] = (float) (Math.log(v / (1 - v)) + 0.1 * r.nextGaussian());
            }
            return new GrayParam(p);
        }

        public Tensor param() { return p; }

        public Tensor image(Kernels k) {
            last = Tensor.zeros(p.shape());
            for (int i = 0; i < p.data.length; i++) last.data[i] = (float) (1 / (1 + Math.exp(-p.data[i])));
            return last;
        }

        public Tensor backward(Kernels k, Tensor dImage) {
            Tensor d = Tensor.zeros(p.shape());
            for (int i = 0; i < d.data.length; i++) d.data[i] = dImage.data[i] * last.data[i] * (1 - last.data[i]);
            return d;
        }

        public void blur(double sigma) { Regularizers.gaussianBlur(p, sigma); }

        public int batch() { return p.dim(0); }

        public int height() { return p.dim(2); }

        public int width() { return p.dim(3); }
    }
}
