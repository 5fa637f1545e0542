package dev.convlens.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Preprocess} against torchvision (script oracle_preprocess.py), and its handling of odd files. */
class PreprocessTest {
    /**
     * The bound on the normalized tensor: max |ours - torchvision| <= 0.02. One uint8 step
     * is 1/255/0.225 = 0.0174 after normalization, so this allows at most one step off per value.
     */
    static final double MAX_ABS = 0.02;
    /**
     * The resampled uint8 image: our weights and rounding are PIL's, so at most one step off where
     * a Pillow build computes a weight in a different order (Pillow 9.4 here: 0 everywhere).
     */
    static final int MAX_UINT8_STEP = 1;

    static final Path PHOTO = Paths.get(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("src/test/resources/photos/chelsea.png");

    @ParameterizedTest(name = "Resize({0}) CenterCrop({1})")
    @CsvSource({"256, 224", "97, 64", "480, 224", "300, 255"})
    void matchesTorchvision(int resize, int crop) {
        Golden gold = new Golden(Oracle.get().run("oracle_preprocess.py"));
        String tag = resize + "_" + crop;

        Preprocess.Image resized = Preprocess.resizeShorter(Preprocess.read(PHOTO, null), resize);
        Tensor expectedResized = gold.tensor("resized_" + tag); // (H, W, 3) 0..255
        assertArrayEquals(expectedResized.shape(), new int[] {resized.height(), resized.width(), 3}, "resized size");
        int maxStep = 0;
        for (int i = 0; i < resized.rgb().length; i++) {
            maxStep = Math.max(maxStep, Math.abs(resized.rgb()[i] - (int) expectedResized.data[i]));
        }

        Tensor x = Preprocess.imagenet(PHOTO, resize, crop, null);
        Tensor expected = gold.tensor("x_" + tag);
        assertArrayEquals(expected.shape(), x.shape());
        double maxDiff = 0;
        for (int i = 0; i < x.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x.data[i] - expected.data[i]));
        System.out.printf("Preprocess vs torchvision, Resize(%d) CenterCrop(%d): resized max |uint8 diff| %d, "
                + "normalized max abs diff %.3g%n", resize, crop, maxStep, maxDiff);
        assertTrue(maxStep <= MAX_UINT8_STEP, "resized image: max uint8 difference " + maxStep);
        assertTrue(maxDiff <= MAX_ABS, "max abs diff " + maxDiff + " > " + MAX_ABS);
    }

