package dev.convlens.viz.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code convlens report}: every PNG under a run's folder gathered into one self-contained HTML
 * page (images embedded as data URIs, grouped by sub-folder), so a run can be mailed or archived
 * as a single file.
 */
@Command(name = "report",
        usageHelpWidth = 100,
        sortOptions = false,
        mixinStandardHelpOptions = true,
        description = {
            "Gathers the figures of a run (every .png under --in, grouped by folder) into one self-contained HTML page.",
            "",
            "Example:",
            "  convlens saliency --model resnet18.onnx --image cat.png --out run/saliency",
            "  convlens deconv --model resnet18.onnx --image cat.png --layer layer3 --out run/deconv",
            "  convlens report --in run --out run/report.html",
            ""},
        footerHeading = "%nExit codes:%n",
        footer = Main.EXIT_CODES)
final class ReportCommand implements Callable<Integer> {
    @ParentCommand Main main;

    @Option(names = "--in", required = true, paramLabel = "DIR", description = "The run's folder (searched recursively for .png files).")
    Path in;

    @Option(names = "--out", paramLabel = "FILE.html", description = "The page to write (default: DIR/report.html).")
    Path out;

    @Option(names = "--title", paramLabel = "TEXT", defaultValue = "convlens report", description = "Page title (default: ${DEFAULT-VALUE}).")
    String title;

    @Override
    public Integer call() throws IOException {
        if (!Files.isDirectory(in)) {
            main.err.println("convlens report: " + in + " is not a folder");
            return Main.INPUT;
        }
        List<Path> pngs;
        try (Stream<Path> s = Files.walk(in)) {
            pngs = new ArrayList<>(s.filter(p -> p.toString().toLowerCase().endsWith(".png")).sorted().toList());
        }
        if (pngs.isEmpty()) {
            main.err.println("convlens report: no .png files under " + in);
            return Main.INPUT;
        }
        Path page = out != null ? out : in.resolve("report.html");
        StringBuilder h = new StringBuilder();
        h.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em;background:#fafafa}figure{display:inline-block;"
                        + "margin:0 1em 1em 0;vertical-align:top}img{max-width:480px;image-rendering:pixelated;"
                        + "border:1px solid #ddd;background:#fff}figcaption{font-size:12px;color:#444}</style>\n")
                .append("</head><body>\n<h1>").append(esc(title)).append("</h1>\n");
        String section = null;
        for (Path p : pngs) {
            Path rel = in.relativize(p);
            String folder = rel.getParent() == null ? "." : rel.getParent().toString();
            if (!folder.equals(section)) {
                section = folder;
                h.append("<h2>").append(esc(folder)).append("</h2>\n");
            }
            String data = Base64.getEncoder().encodeToString(Files.readAllBytes(p));
            h.append("<figure><img alt=\"").append(esc(rel.toString())).append("\" src=\"data:image/png;base64,")
                    .append(data).append("\"><figcaption>").append(esc(rel.getFileName().toString())).append("</figcaption></figure>\n");
        }
        h.append("</body></html>\n");
        Path dir = page.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".convlens-", ".html.tmp");
        Files.writeString(tmp, h, StandardCharsets.UTF_8);
        Files.move(tmp, page, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        main.out.println(page);
        main.err.println("convlens report: " + pngs.size() + " figures in " + page);
        return Main.OK;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

}
