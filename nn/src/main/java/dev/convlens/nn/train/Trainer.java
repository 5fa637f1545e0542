package dev.convlens.nn.train;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Trains a {@link Graph} classifier with softmax cross-entropy: epochs of shuffled mini-batches,
 * each a forward pass in training mode (batch statistics in BN, which updates its running
 * statistics; dropout on), the mean cross-entropy of the first output against the labels,
 * {@code L = (1/N) sum_n -log softmax(z_n)[t_n]}, the backward pass to the trainable parameters
 * ({@link #learnable}) and one optimizer step with the epoch's learning rate.
 *
 * <p>After each epoch it evaluates train-set running loss/accuracy and test loss/accuracy (in
 * inference mode), appends them to {@code curves.csv}, writes {@code confusion.csv} (rows: true
 * class, columns: predicted) and an atomic {@link Checkpoint} {@code checkpoint.ckpt} holding every
 * parameter (BN running statistics included), the optimizer state, the number of finished epochs,
 * the seed, the dropout step counters and the history. With {@link Config#resume} a run starts
 * from that checkpoint; since the batches, augmentation and dropout masks are functions of (seed,
 * epoch, index, step), the result is the same, bit for bit, as an uninterrupted run with the same
 * seed and thread count.
 *
 * <p>A loss or gradient that is NaN or infinite stops training with a {@link NonFiniteException}
 * naming the step and the first node (in graph order) whose output is not finite, or the first
 * parameter whose gradient is not.
 */
public final class Trainer {
    /** The checkpoint's file name in the output folder. */
    public static final String CHECKPOINT = "checkpoint.ckpt";
    public static final String CURVES = "curves.csv", CONFUSION = "confusion.csv";

    /**
     * @param epochs    total epochs (a resumed run continues up to this number)
     * @param batch     mini-batch size
     * @param seed      fixes the order of the batches, the augmentation and (with the model's own
     *                  seeds) the dropout masks
     * @param schedule  learning rate per epoch
     * @param augment   training augmentation
     * @param normalize per-channel mean and std
     * @param out       output folder (curves, confusion matrix, checkpoint); null for none
     * @param resume    continue from {@code out/checkpoint.ckpt} when it exists
     * @param progress  where the progress bar goes (stderr), or null
     */
    public record Config(int epochs, int batch, long seed, Schedule schedule, Augment augment, Loader.Normalize normalize,
                         Path out, boolean resume, PrintStream progress) {
        public Config {
            if (epochs < 1) throw new IllegalArgumentException("Trainer: epochs must be >= 1 but is " + epochs);
            if (batch < 1) throw new IllegalArgumentException("Trainer: batch size must be >= 1 but is " + batch);
        }
    }

    /** One epoch's numbers (epochs count from 1 here). */
    public record Epoch(int epoch, double lr, double trainLoss, double trainAcc, double testLoss, double testAcc,
                        double seconds, double imagesPerSecond) {
        static final String HEADER = "epoch,lr,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s";

        String csv() {
            return String.format(Locale.ROOT, "%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.3f,%.1f", epoch, lr, trainLoss, trainAcc,
                    testLoss, testAcc, seconds, imagesPerSecond);
        }

        static Epoch parse(String line) {
            String[] f = line.split(",");
            return new Epoch(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                    Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]));
        }
    }

    /** Loss, accuracy and confusion matrix ({@code confusion[true][predicted]}) over a dataset. */
    public record Evaluation(double loss, double accuracy, long[][] confusion) {}

    /** What {@link #fit} returns: every epoch (those before a resume included) and the last test evaluation. */
    public record Result(List<Epoch> history, Evaluation test) {}

    /** Training stopped because a value became NaN or infinite. */
    public static final class NonFiniteException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long step;
        public final String where;

        NonFiniteException(long step, String where, String message) {
            super(message);
            this.step = step;
            this.where = where;
        }
    }

    private final Graph g;
    private final Kernels k;
    private final Optimizer opt;
    private final Config cfg;
    private final List<String> learnable;
    private long step;

    public Trainer(Graph g, Kernels k, Optimizer opt, Config cfg) {
        this.g = g;
        this.k = k;
        this.opt = opt;
        this.cfg = cfg;
        this.learnable = learnable(g);
        if (learnable.isEmpty()) throw new IllegalArgumentException("Trainer: every parameter is frozen; nothing to train");
    }

    /**
     * A training step's backward ({@code run.backwardReleasing} with the true ReLU gradient) with
     * {@code recycler} in use for it alone, then cleared: the backward makes its weight gradients in
     * the arrays the step before gave back, and its other gradients in the ones it has used up; what it
     * gave back is dropped before the next forward. The forward stays out of the recycler: with its
     * activations handed out by it, the backward would pool them too, and the smallest -Xmx of a
     * ResNet-18 step at batch 16 rose from 712 to 1036 MB (MemoryMain). The caller gives the gradients
     * back once the optimizer step has used them up.
     */
    public static Map<String, Tensor> backwardRecycled(Run run, String output, Tensor dz, List<String> learnable,
                                                       Recycler recycler) {
        Map<String, Tensor> grads;
        try (Recycler.Use u = recycler.use()) {
            grads = run.backwardReleasing(output, dz, Relu.Rule.GRADIENT, learnable);
        }
        recycler.clear();
        return grads;
    }

    /**
     * The parameters training changes: those not frozen, except batch norm's running statistics
     * (inputs 3 and 4 of a BatchNorm node), which the forward pass updates itself.
     */
    public static List<String> learnable(Graph g) {
        Set<String> buffers = new HashSet<>();
        for (Node n : g.nodes) {
            if (n.op() instanceof Layers.BatchNorm) {
                for (int i = 3; i < n.inputs().size(); i++) buffers.add(n.inputs().get(i));
            }
        }
        List<String> names = new ArrayList<>();
        for (String p : g.trainable()) if (!buffers.contains(p)) names.add(p);
        return names;
    }

    /** How many values {@link #learnable} holds: the parameters an optimizer would change. */
    public static long learnableValues(Graph g) {
        long n = 0;
        for (String p : learnable(g)) n += g.params.get(p).size();
        return n;
    }

    /** Optimizer updates done so far (over all epochs). */
    public long step() {
        return step;
    }

    /** Trains from epoch 1 (or from the checkpoint with {@code resume}) to {@code cfg.epochs}. */
    public Result fit(Dataset train, Dataset test) {
        return fit(train, test, null);
    }

    /**
     * As {@link #fit(Dataset, Dataset)}, calling {@code afterEpoch} (when not null) at the end of
     * each epoch, after the checkpoint is written, with the graph holding that epoch's weights: the
     * place to keep a snapshot per epoch (Zeiler and Fergus follow features through training).
     */
    public Result fit(Dataset train, Dataset test, java.util.function.Consumer<Epoch> afterEpoch) {
        List<Epoch> history = new ArrayList<>();
        int start = 0;
        Path ckpt = cfg.out() == null ? null : cfg.out().resolve(CHECKPOINT);
        if (cfg.out() != null) {
            try {
                Files.createDirectories(cfg.out());
            } catch (IOException e) {
                throw new UncheckedIOException(cfg.out() + ": cannot create the output folder: " + e.getMessage(), e);
            }
        }
        if (cfg.resume() && ckpt != null && Files.isRegularFile(ckpt)) {
            start = restore(Checkpoint.read(ckpt), ckpt, history);
            note("resuming from " + ckpt + " after epoch " + start);
        }
        Evaluation last = null;
        for (int e = start; e < cfg.epochs(); e++) {
            double lr = cfg.schedule().lr(e);
            long t0 = System.nanoTime();
            double[] sums = trainEpoch(train, e, lr); // loss sum, correct, count
            double seconds = (System.nanoTime() - t0) / 1e9;
            last = evaluate(test, cfg.batch(), cfg.normalize());
            Epoch ep = new Epoch(e + 1, lr, sums[0] / sums[2], sums[1] / sums[2], last.loss(), last.accuracy(), seconds,
                    sums[2] / seconds);
            history.add(ep);
            note(String.format(Locale.ROOT, "epoch %d/%d: lr %.4g, train loss %.4f acc %.4f, test loss %.4f acc %.4f, %.1f s (%.0f img/s)",
                    ep.epoch(), cfg.epochs(), lr, ep.trainLoss(), ep.trainAcc(), ep.testLoss(), ep.testAcc(), seconds, ep.imagesPerSecond()));
            if (cfg.out() != null) {
                writeCurves(cfg.out().resolve(CURVES), history);
                writeConfusion(cfg.out().resolve(CONFUSION), last.confusion(), train.classes());
                checkpoint(e + 1, history).write(ckpt);
            }
            if (afterEpoch != null) afterEpoch.accept(ep);
        }
        if (last == null) last = evaluate(test, cfg.batch(), cfg.normalize());
        return new Result(history, last);
    }

    private double[] trainEpoch(Dataset train, int epoch, double lr) {
        String input = g.inputs.get(0), output = g.outputs.get(0);
        double lossSum = 0, correct = 0, count = 0;
        long t0 = System.nanoTime(), lastDraw = 0;
        Recycler recycler = new Recycler(); // each step's parameter gradients are made in the arrays of the step before
        try (Loader loader = new Loader(train, cfg.batch(), cfg.normalize(), cfg.augment(), cfg.seed(), epoch, true)) {
            int nb = loader.batches();
            for (int b = 0; ; b++) {
                Loader.Batch batch = loader.next();
                if (batch == null) break;
                step++;
                Run run = g.forwardTraining(k, Map.of(input, batch.x()), List.of());
                Tensor logits = run.output();
                Tensor z = logits2d(logits);
                CrossEntropy.Result ce = CrossEntropy.forward(z, batch.labels());
                if (!Float.isFinite(ce.loss())) throw nonFiniteForward(run, ce.loss());
                Tensor dz = CrossEntropy.backward(ce.probs(), batch.labels(), 1f).reshape(logits.shape());
                Map<String, Tensor> grads = backwardRecycled(run, output, dz, learnable, recycler);
                for (Map.Entry<String, Tensor> e : grads.entrySet()) {
                    if (!k.allFinite(e.getValue().data)) {
                        throw new NonFiniteException(step, e.getKey(), "NaN/Inf first appeared at step " + step + " (epoch "
                                + (epoch + 1) + ") in the gradient of parameter '" + e.getKey() + "'" + consumer(e.getKey())
                                + "; the loss was " + ce.loss() + " (try a smaller learning rate)");
                    }
                }
                opt.step(k, g.params, grads, lr);
                for (Tensor gr : grads.values()) recycler.give(gr.data); // used up by the step
                int n = batch.labels().length;
                lossSum += (double) ce.loss() * n;
                correct += correct(z, batch.labels());
                count += n;
                long now = System.nanoTime();
                if (cfg.progress() != null && (now - lastDraw > 250_000_000L || b == nb - 1)) {
                    lastDraw = now;
                    progress(epoch, b + 1, nb, count, train.size(), (now - t0) / 1e9, lossSum / count);
                }
            }
        }
        if (cfg.progress() != null) cfg.progress().println();
        return new double[] {lossSum, correct, count};
    }

    /** (N,K) logits from an output (N,K) or (N,K,1,...,1). */
    private static Tensor logits2d(Tensor y) {
        Shapes.check(y.rank() >= 2, "Trainer", "the model output " + Shapes.str(y.shape()) + " is not (N, classes)");
        int n = y.dim(0), kk = y.dim(1);
        Shapes.check(y.size() == n * kk, "Trainer", "the model output " + Shapes.str(y.shape()) + " is not (N, classes)");
        return y.rank() == 2 ? y : y.reshape(n, kk);
    }

    private static int correct(Tensor z, int[] labels) {
        int kk = z.dim(1), c = 0;
        for (int r = 0; r < labels.length; r++) if (argmax(z.data, r * kk, kk) == labels[r]) c++;
        return c;
    }

    private static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
        return best;
    }

    private String consumer(String param) {
        for (Node n : g.nodes) if (n.inputs().contains(param)) return " (node '" + n.name() + "', " + n.op().type() + ")";
        return "";
    }

    /** The first node whose output is not finite. */
    private NonFiniteException nonFiniteForward(Run run, float loss) {
        for (String in : g.inputs) {
            if (!k.allFinite(run.value(in).data)) {
                return new NonFiniteException(step, in, "NaN/Inf first appeared at step " + step + " in the input '" + in + "'");
            }
        }
        for (Node n : run.graph.nodes) { // the run's nodes: a batch norm fused with its ReLU is one node, named after the batch norm
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                Tensor t;
                try {
                    t = run.value(o);
                } catch (IllegalArgumentException e) {
                    continue;
                }
                if (!k.allFinite(t.data)) {
                    return new NonFiniteException(step, n.name(), "NaN/Inf first appeared at step " + step + " in the output of node '"
                            + n.name() + "' (" + n.op().type() + "); the parameters were finite after step " + (step - 1)
                            + " (try a smaller learning rate)");
                }
            }
        }
        return new NonFiniteException(step, "loss", "the loss is " + loss + " at step " + step + " although every node's output is finite");
    }

    /** Loss, accuracy and confusion matrix over {@code d}, in inference mode. */
    public Evaluation evaluate(Dataset d, int batch, Loader.Normalize norm) {
        int kk = d.classes().size();
        long[][] confusion = new long[kk][kk];
        double loss = 0;
        long correct = 0;
        try (Loader loader = new Loader(d, batch, norm, Augment.NONE, 0, 0, false)) {
            for (Loader.Batch b; (b = loader.next()) != null; ) {
                Tensor z = logits2d(g.forward(k, Map.of(g.inputs.get(0), b.x()), false).output());
                Shapes.check(z.dim(1) == kk, "Trainer", "the model has " + z.dim(1) + " outputs but the data has " + kk + " classes");
                loss += (double) CrossEntropy.forward(z, b.labels()).loss() * b.labels().length;
                for (int r = 0; r < b.labels().length; r++) {
                    int p = argmax(z.data, r * kk, kk);
                    confusion[b.labels()[r]][p]++;
                    if (p == b.labels()[r]) correct++;
                }
            }
        }
        return new Evaluation(loss / d.size(), (double) correct / d.size(), confusion);
    }

    // ---------------------------------------------------------------- checkpoints

    private Checkpoint checkpoint(int epochsDone, List<Epoch> history) {
        Map<String, Long> longs = new LinkedHashMap<>();
        longs.put("epoch", (long) epochsDone);
        longs.put("seed", cfg.seed());
        longs.put("step", step);
        longs.put("optimizer.steps", opt.steps());
        for (Node n : g.nodes) {
            if (n.op() instanceof Layers.DropoutOp d) longs.put("dropout/" + n.name(), d.steps().get());
        }
        StringBuilder h = new StringBuilder(Epoch.HEADER).append('\n');
        for (Epoch e : history) h.append(e.csv()).append('\n');
        Map<String, String> strings = Map.of("optimizer", opt.name(), "history", h.toString());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        synchronized (g.params) {
            for (Map.Entry<String, Tensor> e : g.params.entrySet()) tensors.put("param/" + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, Tensor> e : opt.state().entrySet()) tensors.put("opt/" + e.getKey(), e.getValue());
        return new Checkpoint(longs, strings, tensors);
    }

    /** Loads a checkpoint into the graph and the optimizer; returns the epochs it had finished. */
    private int restore(Checkpoint c, Path file, List<Epoch> history) {
        long seed = c.getLong("seed", file);
        if (seed != cfg.seed()) {
            throw new IllegalArgumentException(file + ": the checkpoint was written with seed " + seed + ", not " + cfg.seed()
                    + "; resume with the same seed");
        }
        String name = c.strings().get("optimizer");
        if (!opt.name().equals(name)) {
            throw new IllegalArgumentException(file + ": the checkpoint was written with optimizer " + name + ", not " + opt.name());
        }
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : g.params.entrySet()) {
            Tensor t = c.tensors().get("param/" + e.getKey());
            if (t == null) problems.add("'" + e.getKey() + "' is missing");
            else if (!java.util.Arrays.equals(t.shape(), e.getValue().shape())) {
                problems.add("'" + e.getKey() + "' is " + Shapes.str(t.shape()) + " in the checkpoint but "
                        + Shapes.str(e.getValue().shape()) + " in the model");
            }
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException(file + ": does not fit the model: " + String.join("; ", problems));
        for (Map.Entry<String, Tensor> e : g.params.entrySet()) {
            Tensor t = c.tensors().get("param/" + e.getKey());
            System.arraycopy(t.data, 0, e.getValue().data, 0, t.data.length);
        }
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
            if (e.getKey().startsWith("opt/")) state.put(e.getKey().substring(4), e.getValue());
        }
        opt.load(state, c.getLong("optimizer.steps", file));
        step = c.getLong("step", file);
        for (Node n : g.nodes) {
            if (n.op() instanceof Layers.DropoutOp d) d.steps().set(c.getLong("dropout/" + n.name(), file));
        }
        String h = c.strings().getOrDefault("history", "");
        for (String line : h.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("epoch")) history.add(Epoch.parse(line));
        }
        return (int) c.getLong("epoch", file);
    }

    // ---------------------------------------------------------------- reports

    private void note(String s) {
        if (cfg.progress() != null) cfg.progress().println("convlens: " + s);
    }

    private void progress(int epoch, int b, int nb, double seen, int total, double seconds, double loss) {
        int width = 30, filled = (int) Math.round(width * (double) b / nb);
        double rate = seen / Math.max(seconds, 1e-9), eta = (total - seen) / Math.max(rate, 1e-9);
        cfg.progress().print(String.format(Locale.ROOT, "\repoch %d/%d [%s%s] %d/%d  %.0f img/s  loss %.4f  ETA %d:%02d ",
                epoch + 1, cfg.epochs(), "=".repeat(filled), " ".repeat(width - filled), (long) seen, total, rate, loss,
                (long) eta / 60, (long) eta % 60));
        cfg.progress().flush();
    }

    /** Writes the curves as CSV ({@link Epoch#HEADER}). */
    public static void writeCurves(Path file, List<Epoch> history) {
        StringBuilder s = new StringBuilder(Epoch.HEADER).append('\n');
        for (Epoch e : history) s.append(e.csv()).append('\n');
        write(file, s.toString());
    }

    /** Reads what {@link #writeCurves} wrote. */
    public static List<Epoch> readCurves(Path file) {
        try {
            List<Epoch> h = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isEmpty() && !line.startsWith("epoch")) h.add(Epoch.parse(line));
            }
            return h;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The confusion matrix as CSV: a header of class names, then one row per true class. */
    public static void writeConfusion(Path file, long[][] confusion, List<String> classes) {
        StringBuilder s = new StringBuilder("true\\predicted");
        for (String c : classes) s.append(',').append(csvField(c));
        s.append('\n');
        for (int i = 0; i < confusion.length; i++) {
            s.append(csvField(classes.get(i)));
            for (long v : confusion[i]) s.append(',').append(v);
            s.append('\n');
        }
        write(file, s.toString());
    }

    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }

    private static void write(Path file, String text) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
