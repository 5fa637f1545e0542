package dev.convlens.viz.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.viz.image.Images;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportCommandTest {
    @Test
    void gathersEveryPngIntoOneSelfContainedPage(@TempDir Path tmp) throws Exception {
        Images.writePng(Images.heatmap(new float[] {0, 1, 2, 3}, 2, 2), tmp.resolve("saliency/heatmap.png"));
        Images.writePng(Images.heatmap(new float[] {3, 2, 1, 0}, 2, 2), tmp.resolve("deconv/projection.png"));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"report", "--in", tmp.toString(), "--title", "a <run>"},
                new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(Main.OK, code, err.toString());
        String html = Files.readString(tmp.resolve("report.html"));
        assertTrue(html.contains("<h2>saliency</h2>") && html.contains("<h2>deconv</h2>"), html);
        assertTrue(html.contains("a &lt;run&gt;"), "title escaped");
        String b64 = Base64.getEncoder().encodeToString(Files.readAllBytes(tmp.resolve("saliency/heatmap.png")));
        assertTrue(html.contains(b64), "the PNG is embedded, not linked");
    }

    @Test
    void aFolderWithoutFiguresIsAnInputError(@TempDir Path tmp) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        assertEquals(Main.INPUT, Main.run(new String[] {"report", "--in", tmp.toString()}, new PrintStream(out), new PrintStream(err)));
        assertEquals(Main.INPUT, Main.run(new String[] {"report", "--in", tmp.resolve("nope").toString()}, new PrintStream(out), new PrintStream(err)));
    }
}
