package dev.convlens.viz.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
        List<ReportPage.Section> sections = new ArrayList<>();
        String section = null;
        List<ReportPage.Figure> figures = null;
        for (Path p : pngs) {
            Path rel = in.relativize(p);
            String folder = rel.getParent() == null ? "." : rel.getParent().toString();
            if (!folder.equals(section)) {
                section = folder;
                figures = new ArrayList<>();
                sections.add(new ReportPage.Section(folder, null, figures));
            }
            figures.add(new ReportPage.Figure(rel.toString(), rel.getFileName().toString(), Files.readAllBytes(p)));
        }
        ReportPage.write(page, title, null, sections);
        main.out.println(page);
        main.err.println("convlens report: " + pngs.size() + " figures in " + page);
        return Main.OK;
    }


}
