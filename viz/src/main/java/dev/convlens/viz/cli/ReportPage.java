package dev.convlens.viz.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Base64;
import java.util.List;

/**
 * One self-contained HTML page of PNG figures (each embedded as a {@code data:image/png;base64} URI),
 * in titled sections; written atomically (temporary file, then rename). Shared by {@code convlens
 * report} and {@code convlens demo}.
 */
final class ReportPage {
    private ReportPage() {}

    /** One figure: its PNG bytes, the image's alt text and the caption under it. */
    record Figure(String alt, String caption, byte[] png) {}

    /** A heading, an optional paragraph under it (null: none) and its figures. */
    record Section(String heading, String note, List<Figure> figures) {}

    /** Writes the page to {@code page}, creating its folder. */
    static void write(Path page, String title, String intro, List<Section> sections) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<link rel=\"icon\" href=\"data:,\">\n")
                .append("<style>body{font-family:sans-serif;margin:2em;background:#fafafa}figure{display:inline-block;"
                        + "margin:0 1em 1em 0;vertical-align:top}img{max-width:480px;image-rendering:pixelated;"
                        + "border:1px solid #ddd;background:#fff}figcaption{font-size:12px;color:#444;max-width:480px}"
                        + "p{max-width:60em}</style>\n")
                .append("</head><body>\n<h1>").append(esc(title)).append("</h1>\n");
        if (intro != null) h.append("<p>").append(esc(intro)).append("</p>\n");
        for (Section s : sections) {
            h.append("<h2>").append(esc(s.heading())).append("</h2>\n");
            if (s.note() != null) h.append("<p>").append(esc(s.note())).append("</p>\n");
            for (Figure f : s.figures()) {
                h.append("<figure><img alt=\"").append(esc(f.alt())).append("\" src=\"data:image/png;base64,")
                        .append(Base64.getEncoder().encodeToString(f.png())).append("\"><figcaption>")
                        .append(esc(f.caption())).append("</figcaption></figure>\n");
            }
        }
        h.append("</body></html>\n");
        Path dir = page.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".convlens-", ".html.tmp");
        Files.writeString(tmp, h, StandardCharsets.UTF_8);
        Files.move(tmp, page, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
