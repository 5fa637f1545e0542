package dev.convlens.nn.train;

import dev.convlens.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * One epoch of mini-batches of a {@link Dataset}, prepared on a background thread and handed over
 * through a bounded queue (at most {@code QUEUE} batches ahead), so decoding, augmentation and
 * normalization overlap with the forward and backward passes.
 *
 * <p>Order: with {@code shuffle} the images are visited in the Fisher-Yates permutation drawn from
 * {@code SplittableRandom(seed ^ (epoch + 1) * 0xD1B54A32D192ED69)}, else in dataset order; the
 * last batch may be smaller (PyTorch's {@code drop_last=False}). Each value becomes, as
 * torchvision's {@code ToTensor} then {@code Normalize(mean, std)} in float32:
 * <pre>
 *   x[n,c,i,j] = (v / 255 - mean[c]) / std[c]
 * </pre>
 * Everything in a batch is a function of (dataset, seed, epoch, batch number): a resumed run sees
 * the same batches as an uninterrupted one.
 */
public final class Loader implements AutoCloseable {
    /** How many prepared batches may wait in the queue. */
    static final int QUEUE = 3;

    /** Images (n, c, h, w), their labels and their indices in the dataset. */
    public record Batch(Tensor x, int[] labels, int[] indices) {}

    /** Per-channel normalization; one value each for grayscale. */
    public record Normalize(float[] mean, float[] std) {
        public Normalize {
            if (mean.length != std.length) throw new IllegalArgumentException("Normalize: " + mean.length + " means but " + std.length + " stds");
            for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("Normalize: std must be > 0, got " + s);
        }

        /** ImageNet's mean and std (torchvision's models). */
        public static final Normalize IMAGENET = new Normalize(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
        /** Fashion-MNIST training-set mean and std of v/255. */
        public static final Normalize FASHION_MNIST = new Normalize(new float[] {0.2860f}, new float[] {0.3530f});
    }

    private static final Object END = new Object();

    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread worker;
    private final int batches;

    /**
     * Starts preparing the batches of {@code epoch}.
     *
     * @param aug augmentation (training) or {@link Augment#NONE}
     */
    public Loader(Dataset d, int batch, Normalize norm, Augment aug, long seed, int epoch, boolean shuffle) {
        if (batch < 1) throw new IllegalArgumentException("Loader: batch size must be >= 1 but is " + batch);
        if (norm.mean().length != d.c()) {
            throw new IllegalArgumentException("Loader: normalization has " + norm.mean().length + " channels but the images have " + d.c());
        }
        int n = d.size();
        int[] order = shuffle ? Dataset.permutation(n, new SplittableRandom(seed ^ (epoch + 1L) * 0xD1B54A32D192ED69L)) : identity(n);
        this.batches = (n + batch - 1) / batch;
        this.worker = new Thread(() -> produce(d, batch, norm, aug, seed, epoch, order), "convlens-loader-epoch-" + epoch);
        worker.setDaemon(true);
        worker.start();
    }

    private static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    /** How many batches this epoch has. */
    public int batches() {
        return batches;
    }

    private void produce(Dataset d, int batch, Normalize norm, Augment aug, long seed, int epoch, int[] order) {
        try {
            int m = d.imageSize(), plane = d.h() * d.w();
            int[] raw = new int[m];
            float[] scale = new float[d.c()];
            for (int c = 0; c < d.c(); c++) scale[c] = norm.std()[c];
            for (int start = 0; start < order.length; start += batch) {
                int nb = Math.min(batch, order.length - start);
                Tensor x = Tensor.zeros(nb, d.c(), d.h(), d.w()); // (nb, c, h, w)
                int[] labels = new int[nb], idx = new int[nb];
                for (int b = 0; b < nb; b++) {
                    int i = order[start + b];
                    idx[b] = i;
                    labels[b] = d.labels()[i];
                    if (aug.none()) {
                        for (int j = 0; j < m; j++) raw[j] = d.pixels()[i * m + j] & 0xff;
                    } else {
                        aug.apply(d.pixels(), i * m, d.c(), d.h(), d.w(), seed, epoch, i, raw, 0);
                    }
                    for (int j = 0; j < m; j++) {
                        int c = j / plane;
                        x.data[b * m + j] = ((float) raw[j] / 255f - norm.mean()[c]) / scale[c];
                    }
                }
                queue.put(new Batch(x, labels, idx));
            }
            queue.put(END);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            try {
                queue.put(e);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The next batch, or null after the last one; rethrows what failed on the loader thread. */
    public Batch next() {
        Object o;
        try {
            o = queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        }
        if (o == END) {
            queue.offer(END); // later calls see the end too
            return null;
        }
        if (o instanceof RuntimeException e) throw e;
        if (o instanceof Error e) throw e;
        return (Batch) o;
    }

    /** Stops the loader thread (batches not taken are dropped). */
    @Override
    public void close() {
        worker.interrupt();
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
