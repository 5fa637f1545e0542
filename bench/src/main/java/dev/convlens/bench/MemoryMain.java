package dev.convlens.bench;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Node;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.viz.Workload;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The peak heap of a ResNet-18 forward pass (batch 1) and of a training step (batch 16), against
 * the size of what must be kept (issue 6, Memory: within 1.5x the weights plus the activations).
 *
 * <p>Two measures of the peak:
 * <ul>
 *   <li><b>smallest -Xmx</b>: child JVMs (G1, the default collector) load the model, collect the
 *       loader's garbage and run the workload twice (the second training step holds the SGD
 *       momentum too); a bisection finds the smallest maximum heap at which that succeeds, within 4%.
 *       The same bisection for loading alone tells whether the run or the import sets the peak (the
 *       import holds the file's bytes, the protobuf and the tensors at once).</li>
 *   <li><b>pool peak</b>: in this JVM, the sum of the heap pools' peak usage during two runs after a
 *       {@code System.gc()}: an upper bound that includes garbage not yet collected.</li>
 * </ul>
 * What must be kept, from the graph: the weights (every parameter), the activations (every node
 * output of one unfused forward pass, which the {@link Run} keeps for the backward), and for training the
 * gradients and the momentum buffers (one float per learnable parameter each). A second ratio counts
 * only the values the workload's own run holds ({@link Graph#infer}'s fused plan for the forward,
 * {@link Graph#forwardTraining}'s for the training step), a smaller denominator.
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.convlens.bench.MemoryMain [THREADS [forward|train|all]]
 * </pre>
 * Reads {@code resnet18.onnx} and {@code resnet18_bn.onnx} from {@link BenchModels#dir()}.
 */
public final class MemoryMain {
    private MemoryMain() {}

    /** Exit code of a child that ran out of heap. */
    static final int OOM = 3;
    /** Relative precision of the bisection. */
    static final double PRECISION = 0.04;
    /** A child that takes longer counts as failed (it is thrashing in the collector). */
    static final long CHILD_TIMEOUT_S = 120;

    record Case(String model, Workload.What what, int batch) {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(args);
            return;
        }
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        String which = args.length > 1 ? args[1] : "all";
        List<Case> cases = new ArrayList<>();
        if (!which.equals("train")) cases.add(new Case("resnet18", Workload.What.FORWARD, 1));
        if (!which.equals("forward")) cases.add(new Case("resnet18", Workload.What.TRAIN, 16));
        StringBuilder table = new StringBuilder();
        table.append("| work | weights MB | activations MB | grads + momentum MB | must keep MB | smallest -Xmx to load MB "
                + "| smallest -Xmx to load and run MB | run / must keep | fused run's activations MB | run / (must keep, fused) "
                + "| heap pools' peak during runs MB (upper bound) |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Case c : cases) {
            Path f = BenchModels.file(c.model(), c.what());
            Graph g = BenchModels.load(f);
            Kernels k = Backend.select("simd", threads);
            double weights = mb(sum(g.params.values()));
            Workload w = Workload.of(c.what(), g, k, c.batch(), 3, NetworkBench.SIZE, NetworkBench.SIZE, 0);
            boolean training = c.what() == Workload.What.TRAIN;
            Map<String, Tensor> feeds = Map.of(g.inputs.get(0), w.input());
            double acts = mb(activations(g, g.forward(k, feeds, training)));
            // the values the workload's own run holds: Graph.infer's fused plan, or forwardTraining's
            double actsFused = mb(activations(g, training ? g.forwardTraining(k, feeds, List.of()) : g.infer(k, feeds)));
            double gradsMomentum = 0;
            if (training) gradsMomentum = mb(2 * 4 * Trainer.learnableValues(g));
            double keep = weights + acts + gradsMomentum, keepFused = weights + actsFused + gradsMomentum;
            double poolPeak = poolPeak(w);
            w = null;
            g = null;
            System.gc();
            long xmxLoad = smallestXmx(c, threads, false, (long) Math.max(weights, 16), (long) (weights * 3 + 64));
            long xmx = smallestXmx(c, threads, true, (long) Math.max(keep, 16), (long) Math.max(keep * 2.5 + 32, xmxLoad * 1.2));
            String work = String.format(Locale.ROOT, "%s %s, batch %d (%s)", c.model(), c.what().id(), c.batch(), f.getFileName());
            table.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %.1f | %s | %.0f |%n", work, weights,
                    acts, gradsMomentum, keep, xmxLoad < 0 ? "> limit" : String.valueOf(xmxLoad), xmx < 0 ? "> limit" : String.valueOf(xmx),
                    xmx < 0 ? "-" : String.format(Locale.ROOT, "%.2f", xmx / keep)
                            + (xmxLoad > 0 && xmx <= xmxLoad * (1 + PRECISION) ? " (the import sets the peak)" : ""),
                    actsFused, xmx < 0 ? "-" : String.format(Locale.ROOT, "%.2f", xmx / keepFused), poolPeak));
            System.err.println("MemoryMain: " + work + " done");
        }
        System.out.println();
        System.out.print(table);
        System.out.println("\nMB = 2^20 bytes of float32. Must keep = weights + activations (+ gradients and SGD momentum "
                + "for training); activations = every value of an unfused forward. The fused run's activations are the "
                + "values the workload's own run holds (Graph.infer's plan for forward, Graph.forwardTraining's for train). "
                + "Smallest -Xmx: G1, found by bisection within " + Math.round(PRECISION * 100) + "%.");
    }

    /** Bytes of every distinct node output of {@code run}, over the run's own (possibly fused) nodes: the values a backward pass reads. */
    static long activations(Graph g, Run run) {
        IdentityHashMap<Tensor, Boolean> seen = new IdentityHashMap<>();
        for (Tensor p : g.params.values()) seen.put(p, true);
        long bytes = 0;
        for (Node n : run.graph.nodes) {
            for (String o : n.outputs()) {
                if (o.isEmpty()) continue;
                Tensor t = run.value(o);
                if (seen.put(t, true) == null) bytes += 4L * t.size();
            }
        }
        return bytes;
    }

    static long sum(Iterable<Tensor> ts) {
        long b = 0;
        for (Tensor t : ts) b += 4L * t.size();
        return b;
    }

    static double mb(long bytes) {
        return bytes / 1048576.0;
    }

    /** Sum of the heap pools' peak usage over two runs after a collection, in MB. */
    static double poolPeak(Workload w) {
        System.gc();
        List<MemoryPoolMXBean> heap = new ArrayList<>();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP && p.isValid()) heap.add(p);
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        w.run();
        w.run();
        long peak = 0;
        for (MemoryPoolMXBean p : heap) peak += p.getPeakUsage().getUsed();
        return mb(peak);
    }

    /** The smallest -Xmx (MB) in [lo, hi] at which a child runs {@code c}; the upper end doubles until it passes (-1: never). */
    static long smallestXmx(Case c, int threads, boolean run, long lo, long hi) throws Exception {
        while (!runs(c, threads, run, hi)) {
            lo = hi;
            hi *= 2;
            if (hi > Runtime.getRuntime().maxMemory() / 1048576 * 4) return -1;
        }
        while (hi - lo > Math.max(4, hi * PRECISION)) {
            long mid = (lo + hi) / 2;
            if (runs(c, threads, run, mid)) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    static boolean runs(Case c, int threads, boolean run, long xmxMb) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-Xmx" + xmxMb + "m",
                "-XX:+ExitOnOutOfMemoryError",
                "-Dconvlens.models=" + BenchModels.dir().toAbsolutePath(), "-cp", System.getProperty("java.class.path"),
                MemoryMain.class.getName(), "--child", c.model(), c.what().id(), String.valueOf(c.batch()), String.valueOf(threads),
                run ? "run" : "load"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean done = p.waitFor(CHILD_TIMEOUT_S, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly().waitFor();
            System.err.printf(Locale.ROOT, "MemoryMain: %s %s -Xmx%dm: timed out (counted as too small)%n", c.model(), c.what().id(), xmxMb);
            return false;
        }
        System.err.printf(Locale.ROOT, "MemoryMain: %s %s %s -Xmx%dm: %s%n", c.model(), c.what().id(), run ? "run" : "load", xmxMb,
                p.exitValue() == 0 ? "ok" : p.exitValue() == OOM ? "out of memory" : "exit " + p.exitValue());
        if (p.exitValue() != 0 && p.exitValue() != OOM) throw new IllegalStateException("MemoryMain: the child failed with exit " + p.exitValue());
        return p.exitValue() == 0;
    }

    /**
     * --child MODEL WHAT BATCH THREADS load|run: load the model (and, with run, a collection, then the workload twice);
     * exit 0, or {@link #OOM} when the heap is too small.
     */
    static void child(String[] args) {
        try {
            Workload.What what = Workload.What.parse(args[2]);
            Graph g = BenchModels.load(BenchModels.file(args[1], what));
            if (args[5].equals("load")) System.exit(0);
            System.gc();   // the loader's garbage (file bytes, protobuf) is not part of the run's peak
            Workload w = Workload.of(what, g, Backend.select("simd", Integer.parseInt(args[4])), Integer.parseInt(args[3]),
                    3, NetworkBench.SIZE, NetworkBench.SIZE, 0);
            w.run();
            w.run();
        } catch (Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof OutOfMemoryError) System.exit(OOM);
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }
}
