package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DigitsSheetTest {
    @Test
    void cellsLandCentredWithClassMajorLabels(@TempDir Path dir) throws Exception {
        BufferedImage img = new BufferedImage(2000, 1000, BufferedImage.TYPE_BYTE_GRAY);
        // cell (row 7, col 3) = image 703, digit 1: a value that encodes the pixel position
        for (int y = 0; y < 20; y++) for (int x = 0; x < 20; x++) img.getRaster().setSample(3 * 20 + x, 7 * 20 + y, 0, y * 10 + x);
        Path png = dir.resolve("sheet.png");
        ImageIO.write(img, "png", png.toFile());

        Dataset d = DigitsSheet.load(png, 28);
        assertEquals(5000, d.size());
        assertEquals(28, d.h());
        int[] perClass = new int[10];
        for (int l : d.labels()) perClass[l]++;
        for (int c = 0; c < 10; c++) assertEquals(500, perClass[c], "class " + c);
        assertEquals(1, d.labels()[703]);
        assertEquals(9, d.labels()[4999]);
        int base = 703 * 28 * 28;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                boolean inside = y >= 4 && y < 24 && x >= 4 && x < 24;
                int want = inside ? (y - 4) * 10 + (x - 4) : 0;
                assertEquals(want, d.pixels()[base + y * 28 + x] & 0xff, "pixel (" + y + "," + x + ")");
            }
        }
    }

    @Test
    void badInputNamesTheFile(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("none.png");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DigitsSheet.load(missing, 28)).getMessage().contains("none.png"));
        Path small = dir.resolve("small.png");
        ImageIO.write(new BufferedImage(20, 20, BufferedImage.TYPE_BYTE_GRAY), "png", small.toFile());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DigitsSheet.load(small, 28)).getMessage().contains("small.png"));
        assertThrows(IllegalArgumentException.class, () -> DigitsSheet.load(small, 19));
    }

    @Test
    void debiansSheetHasInkInEveryCell() {
        Assumptions.assumeTrue(Files.isRegularFile(DigitsSheet.DEFAULT), "opencv-doc is not installed");
        Dataset d = DigitsSheet.load(DigitsSheet.DEFAULT, 20);
        for (int i = 0; i < d.size(); i++) {
            int ink = 0;
            for (int p = 0; p < 400; p++) if ((d.pixels()[i * 400 + p] & 0xff) > 64) ink++;
            assertTrue(ink >= 5 && ink < 300, "image " + i + " has " + ink + " bright pixels");
        }
    }
}
