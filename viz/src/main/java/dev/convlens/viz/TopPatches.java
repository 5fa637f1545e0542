package dev.convlens.viz;

import dev.convlens.models.Preprocess;
import dev.convlens.nn.Graph;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.viz.image.Images;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The strongest activations of a layer's feature maps over a folder of images, with the image
 * patches that caused them and their deconvnet projections: Zeiler and Fergus, "Visualizing and
 * Understanding Convolutional Networks", ECCV 2014, Fig. 2 ("the top 9 activations in a random
 * subset of feature maps across the validation data, projected down to pixel space using our
 * deconvolutional network approach", beside "the corresponding image patches").
 *
 * <p>For channel {@code k} of layer {@code A} and image {@code n}, the image's strongest unit is
 * <pre>
 *   (y*, x*) = argmax_{y,x} A_k(x_n)[y][x],      score(n) = A_k(x_n)[y*][x*]
 * </pre>
 * and the channel keeps the {@code keep} (9) images of highest score: at most one unit per image,
 * as the paper's grids show nine different images. Each channel holds a bounded min-heap of size
 * {@code keep} (the weakest kept hit on top, replaced when a stronger one arrives), so memory is
 * {@code channels * keep} hits whatever the folder's size. Ties keep the earlier image (files
 * sorted by name), so the result does not depend on the number of threads.
 *
 * <p>The patch of a hit is the unit's receptive field box ({@link ReceptiveField}) cut from the
 * preprocessed input; its projection is the {@link Deconvnet} reconstruction of that one unit:
 * the layer's activations set to zero except {@code A_k[y*][x*]}, passed down with the deconvnet
 * rule (ReLU rectifies the signal, max pooling unpools with the switches, convolutions use the
 * transposed filters) to the input, and cut to the same box.
 */
public final class TopPatches {
    private TopPatches() {}

    /** One kept activation: channel's unit (y, x) in image {@code image} (index in {@code files}). */
    public record Hit(float activation, int image, int y, int x) {}

    /**
     * The strongest hits per channel, strongest first.
     *
     * @param files the images streamed, sorted by name
     * @param top   for each entry of {@code channels}, its hits (at most {@code keep}, one per image)
     */
    public record Result(String layer, int[] channels, List<Path> files, List<List<Hit>> top) {}

    /** How each image file becomes the network's input (1, 3, H, W). */
    public static Function<Path, Tensor> imagenet(int resize, int crop) {
        return f -> Preprocess.imagenet(f, resize, crop, null);
    }

