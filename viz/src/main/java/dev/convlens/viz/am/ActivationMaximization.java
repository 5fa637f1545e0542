package dev.convlens.viz.am;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.io.Npy;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Gradient-ascent activation maximization: the image that most excites a class score, a channel
 * or a unit (Erhan et al. 2009; Simonyan et al. 2014; Olah et al. 2017, Lucid).
 *
 * <h2>One step</h2>
 * <pre>
 *   img = param.image()                         (B,3,H,W) in [0,1]          {@link ImageParam}
 *   z   = T_k(...T_1(img))                      this step's random transforms {@link Robustness}
 *   x   = (z - mean) / std                      ImageNet normalization, per channel
 *   J   = sum_terms w * term(net(x))            {@link Objective}
 *   J'  = J - l2 * sum (img - 1/2)^2 - tv * TV(img)                        {@link Regularizers}
 *   dJ'/dparam = param.backward(T_1^T(...T_k^T(dJ/dx / std)) + dReg/dimg)
 *   param = optimizer.step(param, -dJ'/dparam)  ascent on J' = descent on -J'
 * </pre>
 * and every {@code blurEvery} steps the parameterized image is blurred ({@link ImageParam#blur}).
 * {@code dJ/dx} comes from {@link Run#backward} with the true ReLU gradient, one backward per
 * distinct value the terms read, summed. The transforms are drawn from a {@link Random} seeded
 * by {@link Settings#seed}; with a fixed kernel thread count the same settings give the same image.
 */
public final class ActivationMaximization {
    /**
     * @param steps         optimization steps (Lucid: 512)
     * @param robustness    the random transforms of each step
     * @param l2            weight of the L2 decay towards grey (0: off)
     * @param tv            weight of the total variation (0: off)
     * @param blurEvery     blur the parameterized image every this many steps (0: never)
     * @param blurSigma     the blur's standard deviation in pixels
     * @param progressEvery a progress line on the progress stream every this many steps (0: none)
     * @param seed          seeds the transforms' random generator
     */
    public record Settings(int steps, Robustness robustness, double l2, double tv, int blurEvery, double blurSigma,
                           int progressEvery, long seed) {
        /** Lucid's defaults: 512 steps, its standard transforms, no penalties or blur. */
        public static Settings lucid(long seed) {
            return new Settings(512, Robustness.LUCID, 0, 0, 0, 0.5, 16, seed);
        }

        public Settings {
            if (steps < 0 || blurEvery < 0 || progressEvery < 0) throw new IllegalArgumentException(
                    "ActivationMaximization: steps, blurEvery and progressEvery must be >= 0");
        }
    }

    /** What one step computed: the objective J, the penalty subtracted from it, and dJ'/dparam. */
    public record Eval(double objective, double penalty, Tensor dParam) {}

    /** The final image (B,3,H,W) in [0,1] and the objective J at each step (before its update). */
    public record Result(Tensor image, double[] objective) {}

    private final Graph g;
    private final Kernels k;
    private final List<Objective> terms;
    private final float[] mean, std;
    /**
     * The arrays of one step, made again by the next: the forward's activations and the backward's
     * gradients come from it ({@link Tensor#empty}), and the backward gives back what it is done with.
     * It pools by length, so it holds one step's arrays for each input size the transforms produce
     * (Lucid's: five, one per scale) and no more.
     */
    private final Recycler recycler = new Recycler();

    /** Maximizes the sum of {@code terms} on {@code g}, whose input expects ImageNet-normalized images. */
    public ActivationMaximization(Graph g, Kernels k, List<Objective> terms) {
        this(g, k, terms, Images.IMAGENET_MEAN, Images.IMAGENET_STD);
    }

    public ActivationMaximization(Graph g, Kernels k, List<Objective> terms, float[] mean, float[] std) {
        if (terms.isEmpty()) throw new IllegalArgumentException("ActivationMaximization: no objective");
        this.g = g;
        this.k = k;
        this.terms = List.copyOf(terms);
        this.mean = mean.clone();
        this.std = std.clone();
        for (Objective o : terms) o.value(g); // unknown layer names fail here, before any work
    }

    /** J', its parts and dJ'/dparam for the current parameter under {@code transforms}. */
    public Eval evaluate(ImageParam param, List<Transform> transforms, double l2, double tv) {
        Tensor img = param.image(k);
        List<int[]> shapes = new ArrayList<>();
        Tensor z = img;
        for (Transform t : transforms) {
            shapes.add(z.shape());
            z = t.forward(k, z);
        }
        Shapes.check(z.dim(1) == mean.length, "ActivationMaximization", "image has " + z.dim(1) + " channels, "
                + "normalization " + mean.length);
        int hw = z.dim(2) * z.dim(3), planes = z.size() / hw;
        String input = g.inputs.get(0);
        // inference with batch norm folded into the convolutions, the objectives' values kept unfused
        List<String> objectives = new ArrayList<>();
        for (Objective o : terms) objectives.add(o.value(g));
        Tensor dz = Tensor.zeros(z.shape());
        double j = 0;
        try (Recycler.Use u = recycler.use()) {
            Tensor x = Tensor.empty(z.shape());
            float[] zd = z.data, xd = x.data;
            Chunks.each(k, planes, hw, (p, i0, i1) -> {        // plane by plane: no division per pixel
                float m = mean[p % mean.length], s = std[p % std.length];
                for (int i = p * hw + i0; i < p * hw + i1; i++) xd[i] = (zd[i] - m) / s;
            });
            Run run = g.infer(k, Map.of(input, x), objectives);
            Map<String, Tensor> seeds = new LinkedHashMap<>();
            for (Objective o : terms) {
                String v = o.value(g);
                Tensor a = run.value(v);
                Tensor seed = seeds.computeIfAbsent(v, name -> Tensor.zeros(a.shape()));
                j += o.evaluate(a, seed);
            }
            for (Map.Entry<String, Tensor> e : seeds.entrySet()) {
                List<String> wrt = List.of(input);
                Tensor dx = (seeds.size() == 1 ? run.backwardReleasing(e.getKey(), e.getValue(), Relu.Rule.GRADIENT, wrt)
                        : run.backward(e.getKey(), e.getValue(), Relu.Rule.GRADIENT, wrt)).get(input);
                float[] dzd = dz.data, dxd = dx.data;
                Chunks.each(k, planes, hw, (p, i0, i1) -> {
                    float s = std[p % std.length];
                    for (int i = p * hw + i0; i < p * hw + i1; i++) dzd[i] += dxd[i] / s;
                });
                recycler.give(dx.data);                     // read: the next step makes an array of its size in it
            }
            recycler.give(x.data);                          // the run, its only reader, is done
        }
        for (int t = transforms.size() - 1; t >= 0; t--) dz = transforms.get(t).backward(k, dz, shapes.get(t));
        double penalty = 0;
        if (l2 != 0) penalty += l2 * Regularizers.l2(img, l2, dz);
        if (tv != 0) penalty += tv * Regularizers.totalVariation(img, tv, dz);
        return new Eval(j, penalty, param.backward(k, dz));
    }

    /**
     * One ascent step under the given transforms: evaluates J' and updates the parameter by
     * {@code opt} with {@code -dJ'/dparam}. Returns what was evaluated (before the update).
     */
    public Eval step(ImageParam param, Optimizer opt, List<Transform> transforms, double l2, double tv) {
        Eval e = evaluate(param, transforms, l2, tv);
        float[] grad = e.dParam().data;
        for (int i = 0; i < grad.length; i++) grad[i] = -grad[i];
        opt.step(k, param.param().data, grad);
        return e;
    }

    /** Runs {@link Settings#steps} steps of {@code opt} on {@code param}; progress lines go to {@code progress} (may be null). */
    public Result run(ImageParam param, Optimizer opt, Settings s, PrintStream progress) {
        Random rnd = new Random(s.seed());
        double[] history = new double[s.steps()];
        long start = System.nanoTime();
        for (int step = 1; step <= s.steps(); step++) {
            List<Transform> ts = s.robustness().sample(rnd, param.height(), param.width());
            Eval e = step(param, opt, ts, s.l2(), s.tv());
            history[step - 1] = e.objective();
            if (s.blurEvery() > 0 && step % s.blurEvery() == 0) param.blur(s.blurSigma());
            if (progress != null && s.progressEvery() > 0 && (step % s.progressEvery() == 0 || step == s.steps())) {
                double ms = (System.nanoTime() - start) / 1e6 / step;
                progress.printf(Locale.ROOT, "step %d/%d  objective %.5g  penalty %.5g  %.0f ms/step%n", step, s.steps(),
                        e.objective(), e.penalty(), ms);
            }
        }
        return new Result(param.image(k), history);
    }

    /** One picture per batch element of {@code image (B,3,H,W)} in [0,1]. */
    public static List<BufferedImage> pictures(Tensor image) {
        Shapes.requireRank("pictures", "image", image, 4);
        int n = image.size() / image.dim(0);
        List<BufferedImage> out = new ArrayList<>();
        float[] zero = {0, 0, 0}, one = {1, 1, 1};
        for (int b = 0; b < image.dim(0); b++) {
            float[] d = new float[n];
            System.arraycopy(image.data, b * n, d, 0, n);
            out.add(Images.fromNormalized(Tensor.of(d, 1, 3, image.dim(2), image.dim(3)), zero, one));
        }
        return out;
    }

    /** Writes {@code image} as a PNG: the picture itself for one image, a grid for a batch. */
    public static void writePng(Tensor image, Path file) {
        List<BufferedImage> pics = pictures(image);
        if (pics.size() == 1) Images.writePng(pics.get(0), file);
        else Images.writePng(Images.grid(pics, null, Math.min(pics.size(), 4), 4), file);
    }

    /** Writes the image and the raw parameter as .npy files in {@code dir}: image.npy and param.npy. */
    public static void save(Tensor image, ImageParam param, Path dir) {
        try {
            java.nio.file.Files.createDirectories(dir);
            Npy.write(dir.resolve("image.npy"), image);
            Npy.write(dir.resolve("param.npy"), param.param());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
    }
}
