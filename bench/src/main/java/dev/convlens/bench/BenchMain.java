package dev.convlens.bench;

import dev.convlens.tensor.kernels.ConvGeom;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs JMH with the usual command line, then prints the convolution results as a Markdown table
 * in GFLOP/s and as a fraction of the FMA peak: {@code 2 * macs / time} against
 * {@code threads x} the one-thread {@link PeakBench} score of the same run, or the
 * {@code -Dconvlens.peak=GFLOPS} (per core) given when PeakBench is not run. {@link OrtConvBench}
 * rows (ONNX Runtime, forward) come in the same table, and each ConvBench forward row whose shape,
 * batch and threads ONNX Runtime ran in the same run gets the ratio of the two times.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.convlens.bench.BenchMain \
 *        'PeakBench|ConvBench' -p backend=simd
 * </pre>
 */
public final class BenchMain {
    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
        double peak = Double.parseDouble(System.getProperty("convlens.peak", "NaN"));   // GFLOP/s per core
        double peak2 = Double.NaN;
        List<RunResult> convs = new ArrayList<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            if (name.endsWith("PeakBench.fma1Thread")) peak = r.getPrimaryResult().getScore() / 1e9;
            else if (name.endsWith("PeakBench.fma2Threads")) peak2 = r.getPrimaryResult().getScore() / 1e9;
            else if (name.contains("ConvBench")) convs.add(r);     // OrtConvBench too
        }
        java.util.Map<String, Double> ort = new java.util.HashMap<>();   // "layer/batch/threads" -> ONNX Runtime ms
        for (RunResult r : convs)
            if (r.getParams().getBenchmark().contains("OrtConvBench")) ort.put(key(r), r.getPrimaryResult().getScore());
        System.out.println();
        System.out.printf("FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on 2 threads%n%n", peak, peak2);
        if (convs.isEmpty()) return;
        System.out.println("| layer | batch | pass | backend | threads | ms/op | ± ms | GFLOP/s | of peak (threads x 1-core peak) | / ONNX Runtime |");
        System.out.println("|---|---:|---|---|---:|---:|---:|---:|---:|---:|");
        for (RunResult r : convs) {
            boolean isOrt = r.getParams().getBenchmark().contains("OrtConvBench");
            String layer = r.getParams().getParam("layer"), pass = isOrt ? "forward" : r.getParams().getParam("pass");
            String backend = isOrt ? "onnxruntime" : r.getParams().getParam("backend");
            int threads = Integer.parseInt(r.getParams().getParam("threads"));
            int batch = Integer.parseInt(r.getParams().getParam("batch"));
            ConvGeom g = ConvBench.geometry(layer, batch);
            Result<?> res = r.getPrimaryResult();
            double ms = res.getScore(), err = res.getScoreError();
            double gflops = 2.0 * g.macs() / (ms * 1e-3) / 1e9;
            int used = backend.equals("reference") ? 1 : threads;   // the reference is single-threaded
            Double peer = isOrt || !pass.equals("forward") ? null : ort.get(key(r));
            System.out.printf("| %s | %d | %s | %s | %d | %.3f | %.3f | %.1f | %.1f%% | %s |%n", layer, batch, pass, backend, threads,
                    ms, Double.isNaN(err) ? 0 : err, gflops, 100 * gflops / (used * peak),
                    peer == null ? "-" : String.format("%.2f", ms / peer));
        }
    }

    private static String key(RunResult r) {
        return r.getParams().getParam("layer") + "/" + r.getParams().getParam("batch") + "/" + r.getParams().getParam("threads");
    }
}
