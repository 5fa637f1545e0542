package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelsTest {

    @Test
    void lineIIsClassI(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("labels.txt");
        Files.writeString(f, "cat\ndog  \nhot air balloon\n\n");
        List<String> labels = Labels.read(f);
        assertEquals(List.of("cat", "dog", "hot air balloon"), labels);
        assertEquals("hot air balloon", Labels.name(labels, 2));
        assertNull(Labels.name(labels, 3));
        assertNull(Labels.name(null, 0));
        assertEquals(labels, Labels.find(f, 1000));
    }

    @Test
    void missingOrEmptyFileNamesTheFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("none.txt");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Labels.read(missing));
        assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
        Path empty = Files.writeString(dir.resolve("empty.txt"), "\n");
        e = assertThrows(IllegalArgumentException.class, () -> Labels.read(empty));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    /** A made-up darknet folder: 1000 shuffled (wnid, name) pairs plus extra lines that must be ignored. */
    @Test
    void darknetPairsAreSortedByWordNetId(@TempDir Path dir) throws Exception {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 1000; i++) order.add(i);
        Collections.shuffle(order, new Random(7));
        StringBuilder ids = new StringBuilder(), names = new StringBuilder();
        for (int i : order) {
            ids.append(String.format("n%08d%n", 1000 + i * 3));
            names.append("class ").append(i).append('\n');
        }
        ids.append("n00000001\n"); // line 1001 and later are not ILSVRC-2012 classes
        names.append("not a class\n");
        Files.writeString(dir.resolve("imagenet.labels.list"), ids);
        Files.writeString(dir.resolve("imagenet.shortnames.list"), names);
        List<String> labels = Labels.darknet(dir);
        assertEquals(1000, labels.size());
        for (int i = 0; i < 1000; i++) assertEquals("class " + i, labels.get(i));
    }

    @Test
    void noDarknetFolderMeansNoLabels(@TempDir Path dir) {
        assertNull(Labels.darknet(dir.resolve("absent")));
        assertNull(Labels.find(null, 10));
    }

    /** Debian's real list, when installed: torchvision's class 0 is tench and 281 is tabby. */
    @Test
    void debianDarknetListGivesTorchvisionOrder() {
        assumeTrue(Files.isRegularFile(Labels.DARKNET_DIR.resolve("imagenet.labels.list")),
                "Debian's darknet data is not installed");
        List<String> labels = Labels.darknet(Labels.DARKNET_DIR);
        assertEquals("tench", labels.get(0));
        assertEquals("tabby", labels.get(281));
        assertEquals(labels, Labels.find(null, 1000));
    }
}
