package dev.convlens.viz.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class CategoricalTest {
    @Test
    void mostFrequentLabelsGetTheFirstColoursAndTheRestGrey() {
        // label 7 covers 5 pixels, label 2 covers 3, label 9 one: with a legend of 2, label 9 is "other"
        int[] map = {7, 7, 7, 2, 2, 2, 7, 7, 9};
        BufferedImage img = Images.categorical(map, 3, 3, List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j"), 2);
        assertEquals(0x1f77b4, img.getRGB(0, 0) & 0xffffff, "most frequent: first tab10 colour");
        assertEquals(0xff7f0e, img.getRGB(0, 1) & 0xffffff, "second most frequent: second colour");
        assertEquals(0xd0d0d0, img.getRGB(2, 2) & 0xffffff, "beyond the legend: grey");
        assertEquals(3 + 180, img.getWidth(), "the legend sits to the right");
        assertNotEquals(0xffffff, img.getRGB(3 + 10, 8) & 0xffffff, "a legend swatch is drawn");
    }
}