    /** The PNG and JPEG files of {@code folder} (not recursive), sorted by name. */
    public static List<Path> images(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("TopPatches: cannot list " + folder + ": " + e.getMessage(), e);
        }
    }

    /**
     * Streams {@code files} through the network and keeps, per channel, the {@code keep}
     * strongest activations of {@code layer}, at most one per image.
     *
     * @param channels the channels to follow (indices into the layer's channels)
     * @param threads  images processed at once (each forward already uses the kernels' threads)
     * @param progress where the progress line goes (images/s, ETA); null for none
     */
    public static Result run(Graph g, Kernels k, List<Path> files, Function<Path, Tensor> load, String layer,
                             int[] channels, int keep, int threads, PrintStream progress) {
        if (files.isEmpty()) throw new IllegalArgumentException("TopPatches: no images (PNG or JPEG) to stream");
        if (keep < 1 || threads < 1) throw new IllegalArgumentException("TopPatches: keep and threads must be >= 1");
        // the weakest kept hit first; among equals the later image goes first (so earlier images win ties)
        Comparator<Hit> weakestFirst = Comparator.comparingDouble(Hit::activation)
                .thenComparing(Comparator.comparingInt(Hit::image).reversed());
        List<PriorityQueue<Hit>> heaps = new ArrayList<>();
        for (int i = 0; i < channels.length; i++) heaps.add(new PriorityQueue<>(keep + 1, weakestFirst));
        String in = g.inputs.get(0);
        AtomicInteger done = new AtomicInteger();
        long t0 = System.nanoTime();
        long[] lastPrint = {0};
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(threads, files.size()), r -> {
            Thread t = new Thread(r, "convlens-top");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> jobs = new ArrayList<>();
            for (int n = 0; n < files.size(); n++) {
                int image = n;
                jobs.add(pool.submit(() -> {
                    Tensor a = g.infer(k, Map.of(in, load.apply(files.get(image))), List.of(layer)).value(layer);
                    Shapes.check(a.rank() == 4, "TopPatches", "layer '" + layer + "' is not a feature map (N,C,H,W): "
                            + Shapes.str(a.shape()));
                    int plane = a.dim(2) * a.dim(3);
                    for (int i = 0; i < channels.length; i++) {
                        int c = channels[i];
                        Shapes.check(c >= 0 && c < a.dim(1), "TopPatches", "channel " + c + " but layer '" + layer
                                + "' has " + a.dim(1));
                        int best = 0;
                        for (int j = 1; j < plane; j++) if (a.data[c * plane + j] > a.data[c * plane + best]) best = j;
                        Hit hit = new Hit(a.data[c * plane + best], image, best / a.dim(3), best % a.dim(3));
                        PriorityQueue<Hit> h = heaps.get(i);
                        synchronized (h) {
                            h.add(hit);
                            if (h.size() > keep) h.poll();
                        }
                    }
                    report(progress, done.incrementAndGet(), files.size(), t0, lastPrint);
                    return null;
                }));
            }
            for (Future<?> f : jobs) f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error er) throw er;
            throw new IllegalStateException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("TopPatches: interrupted", e);
        } finally {
            pool.shutdownNow();
        }
        if (progress != null) progress.println();
        List<List<Hit>> top = new ArrayList<>();
        for (PriorityQueue<Hit> h : heaps) {
            List<Hit> l = new ArrayList<>(h);
            l.sort(weakestFirst.reversed());
            top.add(List.copyOf(l));
        }
        return new Result(layer, channels.clone(), List.copyOf(files), top);
    }

    private static void report(PrintStream progress, int done, int total, long t0, long[] lastPrint) {
        if (progress == null) return;
        long now = System.nanoTime();
        synchronized (lastPrint) {
            if (done < total && now - lastPrint[0] < 500_000_000L) return;
            lastPrint[0] = now;
            double s = (now - t0) / 1e9, rate = done / Math.max(s, 1e-9);
            progress.printf(Locale.ROOT, "\rtop patches: %d/%d images, %.2f images/s, ETA %.0f s   ", done, total, rate,
                    (total - done) / Math.max(rate, 1e-9));
            progress.flush();
        }
    }

    /**
     * Draws the paper's figure for each channel into {@code dir}: {@code top_<channel>.png} holds a
     * 3x3 (generally {@code ceil(sqrt(keep))} wide) grid of patches and, beside it, the grid of
     * their deconvnet projections (when {@code projections} is true). Each tile is the full
     * receptive-field size; the part of the field outside the image is grey.
     *
     * @param scale enlargement of each tile (nearest neighbour), e.g. 2 for small fields
     */
    public static void render(Result r, Graph g, Kernels k, Function<Path, Tensor> load, Path dir, boolean projections,
                              int scale) {
        ReceptiveField.Field f = ReceptiveField.of(g, r.layer());
        Deconvnet deconv = new Deconvnet(g, k);
        for (int i = 0; i < r.channels().length; i++) {
            List<BufferedImage> patches = new ArrayList<>(), projs = new ArrayList<>();
            List<String> captions = new ArrayList<>();
            for (Hit h : r.top().get(i)) {
                Tensor x = load.apply(r.files().get(h.image()));
                ReceptiveField.Box b = f.box(h.y(), h.x(), x.dim(2), x.dim(3));
                patches.add(Images.enlarge(Images.fromNormalized(field(x, f, h, b), Images.IMAGENET_MEAN, Images.IMAGENET_STD), scale));
                if (projections) {
                    Tensor p = deconv.project(x, r.layer(), Deconvnet.Unit.at(r.channels()[i], h.y(), h.x()),
                            Relu.Rule.DECONVNET).projection();
                    projs.add(Images.enlarge(Images.signal(field(p, f, h, b)), scale));
                }
                captions.add(String.format(Locale.ROOT, "%.3g", h.activation()));
            }
            if (patches.isEmpty()) continue;
            int cols = (int) Math.ceil(Math.sqrt(patches.size()));
            BufferedImage left = Images.grid(patches, captions, cols, 2);
            BufferedImage fig = projections
                    ? Images.grid(List.of(left, Images.grid(projs, captions, cols, 2)),
                            List.of("channel " + r.channels()[i] + ": patches", "deconvnet projections"), 2, 6)
                    : Images.grid(List.of(left), List.of("channel " + r.channels()[i] + ": patches"), 1, 6);
            Images.writePng(fig, dir.resolve(String.format(Locale.ROOT, "top_%04d.png", r.channels()[i])));
        }
    }

    /**
     * The receptive field of hit {@code h} as a (1, 3, sizeH, sizeW) tensor: the clamped box
     * {@code b} of {@code x} at its place in the field, zeros (grey: the mean, or no signal) outside.
     */
    static Tensor field(Tensor x, ReceptiveField.Field f, Hit h, ReceptiveField.Box b) {
        int fh = f.sizeH(), fw = f.sizeW(), H = x.dim(2), W = x.dim(3);
        Tensor out = Tensor.zeros(1, 3, fh, fw);
        int top = f.top(h.y()), left = f.left(h.x());
        for (int c = 0; c < 3; c++)
            for (int y = b.top(); y < b.bottom(); y++)
                System.arraycopy(x.data, (c * H + y) * W + b.left(), out.data, (c * fh + y - top) * fw + b.left() - left,
                        b.width());
        return out;
    }
}
