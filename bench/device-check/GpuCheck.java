import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.convlens.models.zoo.ResNet18;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.ops.Relu;
import java.io.PrintWriter;
import java.util.*;
import org.junit.platform.launcher.*;
import org.junit.platform.launcher.core.*;
import org.junit.platform.launcher.listeners.*;

/**
 * The device check's Java side (bench/device-check/README.md): {@code tests CLASS...} runs JUnit test
 * classes through the platform launcher and prints the summary and the OpenCL device used;
 * {@code time BACKENDS ITERATIONS} times a seeded ResNet-18 (inference mode, 224x224) forward and
 * forward plus input gradient at batch 1 and 16 on each backend (3 warm-ups, medians of ITERATIONS):
 * ad hoc wall-clock numbers, for orientation only (speed claims come from JMH).
 */
public class GpuCheck {
    public static void main(String[] a) throws Exception {
        OpenClKernels.Survey s = OpenClKernels.survey();
        System.out.println("devices " + s.devices() + " picked " + s.picked() + " problem " + s.problem());
        if (a[0].equals("tests")) {
            var req = LauncherDiscoveryRequestBuilder.request();
            for (int i = 1; i < a.length; i++) req.selectors(selectClass(Class.forName(a[i])));
            Launcher l = LauncherFactory.create();
            SummaryGeneratingListener sum = new SummaryGeneratingListener();
            l.execute(req.build(), sum);
            sum.getSummary().printTo(new PrintWriter(System.out));
            sum.getSummary().printFailuresTo(new PrintWriter(System.out), 12);
            System.out.println("device used: " + OpenClKernels.shared().deviceDescription());
            return;
        }
        if (a[0].equals("sweep")) {
            sweep(a[1], Integer.parseInt(a[2]));
            return;
        }
        int size = 224, iters = Integer.parseInt(a[2]);
        for (String be : a[1].split(",")) {
            Kernels k = be.equals("opencl") ? OpenClKernels.shared() : Backend.select(be, Runtime.getRuntime().availableProcessors());
            for (int batch : new int[] {1, 16}) {
                Graph g = ResNet18.build(1000, 7);
                Tensor x = Tensor.uniform(11, -2, 2, batch, 3, size, size);
                String out = g.outputs.get(0);
                double[] f = new double[iters], sal = new double[iters];
                for (int i = -3; i < iters; i++) {
                    long t0 = System.nanoTime();
                    Run r = g.forward(k, Map.of("input", x), false);
                    long t1 = System.nanoTime();
                    Tensor seed = Tensor.zeros(r.output().shape());
                    for (int b = 0; b < batch; b++) seed.data[b * 1000 + 3] = 1;
                    r.backward(out, seed, Relu.Rule.GRADIENT, List.of("input"));
                    long t2 = System.nanoTime();
                    if (i >= 0) { f[i] = (t1 - t0) / 1e6; sal[i] = (t2 - t0) / 1e6; }
                }
                Arrays.sort(f); Arrays.sort(sal);
                System.out.printf(Locale.ROOT, "%s batch %d: forward median %.2f ms (min %.2f max %.2f), forward+saliency median %.2f ms (min %.2f)%n",
                        be, batch, f[iters / 2], f[0], f[iters - 1], sal[iters / 2], sal[0]);
            }
            if (k instanceof OpenClKernels cl) System.out.println(cl.usageReport());
        }
    }

    /**
     * {@code sweep THREADS ITERATIONS}: the SIMD kernels on each thread count (comma-separated), warm (a
     * JVM's first forwards run partly interpreted: {@code time}'s 3 warm-ups are not enough), on a seeded
     * ResNet-18 at 224x224: {@code Graph.predict} at batch 1, saliency at batch 1 ({@code infer} and the
     * input gradient, the bench workload's way) and {@code predict} at batch 16. Medians in ms.
     */
    static void sweep(String threads, int iters) {
        Graph g = ResNet18.build(1000, 7);
        String out = g.outputs.get(0);
        for (String t : threads.split(",")) {
            Kernels k = Backend.select("simd", Integer.parseInt(t));
            StringBuilder line = new StringBuilder("simd " + t + " threads:");
            for (int[] c : new int[][] {{1, 0}, {1, 1}, {16, 0}}) {
                int batch = c[0], n = batch == 1 ? iters : Math.max(5, iters / 8);
                Tensor x = Tensor.uniform(11, -2, 2, batch, 3, 224, 224);
                double[] ms = new double[n];
                for (int i = -n; i < n; i++) {                 // as many warm-ups as timed runs
                    long t0 = System.nanoTime();
                    if (c[1] == 0) g.predict(k, Map.of("input", x));
                    else {
                        Run r = g.infer(k, Map.of("input", x), List.of());
                        Tensor seed = Tensor.zeros(r.output().shape());
                        seed.data[3] = 1;
                        r.backward(out, seed, Relu.Rule.GRADIENT, List.of("input"));
                    }
                    if (i >= 0) ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                line.append(String.format(Locale.ROOT, "  %s b%d %.2f (min %.2f)", c[1] == 0 ? "predict" : "saliency", batch,
                        ms[n / 2], ms[0]));
            }
            System.out.println(line);
        }
    }
}
