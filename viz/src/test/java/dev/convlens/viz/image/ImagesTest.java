package dev.convlens.viz.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {
    @Test
    void normalizedImageRoundTripsToItsPixels() {
        // pixel 0.5 in every channel, normalized as torchvision does
        Tensor x = Tensor.zeros(1, 3, 2, 2);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 4; i++) x.data[c * 4 + i] = (0.5f - Images.IMAGENET_MEAN[c]) / Images.IMAGENET_STD[c];
        BufferedImage img = Images.fromNormalized(x, Images.IMAGENET_MEAN, Images.IMAGENET_STD);
        assertEquals(0x808080, img.getRGB(1, 1) & 0xffffff);
    }

    @Test
    void greyImagesAndSignalsBecomeGreyPictures() {
        // one channel normalized with Fashion-MNIST's mean and std: pixels 0.5 and 1
        float[] mean = {0.2860f}, std = {0.3530f};
        Tensor x = Tensor.of(new float[] {(0.5f - mean[0]) / std[0], (1f - mean[0]) / std[0]}, 1, 1, 1, 2);
        BufferedImage img = Images.fromNormalized(x, mean, std);
        assertEquals(0x808080, img.getRGB(0, 0) & 0xffffff);
        assertEquals(0xffffff, img.getRGB(1, 0) & 0xffffff);
        BufferedImage sig = Images.signal(Tensor.of(new float[] {0, 2, -2}, 1, 1, 1, 3));
        assertEquals(0x808080, sig.getRGB(0, 0) & 0xffffff);
        assertEquals(0xffffff, sig.getRGB(1, 0) & 0xffffff);
        assertEquals(0x000000, sig.getRGB(2, 0) & 0xffffff);
    }

    @Test
    void heatmapRunsFromDarkToLight() {
        BufferedImage h = Images.heatmap(new float[] {0, 1, 2, 3}, 2, 2);
        int lo = h.getRGB(0, 0), hi = h.getRGB(1, 1);
        assertEquals(Images.viridis(0), lo & 0xffffff);
        assertEquals(Images.viridis(1), hi & 0xffffff);
        assertTrue(brightness(hi) > brightness(lo));
    }

    @Test
    void signalMapsZeroToGreyAndExtremesToTheEdges() {
        Tensor v = Tensor.of(new float[] {0, 2, -2, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 1, 3, 2, 2);
        BufferedImage img = Images.signal(v);
        assertEquals(128, (img.getRGB(0, 0) >> 16) & 0xff);
        assertEquals(255, (img.getRGB(1, 0) >> 16) & 0xff);
        assertEquals(0, (img.getRGB(0, 1) >> 16) & 0xff);
    }

    @Test
    void gridAndPngWrite(@TempDir Path tmp) throws Exception {
        BufferedImage t = Images.enlarge(Images.heatmap(new float[] {0, 1, 2, 3}, 2, 2), 8);
        BufferedImage g = Images.grid(List.of(t, t, t), List.of("a", "b", "c"), 2, 4);
        assertEquals(2 * 16 + 3 * 4, g.getWidth());
        Path f = tmp.resolve("sub/grid.png");
        Images.writePng(g, f);
        assertEquals(g.getWidth(), ImageIO.read(f.toFile()).getWidth());
        try (var s = Files.list(f.getParent())) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
    }

    private static int brightness(int rgb) {
        return ((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff);
    }
}
