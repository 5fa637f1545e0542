package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.am.ActivationMaximization;
import dev.convlens.viz.am.FourierParam;
import dev.convlens.viz.am.Objective;
import dev.convlens.viz.am.Optimizer;
import dev.convlens.viz.am.Robustness;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * One unit of work on a whole network, the thing {@code convlens bench} and the JMH
 * {@code NetworkBench} time (and {@code bench/torch_bench.py} mirrors in PyTorch):
 * <ul>
 *   <li>{@code forward}: one inference forward pass of a batch {@code x (N,C,H,W)} ({@link Graph#predict}: only the
 *       outputs kept, the intermediates made in the arrays of the pass before).</li>
 *   <li>{@code saliency}: forward, then the gradient of each image's top logit to the input
 *       ({@code d sum_n z[n, argmax z[n]] / dx}), no weight gradients (Simonyan et al.).</li>
 *   <li>{@code train}: one SGD step: forward in training mode (batch statistics), mean
 *       cross-entropy against fixed random labels, backward to every learnable parameter
 *       ({@link Trainer#learnable}), and {@link Sgd} with lr {@value #TRAIN_LR}, momentum
 *       {@value #TRAIN_MOMENTUM}.</li>
 *   <li>{@code visualize}: {@value #VISUALIZE_STEPS} steps of class visualization
 *       ({@link ActivationMaximization}: the logit of class 0, a {@code HxW} Fourier image, Lucid's
 *       transforms ({@link #FIXED_SCALE} on request), Adam at lr 0.05), the defaults of {@code convlens visualize}, from a fresh
 *       image each time; needs a 3-channel ImageNet-normalized input.</li>
 * </ul>
 * The input is {@code N(0,1)} noise (an ImageNet-normalized image has about that spread) from a
 * fixed seed. A workload is built once (inputs, labels and optimizer state allocated) and
 * {@link #run} is then called repeatedly; {@code train} changes the graph's parameters.
 */
public final class Workload {
    /** What is timed. */
    public enum What {
        FORWARD, SALIENCY, TRAIN, VISUALIZE;

        /** The lower-case name used on command lines. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** {@code forward}, {@code saliency}, {@code train} or {@code visualize}, any case. */
        public static What parse(String s) {
            for (What w : values()) if (w.id().equalsIgnoreCase(s)) return w;
            throw new IllegalArgumentException("Workload: unknown workload '" + s + "'; choose forward, saliency, train or visualize");
        }
    }

    /** SGD learning rate of {@code train}. */
    public static final double TRAIN_LR = 0.01;
    /** SGD momentum of {@code train}. */
    public static final double TRAIN_MOMENTUM = 0.9;
    /** Gradient-ascent steps per {@code visualize} run. */
    public static final int VISUALIZE_STEPS = 10;
    /** Adam learning rate of {@code visualize} ({@code convlens visualize}'s default). */
    public static final double VISUALIZE_LR = 0.05;

    private final What what;
    private final Graph g;
    private final Kernels k;
    private final long seed;
    private final String input, output;
    private final Tensor x;          // (N,C,H,W)
    private final int classes;
    private final int[] labels;      // train: (N) in [0, classes)
    private final List<String> learnable;
    private final Sgd sgd;
    /** The parameter gradients' arrays, reused from one training step to the next (as Trainer does). */
    private final Recycler recycler = new Recycler();
    private final ActivationMaximization am;
    private final Robustness robustness;

    private Workload(What what, Graph g, Kernels k, int batch, int c, int h, int w, long seed, Robustness robustness) {
        this.what = what;
        this.robustness = robustness;
        this.g = g;
        this.k = k;
        this.seed = seed;
        this.input = g.inputs.get(0);
        this.output = g.outputs.get(0);
        // One image through the network tells the class count (and fails early on a bad shape);
        // Graph.infer, so this probe holds no more than the timed work does
        Tensor one = g.infer(k, Map.of(input, Tensor.normal(seed, 1f, 1, c, h, w))).output();
        this.classes = one.size();
        this.x = Tensor.normal(seed, 1f, batch, c, h, w);
        if (what == What.TRAIN) {
            Random rnd = new Random(seed);
            labels = new int[batch];
            for (int i = 0; i < batch; i++) labels[i] = rnd.nextInt(classes);
            learnable = Trainer.learnable(g);
            Shapes.check(!learnable.isEmpty(), "Workload", "train: the model has no learnable parameters");
            sgd = new Sgd(TRAIN_MOMENTUM, 0, false);
        } else {
            labels = null;
            learnable = null;
            sgd = null;
        }
        if (what == What.VISUALIZE) {
            Shapes.check(c == 3, "Workload", "visualize needs a 3-channel (RGB, ImageNet-normalized) input, but the input is "
                    + Shapes.str(x.shape()));
            am = new ActivationMaximization(g, k, List.of(new Objective.ClassLogit(0, 1)));
        } else {
            am = null;
        }
    }

    /**
     * Prepares {@code what} on {@code g} with a batch of {@code batch} inputs {@code (c,h,w)}.
     * Runs one forward pass of one image (to learn the number of classes); shape errors surface here.
     */
    public static Workload of(What what, Graph g, Kernels k, int batch, int c, int h, int w, long seed) {
        return of(what, g, k, batch, c, h, w, seed, Robustness.LUCID);
    }

    /**
     * As {@link #of(What, Graph, Kernels, int, int, int, int, long)}, with the random transforms of
     * {@code visualize} given: {@link #FIXED_SCALE} for a network that takes one input size only
     * (torchvision's AlexNet exports its adaptive pooling as a fixed 1x1 pooling, so the rescaled
     * image of {@link Robustness#LUCID} no longer fits its classifier).
     */
    public static Workload of(What what, Graph g, Kernels k, int batch, int c, int h, int w, long seed, Robustness robustness) {
        Shapes.check(batch >= 1 && c >= 1 && h >= 1 && w >= 1, "Workload",
                "batch and input dims must be >= 1, got batch " + batch + ", input (" + c + "," + h + "," + w + ")");
        return new Workload(what, g, k, batch, c, h, w, seed, robustness);
    }

    /**
     * Lucid's transforms without the rescaling: pad 12, jitter 8, rotate +-10 degrees, jitter 4, so a
     * 224 image reaches the network at 236x236 every step.
     */
    public static final Robustness FIXED_SCALE = new Robustness(12, 0.5f, 8, new double[0], 10, 4);

    public What what() {
        return what;
    }

    /** The batch {@code (N,C,H,W)} that {@link #run} feeds. */
    public Tensor input() {
        return x;
    }

    /** Classes in the model's output. */
    public int classes() {
        return classes;
    }

    /** Does the work once; returns a number that depends on all of it (a logit, a gradient, the loss). */
    public float run() {
        return switch (what) {
            case FORWARD -> forward();
            case SALIENCY -> saliency();
            case TRAIN -> trainStep();
            case VISUALIZE -> visualize();
        };
    }

    /** {@link Graph#predict} with this workload's recycler in use: a pass makes its intermediates in the arrays of the pass before. */
    private float forward() {
        try (Recycler.Use u = recycler.use()) {
            return g.predict(k, Map.of(input, x)).get(output).data[0];
        }
    }

    /**
     * With this workload's recycler in use and the run released as the walk goes, so the backward makes
     * its gradients in the activations it frees, and the next call its activations in the arrays of this one.
     */
    private float saliency() {
        try (Recycler.Use u = recycler.use()) {
            Run run = g.infer(k, Map.of(input, x));
            Tensor z = run.output();
            int n = x.dim(0), kk = z.size() / n;
            Tensor seedGrad = Tensor.zeros(z.shape());
            for (int r = 0; r < n; r++) {
                int best = 0;
                for (int i = 1; i < kk; i++) if (z.data[r * kk + i] > z.data[r * kk + best]) best = i;
                seedGrad.data[r * kk + best] = 1;
            }
            Tensor dx = run.backwardReleasing(output, seedGrad, Relu.Rule.GRADIENT, List.of(input)).get(input);
            float first = dx.data[0];
            recycler.give(dx.data);
            return first;
        }
    }

    /** As {@code Trainer} runs a step ({@link Trainer#backwardRecycled}). */
    private float trainStep() {
        Run run = g.forwardTraining(k, Map.of(input, x), List.of());
        Tensor logits = run.output();
        Tensor z = logits.reshape(labels.length, classes);
        CrossEntropy.Result ce = CrossEntropy.forward(z, labels);
        Tensor dz = CrossEntropy.backward(ce.probs(), labels, 1f).reshape(logits.shape());
        Map<String, Tensor> grads = Trainer.backwardRecycled(run, output, dz, learnable, recycler);
        sgd.step(k, g.params, grads, TRAIN_LR);
        for (Tensor gr : grads.values()) recycler.give(gr.data); // used up by the step
        return ce.loss();
    }

    private float visualize() {
        FourierParam p = FourierParam.random(seed, x.dim(0), x.dim(2), x.dim(3), 0.01);
        ActivationMaximization.Settings s = new ActivationMaximization.Settings(VISUALIZE_STEPS, robustness,
                0, 0, 0, 0.5, 0, seed);
        ActivationMaximization.Result r = am.run(p, new Optimizer.Adam(VISUALIZE_LR), s, null);
        return (float) r.objective()[VISUALIZE_STEPS - 1];
    }
}
