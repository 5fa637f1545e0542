package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.kernels.Backend;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IDX files, image folders, the split, augmentation and the loader. */
class DataTest {
    static byte[] idx(int[] dims, byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0, 0, 8, (byte) dims.length});
        for (int d : dims) b.writeBytes(new byte[] {(byte) (d >>> 24), (byte) (d >>> 16), (byte) (d >>> 8), (byte) d});
        b.writeBytes(data);
        return b.toByteArray();
    }

    static void gz(Path f, byte[] data) throws Exception {
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write(data);
        }
    }

    @Test
    void idxRoundTripAndErrorsNameTheFile(@TempDir Path dir) throws Exception {
        byte[] px = new byte[2 * 3 * 4];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 10);
        Path im = dir.resolve("im-idx3-ubyte.gz"), lb = dir.resolve("lb-idx1-ubyte");
        gz(im, idx(new int[] {2, 3, 4}, px));
        Files.write(lb, idx(new int[] {2}, new byte[] {1, 0}));
        Dataset d = Idx.load(im, lb, List.of("a", "b"));
        assertEquals(2, d.size());
        assertEquals(3, d.h());
        assertEquals(4, d.w());
        assertArrayEquals(px, d.pixels());
        assertArrayEquals(new int[] {1, 0}, d.labels());

        Path bad = dir.resolve("bad");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Idx.read(bad));
        assertTrue(e.getMessage().contains(bad.toString()) && e.getMessage().contains("magic"), e.getMessage());

        byte[] whole = Files.readAllBytes(im);
        Path cut = dir.resolve("cut.gz");
        Files.write(cut, Arrays.copyOf(whole, whole.length - 12));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read(cut));
        assertTrue(e.getMessage().contains(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Path shortData = dir.resolve("short");
        Files.write(shortData, idx(new int[] {2, 3, 4}, new byte[5]));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.read(shortData));
        assertTrue(e.getMessage().contains(shortData.toString()) && e.getMessage().contains("truncated"), e.getMessage());

        Path wrongCount = dir.resolve("lb2");
        Files.write(wrongCount, idx(new int[] {3}, new byte[] {1, 0, 1}));
        e = assertThrows(IllegalArgumentException.class, () -> Idx.load(im, wrongCount, List.of("a", "b")));
        assertTrue(e.getMessage().contains("2 images") && e.getMessage().contains("3 labels"), e.getMessage());
    }

    @Test
    void fashionMnistTestSet() {
        Assumptions.assumeTrue(Files.isDirectory(Idx.FASHION_MNIST_DIR), "dataset-fashion-mnist is not installed");
        Dataset d = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false);
        assertEquals(10_000, d.size());
        assertEquals(28, d.h());
        int[] counts = new int[10];
        for (int l : d.labels()) counts[l]++;
        for (int c : counts) assertEquals(1000, c);
    }

    @Test
    void imageFolderSortsClassesAndFiles(@TempDir Path dir) throws Exception {
        for (String c : List.of("zebra", "ant")) {
            Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < 2; i++) {
                BufferedImage im = new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB);
                int v = c.equals("ant") ? 40 + i : 200 + i;
                for (int y = 0; y < 4; y++) for (int x = 0; x < 6; x++) im.setRGB(x, y, (v << 16) | (v << 8) | v);
                ImageIO.write(im, "png", dir.resolve(c).resolve("im" + i + ".png").toFile());
            }
        }
        Files.writeString(dir.resolve("ant").resolve("notes.txt"), "not an image");
        Dataset d = ImageFolder.load(dir, 1, 5);
        assertEquals(List.of("ant", "zebra"), d.classes());
        assertArrayEquals(new int[] {0, 0, 1, 1}, d.labels());
        assertEquals(40, d.pixels()[0] & 0xff);
        assertEquals(201, d.pixels()[3 * 25] & 0xff);
        Dataset rgb = ImageFolder.load(dir, 3, 5);
        assertEquals(3 * 25 * 4, rgb.pixels().length);

        Files.write(dir.resolve("zebra").resolve("broken.png"), new byte[] {1, 2, 3});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageFolder.load(dir, 1, 5));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
    }

    @Test
    void splitIsSeededAndDisjoint() {
        Dataset d = TinyNets.synthetic(100, 1);
        Dataset.Split a = d.split(0.2, 5), b = d.split(0.2, 5), c = d.split(0.2, 6);
        assertEquals(20, a.test().size());
        assertEquals(80, a.train().size());
        assertArrayEquals(a.test().pixels(), b.test().pixels());
        assertNotEquals(Arrays.hashCode(a.test().pixels()), Arrays.hashCode(c.test().pixels()));
    }

    @Test
    void augmentationDependsOnlyOnSeedEpochAndIndex() {
        Dataset d = TinyNets.synthetic(10, 1);
        Augment aug = new Augment(2, true);
        int[] x = new int[64], y = new int[64], z = new int[64];
        aug.apply(d.pixels(), 3 * 64, 1, 8, 8, 9, 4, 3, x, 0);
        aug.apply(d.pixels(), 3 * 64, 1, 8, 8, 9, 4, 3, y, 0);
        assertArrayEquals(x, y);
        boolean differs = false;
        for (int e = 0; e < 8 && !differs; e++) {
            aug.apply(d.pixels(), 3 * 64, 1, 8, 8, 9, e + 5, 3, z, 0);
            differs = !Arrays.equals(x, z);
        }
        assertTrue(differs);
        // a pure flip (pad 0) is an exact mirror, or the identity
        int[] f = new int[64];
        new Augment(0, true).apply(d.pixels(), 0, 1, 8, 8, 1, 0, 0, f, 0);
        boolean mirrored = f[7] == (d.pixels()[0] & 0xff), same = f[0] == (d.pixels()[0] & 0xff);
        assertTrue(mirrored || same);
    }

    @Test
    void loaderGivesEveryImageOnceNormalized() {
        Dataset d = TinyNets.synthetic(37, 1);
        Loader.Normalize norm = new Loader.Normalize(new float[] {0.5f}, new float[] {0.25f});
        boolean[] seen = new boolean[37];
        int batches = 0;
        try (Loader l = new Loader(d, 8, norm, Augment.NONE, 1, 0, true)) {
            assertEquals(5, l.batches());
            for (Loader.Batch b; (b = l.next()) != null; batches++) {
                for (int i = 0; i < b.indices().length; i++) {
                    int idx = b.indices()[i];
                    assertTrue(!seen[idx]);
                    seen[idx] = true;
                    assertEquals(d.labels()[idx], b.labels()[i]);
                    float expected = ((d.pixels()[idx * 64] & 0xff) / 255f - 0.5f) / 0.25f;
                    assertEquals(expected, b.x().data[i * 64], 0f);
                }
            }
        }
        assertEquals(5, batches);
        for (boolean s : seen) assertTrue(s);
    }

    /** The proof: a tiny network on a slice of Fashion-MNIST, a few hundred steps, well above chance. */
    @Test
    void tinyNetworkLearnsAFashionMnistSlice() {
        Assumptions.assumeTrue(Files.isDirectory(Idx.FASHION_MNIST_DIR), "dataset-fashion-mnist is not installed");
        Dataset train = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, true).head(1000);
        Dataset test = Idx.fashionMnist(Idx.FASHION_MNIST_DIR, false).head(300);
        Trainer.Config cfg = new Trainer.Config(2, 10, 1, new Schedule.Constant(0.002), Augment.NONE, Loader.Normalize.FASHION_MNIST,
                null, false, null);
        Trainer t = new Trainer(TinyNets.net(28, 4, 10, 1), Backend.select("simd", 2), Adam.adam(), cfg);
        Trainer.Result r = t.fit(train, test);
        assertEquals(200, t.step());
        assertTrue(r.test().accuracy() > 0.6, "test accuracy " + r.test().accuracy() + " after 200 steps (chance 0.1)");
    }

    @Test
    void sampleIsASeededOrderedSubset() {
        int n = 50;
        byte[] px = new byte[n];
        int[] lb = new int[n];
        for (int i = 0; i < n; i++) {
            px[i] = (byte) i;
            lb[i] = i / 5;
        }
        Dataset d = new Dataset(px, lb, 1, 1, 1, List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
        Dataset s = d.sample(20, 3);
        assertEquals(20, s.size());
        for (int i = 1; i < s.size(); i++) assertTrue(s.pixels()[i - 1] < s.pixels()[i], "original order, no repeats");
        assertArrayEquals(s.pixels(), d.sample(20, 3).pixels());
        assertArrayEquals(d.pixels(), d.sample(99, 3).pixels());
    }
}
