package dev.convlens.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs {@link NetworkBench} (any JMH command line) and prints one Markdown table of convlens,
 * ONNX Runtime and PyTorch side by side, with the ratios the targets are stated in.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -Dconvlens.torch=bench/target/torch.jsonl \
 *        -cp bench/target/benchmarks.jar dev.convlens.bench.NetworkMain NetworkBench -p threads=2
 *   java -cp bench/target/benchmarks.jar dev.convlens.bench.NetworkMain --table results.jsonl torch.jsonl
 * </pre>
 * System properties: {@code convlens.torch} the JSON lines of {@code torch_bench.py} (optional);
 * {@code convlens.results} where to write this run's rows as JSON lines (optional; the second form
 * above re-renders a table from such files without running anything); {@code convlens.table}
 * where to write the table as well as to stdout.
 *
 * <p>Times are per operation in milliseconds: the median, min and max over every sampled
 * invocation (JMH sample mode) and, for PyTorch, over the runs of {@code torch_bench.py}. Ratios
 * are of medians; below 1 means convlens is faster.
 */
public final class NetworkMain {
    private NetworkMain() {}

    /** One measured configuration: impl is convlens, ort or pytorch. */
    record Row(String impl, String model, String what, int batch, int threads, double median, double min, double max,
               double mean, long n) {
        String json() {
            return String.format(Locale.ROOT, "{\"impl\":\"%s\",\"model\":\"%s\",\"what\":\"%s\",\"batch\":%d,\"threads\":%d,"
                    + "\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"n\":%d}",
                    impl, model, what, batch, threads, median, min, max, mean, n);
        }
    }

    public static void main(String[] args) throws Exception {
        List<Row> rows = new ArrayList<>();
        if (args.length > 0 && args[0].equals("--table")) {
            for (String f : Arrays.asList(args).subList(1, args.length)) rows.addAll(read(Paths.get(f)));
        } else {
            Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
            List<Row> mine = new ArrayList<>();
            for (RunResult r : results) {
                String name = r.getParams().getBenchmark();
                if (!name.contains("NetworkBench")) continue;
                boolean ort = name.endsWith(".ort");
                String what = ort ? "forward" : r.getParams().getParam("what");
                int batch = ort ? 1 : Integer.parseInt(r.getParams().getParam("batch"));
                if (batch == 0) batch = what.equals("train") ? 16 : 1;
                Statistics s = r.getPrimaryResult().getStatistics();
                mine.add(new Row(ort ? "ort" : "convlens", r.getParams().getParam("model"), what, batch,
                        Integer.parseInt(r.getParams().getParam("threads")), s.getPercentile(50), s.getMin(), s.getMax(),
                        s.getMean(), s.getN()));
            }
            String out = System.getProperty("convlens.results");
            if (out != null) {
                StringBuilder b = new StringBuilder();
                for (Row row : mine) b.append(row.json()).append('\n');
                Files.writeString(Paths.get(out), b.toString(), StandardCharsets.UTF_8);
            }
            rows.addAll(mine);
            String torch = System.getProperty("convlens.torch");
            if (torch != null) {
                if (Files.isRegularFile(Paths.get(torch))) rows.addAll(read(Paths.get(torch)));
                else System.err.println("NetworkMain: " + torch + " not found; the PyTorch column stays empty");
            }
        }
        String table = table(rows);
        System.out.println();
        System.out.print(table);
        String tableFile = System.getProperty("convlens.table");
        if (tableFile != null) Files.writeString(Paths.get(tableFile), table, StandardCharsets.UTF_8);
    }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*(\"[^\"]*\"|[-0-9.eE+]+)");