    /** Files in other modes, written by PIL: reading them gives exactly PIL's convert('RGB'). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"L, png, grayscale", "LA, png, alpha", "RGBA, png, alpha", "P, png, ''", "P_trns, png, alpha"})
    void readsLikePilConvertRgb(String mode, String ext, String note) {
        Golden gold = new Golden(Oracle.get().run("oracle_preprocess.py"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Preprocess.Image im = Preprocess.read(gold.dir().resolve("img_" + mode + "." + ext),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        Tensor expected = gold.tensor("rgb_" + mode);
        assertArrayEquals(expected.shape(), new int[] {im.height(), im.width(), 3});
        for (int i = 0; i < im.rgb().length; i++) {
            assertEquals((int) expected.data[i], im.rgb()[i], mode + ": value " + i);
        }
        String notes = err.toString(StandardCharsets.UTF_8);
        if (note.isEmpty()) assertEquals("", notes);
        else assertTrue(notes.contains(note) && notes.lines().count() == 1, notes);
    }

    /**
     * A JPEG goes through two different decoders (Java's bundled IJG libjpeg 6b, PIL's
     * libjpeg-turbo), whose IDCT and chroma upsampling could round differently (on this photo at
     * quality 90 they agree exactly); the bound must hold after the whole pipeline.
     */
    @Test
    void jpegMatchesTorchvisionWithinTheBound() {
        Golden gold = new Golden(Oracle.get().run("oracle_preprocess.py"));
        Path jpeg = gold.dir().resolve("img_jpeg.jpg");
        Preprocess.Image im = Preprocess.read(jpeg, null);
        Tensor rgb = gold.tensor("rgb_jpeg");
        int maxStep = 0;
        for (int i = 0; i < im.rgb().length; i++) maxStep = Math.max(maxStep, Math.abs(im.rgb()[i] - (int) rgb.data[i]));
        Tensor x = Preprocess.imagenet(jpeg, Preprocess.RESIZE, Preprocess.CROP, null), expected = gold.tensor("x_jpeg");
        double maxDiff = 0;
        for (int i = 0; i < x.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x.data[i] - expected.data[i]));
        System.out.printf("Preprocess vs torchvision, JPEG: decoded max |uint8 diff| %d, normalized max abs diff %.3g%n",
                maxStep, maxDiff);
        assertTrue(maxDiff <= MAX_ABS, "max abs diff " + maxDiff + " > " + MAX_ABS);
    }

    @Test
    void grayscaleRepeatsTheChannelAndSaysSo(@TempDir Path dir) throws Exception {
        BufferedImage g = new BufferedImage(5, 3, BufferedImage.TYPE_BYTE_GRAY);
        int[] values = new int[15];
        for (int i = 0; i < 15; i++) values[i] = (i * 37 + 11) % 256;
        g.getRaster().setPixels(0, 0, 5, 3, values);
        Path f = dir.resolve("gray.png");
        ImageIO.write(g, "png", f.toFile());

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Preprocess.Image im = Preprocess.read(f, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(5, im.width());
        assertEquals(3, im.height());
        for (int i = 0; i < 15; i++) {
            for (int c = 0; c < 3; c++) assertEquals(values[i], im.rgb()[3 * i + c], "pixel " + i + " channel " + c);
        }
        String note = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, note.lines().count(), note);
        assertTrue(note.contains("grayscale"), note);
    }

    @Test
    void alphaIsDroppedAndSaysSo(@TempDir Path dir) throws Exception {
        BufferedImage a = new BufferedImage(4, 2, BufferedImage.TYPE_INT_ARGB);
        int[] argb = new int[8];
        for (int i = 0; i < 8; i++) argb[i] = ((i * 30) << 24) | ((i * 31 + 5) << 16) | ((200 - i * 7) << 8) | (i * 13);
        a.setRGB(0, 0, 4, 2, argb, 0, 4);
        Path f = dir.resolve("rgba.png");
        ImageIO.write(a, "png", f.toFile());

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Preprocess.Image im = Preprocess.read(f, new PrintStream(err, true, StandardCharsets.UTF_8));
        for (int i = 0; i < 8; i++) {
            int[] expected = {(argb[i] >> 16) & 0xff, (argb[i] >> 8) & 0xff, argb[i] & 0xff};
            assertArrayEquals(expected, Arrays.copyOfRange(im.rgb(), 3 * i, 3 * i + 3), "pixel " + i);
        }
        String note = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, note.lines().count(), note);
        assertTrue(note.contains("alpha"), note);
    }

    @Test
    void truncatedPngIsAClearError(@TempDir Path dir) throws Exception {
        byte[] png = Files.readAllBytes(PHOTO);
        Path f = dir.resolve("cut.png");
        Files.write(f, Arrays.copyOf(png, png.length / 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("PNG"), e.getMessage());
    }

    @Test
    void textFileNamedPngIsAClearError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("notes.png");
        Files.writeString(f, "these are not pixels\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("not an image"), e.getMessage());
    }

    /** A valid PNG header claiming 100000 x 100000 pixels is refused before any pixel is decoded. */
    @Test
    void hugeImageIsRefusedFromItsHeader(@TempDir Path dir) throws Exception {
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        java.nio.ByteBuffer ihdr = java.nio.ByteBuffer.allocate(13).putInt(100_000).putInt(100_000)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(png, "IHDR", ihdr.array());
        chunk(png, "IEND", new byte[0]);
        Path f = Files.write(dir.resolve("bomb.png"), png.toByteArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("100000x100000"), e.getMessage());
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        crc.update(t);
        crc.update(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** chelsea.png re-encoded as a baseline JPEG, for the corrupt-JPEG cases. */
    private static byte[] jpeg() throws Exception {
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(PHOTO.toFile());
        java.awt.image.BufferedImage rgb = new java.awt.image.BufferedImage(img.getWidth(), img.getHeight(),
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        rgb.getGraphics().drawImage(img, 0, 0, null);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        assertTrue(javax.imageio.ImageIO.write(rgb, "jpeg", out));
        return out.toByteArray();
    }

    @Test
    void truncatedJpegIsAClearError(@TempDir Path dir) throws Exception {
        byte[] jpg = jpeg();
        Path f = Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("JPEG")
                && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void zeroByteFilesAreClearErrors(@TempDir Path dir) throws Exception {
        for (String name : List.of("empty.png", "empty.jpg")) {
            Path f = Files.write(dir.resolve(name), new byte[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
    }

    /** A JPEG whose SOF0 header claims 60000 x 60000 pixels is refused from the header, before decoding. */
    @Test
    void hugeJpegIsRefusedFromItsHeader(@TempDir Path dir) throws Exception {
        byte[] jpg = jpeg();
        int sof = -1;
        for (int i = 2; i + 9 < jpg.length; i++) {
            if ((jpg[i] & 0xff) == 0xFF && (jpg[i + 1] & 0xff) == 0xC0) {
                sof = i;
                break;
            }
        }
        assertTrue(sof > 0, "no SOF0 marker");
        for (int k = 5; k < 9; k += 2) { // height and width: 60000 (0xEA60) each
            jpg[sof + k] = (byte) 0xEA;
            jpg[sof + k + 1] = (byte) 0x60;
        }
        Path f = Files.write(dir.resolve("bomb.jpg"), jpg);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("60000x60000"), e.getMessage());
    }

    @Test
    void missingFileIsAClearError(@TempDir Path dir) {
        Path f = dir.resolve("nothing.jpg");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preprocess.read(f, null));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    }

    @Test
    void cropLargerThanTheImagePadsWithZerosLikeTorchvision() {
        int[] rgb = new int[3 * 2 * 1];
        Arrays.fill(rgb, 200);
        Preprocess.Image c = Preprocess.centerCrop(new Preprocess.Image(2, 1, rgb), 5);
        // torchvision pads left (5-2)//2 = 1, right 2, top (5-1)//2 = 2, bottom 2.
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 5; x++) {
                int expected = y == 2 && (x == 1 || x == 2) ? 200 : 0;
                assertEquals(expected, c.rgb()[3 * (y * 5 + x)], "(" + y + "," + x + ")");
            }
        }
    }
}
