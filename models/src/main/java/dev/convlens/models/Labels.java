package dev.convlens.models;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Class names for a classifier's outputs. They are never downloaded: they come from a file the
 * user gives, or from Debian's darknet data if installed, or there are none (print indices).
 *
 * <h2>Where the ImageNet names come from</h2>
 * Debian's {@code darknet} package ships {@code /usr/share/darknet/data/imagenet.labels.list}
 * (WordNet ids such as {@code n01440764}) and {@code imagenet.shortnames.list} (names such as
 * {@code tench}), line by line, 21,842 lines each. The first 1000 lines are the ILSVRC-2012
 * classes. torchvision's class index is the position of the WordNet id in sorted order (the
 * training folders were named by id and sorted), so sorting those 1000 pairs by id gives
 * index 0 = tench, 281 = tabby.
 */
public final class Labels {
    /** Where Debian's darknet package keeps its data. */
    public static final Path DARKNET_DIR = Paths.get("/usr/share/darknet/data");
    /** The number of ILSVRC-2012 classes. */
    public static final int IMAGENET_CLASSES = 1000;

    private Labels() {}

    /**
     * One label per line, line i (from 0) naming class i; trailing whitespace and a final empty
     * line are ignored.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no label
     */
    public static List<String> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the labels file: " + e.getMessage(), e);
        }
        List<String> labels = new ArrayList<>(lines.size());
        for (String l : lines) labels.add(l.stripTrailing());
        while (!labels.isEmpty() && labels.get(labels.size() - 1).isEmpty()) labels.remove(labels.size() - 1);
        if (labels.isEmpty()) throw new IllegalArgumentException(file + ": the labels file is empty");
        return List.copyOf(labels);
    }

    /**
     * The 1000 ImageNet class names in torchvision's order from a darknet data folder (see the
     * class comment), or null when the two files are not there.
     *
     * @throws IllegalArgumentException naming the file when they are there but too short
     */
    public static List<String> darknet(Path dir) {
        Path ids = dir.resolve("imagenet.labels.list"), names = dir.resolve("imagenet.shortnames.list");
        if (!Files.isRegularFile(ids) || !Files.isRegularFile(names)) return null;
        List<String> wnid = firstLines(ids), name = firstLines(names);
        String[][] pairs = new String[IMAGENET_CLASSES][];
        for (int i = 0; i < IMAGENET_CLASSES; i++) pairs[i] = new String[] {wnid.get(i), name.get(i)};
        Arrays.sort(pairs, (a, b) -> a[0].compareTo(b[0]));
        List<String> labels = new ArrayList<>(IMAGENET_CLASSES);
        for (String[] p : pairs) labels.add(p[1]);
        return List.copyOf(labels);
    }

    private static List<String> firstLines(Path file) {
        List<String> out = new ArrayList<>(IMAGENET_CLASSES);
        try (var in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String l; out.size() < IMAGENET_CLASSES && (l = in.readLine()) != null; ) out.add(l.strip());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (out.size() < IMAGENET_CLASSES) {
            throw new IllegalArgumentException(file + ": has " + out.size() + " lines; the first "
                    + IMAGENET_CLASSES + " should be the ILSVRC-2012 classes");
        }
        return out;
    }

    /**
     * The labels to use: the user's file when given, else the darknet list when {@code classes}
     * is 1000 and the list is installed, else null (callers print indices).
     */
    public static List<String> find(Path userFile, int classes) {
        if (userFile != null) return read(userFile);
        return classes == IMAGENET_CLASSES ? darknet(DARKNET_DIR) : null;
    }

    /** The name of class {@code i}, or null when there are no labels or too few. */
    public static String name(List<String> labels, int i) {
        return labels == null || i < 0 || i >= labels.size() ? null : labels.get(i);
    }
}
