package dev.convlens.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopPatchesTest {
    /** The CC0 photo the models' tests use. */
    static Path photo() {
        return Paths.get(System.getProperty("basedir", System.getProperty("user.dir")))
                .resolve("../models/src/test/resources/photos/chelsea.png");
    }

    /** Six images: the photo, its two flips, a transpose and two crops, as PNG and JPEG. */
    static List<Path> writeImages(Path dir) throws Exception {
        BufferedImage p = ImageIO.read(photo().toFile());
        int w = p.getWidth(), h = p.getHeight();
        BufferedImage fx = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB), fy = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        BufferedImage tr = new BufferedImage(h, w, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                fx.setRGB(w - 1 - x, y, p.getRGB(x, y));
                fy.setRGB(x, h - 1 - y, p.getRGB(x, y));
                tr.setRGB(y, x, p.getRGB(x, y));
            }
        ImageIO.write(p, "png", dir.resolve("a_photo.png").toFile());
        ImageIO.write(fx, "png", dir.resolve("b_flip_x.png").toFile());
        ImageIO.write(fy, "png", dir.resolve("c_flip_y.PNG").toFile());
        ImageIO.write(tr, "jpg", dir.resolve("d_transposed.jpg").toFile());
        ImageIO.write(p.getSubimage(0, 0, w / 2, h / 2), "png", dir.resolve("e_crop_tl.png").toFile());
        ImageIO.write(p.getSubimage(w / 3, h / 3, w / 2, h / 2), "png", dir.resolve("f_crop_mid.png").toFile());
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        return TopPatches.images(dir);
    }

    /** conv 3x3 (3->4) - relu - maxpool 2 - conv 3x3 (4->6) - relu: seeded weights, field 8, jump 2. */
    static Graph smallNet() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w1", Tensor.uniform(11, -0.5f, 0.5f, 4, 3, 3, 3));
        p.put("w2", Tensor.uniform(12, -0.5f, 0.5f, 6, 4, 3, 3));
        return new Graph(List.of(
                new Node("conv1", new Layers.Conv(Conv2d.of(1, 1)), List.of("input", "w1"), List.of("c1")),
                new Node("relu1", new Layers.ReluOp(), List.of("c1"), List.of("r1")),
                new Node("pool1", new Layers.MaxPool(MaxPool2d.of(2, 2, 0)), List.of("r1"), List.of("p1", "")),
                new Node("conv2", new Layers.Conv(Conv2d.of(1, 1)), List.of("p1", "w2"), List.of("c2")),
                new Node("relu2", new Layers.ReluOp(), List.of("c2"), List.of("feat"))),
                p, List.of("input"), List.of("feat"));
    }

    @Test
    void keepsTheStrongestActivationPerImageAndChannel(@TempDir Path dir) throws Exception {
        List<Path> files = writeImages(dir);
        assertEquals(6, files.size(), "PNG and JPEG files only, sorted: " + files);
        Graph g = smallNet();
        Kernels k = Backend.select("reference", 1);
        Function<Path, Tensor> load = TopPatches.imagenet(40, 32);
        int[] channels = {0, 2, 5};
        int keep = 4;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        TopPatches.Result r = TopPatches.run(g, k, files, load, "feat", channels, keep, 3, new PrintStream(err, true));
        assertTrue(err.toString().contains("6/6 images"), err.toString());

        // Direct: every image's maximum per channel.
        float[][] max = new float[channels.length][files.size()];
        for (int n = 0; n < files.size(); n++) {
            Tensor a = g.forward(k, Map.of("input", load.apply(files.get(n))), false).value("feat");
            int plane = a.dim(2) * a.dim(3);
            for (int i = 0; i < channels.length; i++) {
                float m = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < plane; j++) m = Math.max(m, a.data[channels[i] * plane + j]);
                max[i][n] = m;
            }
        }
        ReceptiveField.Field f = ReceptiveField.of(g, "feat");
        assertEquals(8, f.sizeH()); // 3, pool 3 + 1 = 4 (jump 2), conv 4 + 2*2 = 8
        for (int i = 0; i < channels.length; i++) {
            List<TopPatches.Hit> hits = r.top().get(i);
            assertEquals(keep, hits.size());
            float[] sorted = max[i].clone();
            java.util.Arrays.sort(sorted);
            Set<Integer> images = new HashSet<>();
            for (int j = 0; j < keep; j++) {
                TopPatches.Hit h = hits.get(j);
                assertEquals(sorted[sorted.length - 1 - j], h.activation(), "channel " + channels[i] + " rank " + j);
                assertEquals(max[i][h.image()], h.activation(), "the hit is its image's maximum");
                assertTrue(images.add(h.image()), "at most one hit per image");
                ReceptiveField.Box b = f.box(h.y(), h.x(), 32, 32);
                assertTrue(b.top() >= 0 && b.left() >= 0 && b.bottom() <= 32 && b.right() <= 32 && b.height() > 0
                        && b.width() > 0, "box inside the image: " + b);
            }
        }
        // the same hits with one thread
        TopPatches.Result one = TopPatches.run(g, k, files, load, "feat", channels, keep, 1, null);
        assertEquals(r.top(), one.top());

        Path out = dir.resolve("out");
        TopPatches.render(r, g, k, load, out, true, 4);
        for (int c : channels) assertTrue(Files.size(out.resolve(String.format("top_%04d.png", c))) > 100);
    }

    /** The deconvnet projection of one unit (as TopPatches draws it) is zero outside the unit's receptive field. */
    @Test
    void projectionOfAUnitReachesOnlyItsField() {
        Graph g = smallNet();
        Tensor x = Tensor.uniform(3, -1, 1, 1, 3, 32, 32);
        Kernels k = Backend.select("reference", 1);
        Tensor p = new Deconvnet(g, k).project(x, "feat", Deconvnet.Unit.at(2, 5, 7), Relu.Rule.DECONVNET).projection();
        ReceptiveField.Box b = ReceptiveField.of(g, "feat").box(5, 7, 32, 32);
        double inside = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int xx = 0; xx < 32; xx++) {
                    float v = p.data[(c * 32 + y) * 32 + xx];
                    boolean in = y >= b.top() && y < b.bottom() && xx >= b.left() && xx < b.right();
                    if (!in) assertEquals(0f, v, "projection outside the field at " + y + "," + xx);
                    else inside += Math.abs(v);
                }
        assertTrue(inside > 0 || g.forward(k, Map.of("input", x), false).value("feat").data[(2 * 16 + 5) * 16 + 7] == 0);
    }
}
