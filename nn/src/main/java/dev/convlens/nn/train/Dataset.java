package dev.convlens.nn.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Labelled images held in memory as 8-bit pixels: {@code pixels (n, c, h, w)} flat, one byte per
 * value (0..255, read unsigned), {@code labels (n)} in {@code [0, classes.size())}. Converting to
 * floats happens per batch ({@link Loader}), so 60,000 Fashion-MNIST images take 47 MB, not 188.
 */
public record Dataset(byte[] pixels, int[] labels, int c, int h, int w, List<String> classes) {
    public Dataset {
        labels = labels.clone();
        classes = List.copyOf(classes);
        if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("Dataset: bad image shape " + c + "x" + h + "x" + w);
        if ((long) labels.length * c * h * w != pixels.length) {
            throw new IllegalArgumentException("Dataset: " + pixels.length + " pixel bytes for " + labels.length
                    + " images of " + c + "x" + h + "x" + w);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes.size()) {
                throw new IllegalArgumentException("Dataset: label " + labels[i] + " of image " + i + " is not in [0,"
                        + classes.size() + ")");
            }
        }
    }

    public int size() {
        return labels.length;
    }

    /** Values per image, c*h*w. */
    public int imageSize() {
        return c * h * w;
    }

    /** The images at {@code idx}, in that order. */
    public Dataset subset(int[] idx) {
        int m = imageSize();
        byte[] p = new byte[idx.length * m];
        int[] l = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            System.arraycopy(pixels, idx[i] * m, p, i * m, m);
            l[i] = labels[idx[i]];
        }
        return new Dataset(p, l, c, h, w, classes);
    }

    /** The first {@code n} images (or all when there are fewer). */
    public Dataset head(int n) {
        int[] idx = new int[Math.min(n, size())];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        return subset(idx);
    }

    /**
     * {@code n} images chosen at random (the first {@code n} of a Fisher-Yates permutation from
     * {@code seed}), kept in their original order; all of them when {@code n >= size()}. For sets
     * stored class by class (the digits sheet), where {@link #head} would take only the first classes.
     */
    public Dataset sample(int n, long seed) {
        int[] idx = Arrays.copyOf(permutation(size(), new SplittableRandom(seed)), Math.min(n, size()));
        Arrays.sort(idx);
        return subset(idx);
    }

    /** A train/test pair. */
    public record Split(Dataset train, Dataset test) {}

    /**
     * Splits the images at random into train and test, {@code testFraction} of them (rounded) going
     * to test; the permutation is a Fisher-Yates shuffle from {@code seed}, so a seed always gives
     * the same split. Each part keeps the original order of its images.
     */
    public Split split(double testFraction, long seed) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("Dataset: test fraction must be in (0,1) but is " + testFraction);
        }
        int n = size(), nTest = (int) Math.round(n * testFraction);
        int[] perm = permutation(n, new SplittableRandom(seed));
        int[] test = Arrays.copyOf(perm, nTest), train = Arrays.copyOfRange(perm, nTest, n);
        Arrays.sort(test);
        Arrays.sort(train);
        return new Split(subset(train), subset(test));
    }

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
    public static int[] permutation(int n, SplittableRandom r) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** "0", "1", ... as class names. */
    public static List<String> numbered(int k) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < k; i++) names.add(Integer.toString(i));
        return names;
    }
}