    /** Rows from JSON lines with flat fields (what {@link Row#json} and torch_bench.py write). */
    static List<Row> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("NetworkMain: cannot read " + file + ": " + e.getMessage(), e);
        }
        List<Row> rows = new ArrayList<>();
        for (String line : lines) {
            if (line.isBlank()) continue;
            Map<String, String> f = new LinkedHashMap<>();
            Matcher m = FIELD.matcher(line);
            while (m.find()) f.put(m.group(1), m.group(2).startsWith("\"") ? m.group(2).substring(1, m.group(2).length() - 1) : m.group(2));
            for (String key : List.of("impl", "model", "what", "batch", "threads", "median_ms", "min_ms", "max_ms")) {
                if (!f.containsKey(key)) throw new IllegalArgumentException("NetworkMain: " + file + ": no \"" + key + "\" in " + line);
            }
            rows.add(new Row(f.get("impl"), f.get("model"), f.get("what"), Integer.parseInt(f.get("batch")),
                    Integer.parseInt(f.get("threads")), Double.parseDouble(f.get("median_ms")), Double.parseDouble(f.get("min_ms")),
                    Double.parseDouble(f.get("max_ms")), Double.parseDouble(f.getOrDefault("mean_ms", "NaN")),
                    (long) Double.parseDouble(f.getOrDefault("n", "0"))));
        }
        return rows;
    }

    /** The target for a row, as the largest allowed ratio of medians (NaN: none). */
    static double[] targets(String model, String what) {
        // {max convlens/ORT, max convlens/PyTorch}
        return switch (model + " " + what) {
            case "resnet18 forward" -> new double[] {0.8, 0.8};
            case "resnet18 saliency", "alexnet saliency" -> new double[] {Double.NaN, 0.8};
            case "alexnet forward" -> new double[] {Double.NaN, 0.8};
            case "resnet18 train", "alexnet train" -> new double[] {Double.NaN, 1 / 1.2};   // >= 1.2x PyTorch's images/s
            default -> new double[] {Double.NaN, Double.NaN};
        };
    }

    static String table(List<Row> rows) {
        Map<String, Row> convlens = new LinkedHashMap<>(), ort = new LinkedHashMap<>(), torch = new LinkedHashMap<>();
        for (Row r : rows) {
            String key = r.model() + " " + r.what() + " " + r.batch() + " " + r.threads();
            (r.impl().equals("convlens") ? convlens : r.impl().equals("ort") ? ort : torch).put(key, r);
        }
        List<String> keys = new ArrayList<>(convlens.keySet());
        for (String k : ort.keySet()) if (!keys.contains(k)) keys.add(k);
        for (String k : torch.keySet()) if (!keys.contains(k)) keys.add(k);
        StringBuilder s = new StringBuilder();
        s.append("| model | work | batch | threads | convlens ms: median (min-max) | ONNX Runtime ms | PyTorch ms "
                + "| convlens/ORT | convlens/PyTorch | target (ratio of medians) |\n");
        s.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (String k : keys) {
            Row c = convlens.get(k), o = ort.get(k), t = torch.get(k);
            Row any = c != null ? c : o != null ? o : t;
            double[] target = targets(any.model(), any.what());
            StringBuilder goal = new StringBuilder();
            if (!Double.isNaN(target[0])) goal.append(verdict("ORT", target[0], c, o));
            if (!Double.isNaN(target[1])) goal.append(goal.length() > 0 ? "; " : "").append(verdict("PyTorch", target[1], c, t));
            if (any.what().equals("visualize") && c != null) {
                goal.append(String.format(Locale.ROOT, "512 steps ~ %.1f s (target <= 25 s at 224, ResNet-18)", c.median() * 51.2 / 1e3));
            }
            s.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |%n", any.model(), any.what(),
                    any.batch(), any.threads(), cell(c), cell(o), cell(t), ratio(c, o), ratio(c, t), goal));
        }
        s.append("\nTimes per operation (visualize: 10 steps). Ratios are of medians; below 1 convlens is faster. "
                + "ONNX Runtime runs forward only (its inference API has no gradients).\n");
        return s.toString();
    }

    private static String verdict(String peer, double max, Row c, Row p) {
        if (c == null || p == null) return String.format(Locale.ROOT, "<= %.2fx %s: not measured", max, peer);
        double r = c.median() / p.median();
        return String.format(Locale.ROOT, "<= %.2fx %s: %s", max, peer, r <= max ? "met" : "missed");
    }

    private static String cell(Row r) {
        if (r == null) return "-";
        return String.format(Locale.ROOT, "%s (%s-%s)", fmt(r.median()), fmt(r.min()), fmt(r.max()));
    }

    private static String fmt(double ms) {
        return String.format(Locale.ROOT, ms >= 100 ? "%.0f" : "%.1f", ms);
    }

    private static String ratio(Row c, Row p) {
        if (c == null || p == null) return "-";
        return String.format(Locale.ROOT, "%.2f", c.median() / p.median());
    }
}
