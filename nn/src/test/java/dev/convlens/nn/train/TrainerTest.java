package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer on a tiny CNN and synthetic 8x8 images (each test well under a second of training). */
class TrainerTest {
    static final Loader.Normalize NORM = new Loader.Normalize(new float[] {0.4f}, new float[] {0.3f});

    static Trainer.Config config(int epochs, Path out, boolean resume, PrintStream progress) {
        return new Trainer.Config(epochs, 16, 42, new Schedule.Cosine(0.05, 3, 0.001), new Augment(1, true), NORM, out, resume, progress);
    }

    static Kernels kernels() {
        return Backend.select("simd", 2);
    }

    @Test
    void learnsWellAboveChance(@TempDir Path out) throws Exception {
        Dataset.Split data = TinyNets.synthetic(240, 1).split(0.25, 7);
        Graph g = TinyNets.net(8, 2, 3, 3);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Trainer.Result r = new Trainer(g, kernels(), new Sgd(0.9, 1e-4, false), config(3, out, false,
                new PrintStream(err, true, StandardCharsets.UTF_8))).fit(data.train(), data.test());
        assertEquals(3, r.history().size());
        assertTrue(r.test().accuracy() > 0.8, "test accuracy " + r.test().accuracy() + " (chance 1/3)");
        String log = err.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("img/s") && log.contains("ETA") && log.contains("loss"), log);
        List<Trainer.Epoch> curves = Trainer.readCurves(out.resolve(Trainer.CURVES));
        assertEquals(r.history().get(2).testAcc(), curves.get(2).testAcc(), 1e-6);
        List<String> confusion = Files.readAllLines(out.resolve(Trainer.CONFUSION));
        assertEquals("true\\predicted,top,left,diagonal", confusion.get(0));
        long total = 0;
        for (String line : confusion.subList(1, 4)) for (String v : line.split(",")) if (v.matches("\\d+")) total += Long.parseLong(v);
        assertEquals(data.test().size(), total);
    }

    /** The per-epoch callback sees each epoch once, in order, with the weights of that epoch (they change between calls). */
    @Test
    void afterEpochIsCalledOncePerEpochWithThatEpochsWeights() {
        Dataset.Split data = TinyNets.synthetic(120, 2).split(0.25, 7);
        Graph g = TinyNets.net(8, 2, 3, 5);
        String p = g.trainable().get(0);
        List<Integer> seen = new java.util.ArrayList<>();
        List<float[]> weights = new java.util.ArrayList<>();
        Trainer.Result r = new Trainer(g, kernels(), new Sgd(0.9, 0, false), config(2, null, false, null)).fit(data.train(), data.test(),
                e -> {
                    seen.add(e.epoch());
                    weights.add(g.params.get(p).data.clone());
                });
        assertEquals(List.of(1, 2), seen);
        assertEquals(r.history().get(1).testAcc(), r.test().accuracy(), 0);
        assertTrue(!java.util.Arrays.equals(weights.get(0), weights.get(1)), "the snapshot after epoch 1 equals the one after epoch 2");
        assertTrue(java.util.Arrays.equals(weights.get(1), g.params.get(p).data), "the last call sees the final weights");
    }

    /** 2 epochs straight vs 1 epoch, then a fresh process state resumed for the 2nd: identical bit for bit. */
    @Test
    void resumeGivesTheSameParametersBitForBit(@TempDir Path a, @TempDir Path b) {
        Dataset.Split data = TinyNets.synthetic(120, 2).split(0.25, 7);
        for (String optName : List.of("sgd", "adamw")) {
            Graph straight = TinyNets.net(8, 2, 3, 5);
            Optimizer o1 = optimizer(optName);
            new Trainer(straight, kernels(), o1, config(2, a.resolve(optName), false, null)).fit(data.train(), data.test());

            Graph first = TinyNets.net(8, 2, 3, 5);
            new Trainer(first, kernels(), optimizer(optName), config(1, b.resolve(optName), false, null)).fit(data.train(), data.test());
            Graph resumed = TinyNets.net(8, 2, 3, 5); // as a new process would build it: initial weights, counters at 0
            Optimizer o2 = optimizer(optName);
            Trainer.Result r = new Trainer(resumed, kernels(), o2, config(2, b.resolve(optName), true, null)).fit(data.train(), data.test());

            assertEquals(2, r.history().size(), "the history before the resume is kept");
            for (Map.Entry<String, Tensor> e : straight.params.entrySet()) {
                float[] x = e.getValue().data, y = resumed.params.get(e.getKey()).data;
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]),
                            optName + ": parameter " + e.getKey() + "[" + i + "] differs: " + x[i] + " vs " + y[i]);
                }
            }
            assertEquals(o1.steps(), o2.steps());
            Map<String, Tensor> s1 = o1.state(), s2 = o2.state();
            assertEquals(s1.keySet(), s2.keySet());
            for (String key : s1.keySet()) assertTrue(java.util.Arrays.equals(s1.get(key).data, s2.get(key).data), key);
        }
    }

    static Optimizer optimizer(String name) {
        return name.equals("sgd") ? new Sgd(0.9, 5e-4, true) : Adam.adamW();
    }

    @Test
    void brokenCheckpointIsRefusedWithAClearError(@TempDir Path out) throws Exception {
        Dataset.Split data = TinyNets.synthetic(60, 3).split(0.25, 7);
        new Trainer(TinyNets.net(8, 2, 3, 5), kernels(), Adam.adam(), config(1, out, false, null)).fit(data.train(), data.test());
        Path ckpt = out.resolve(Trainer.CHECKPOINT);
        byte[] bytes = Files.readAllBytes(ckpt);
        bytes[bytes.length / 2] ^= 1;
        Files.write(ckpt, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                new Trainer(TinyNets.net(8, 2, 3, 5), kernels(), Adam.adam(), config(2, out, true, null)).fit(data.train(), data.test()));
        assertTrue(e.getMessage().contains(ckpt.toString()) && e.getMessage().contains("checksum"), e.getMessage());

        Files.write(ckpt, java.util.Arrays.copyOf(bytes, 100)); // truncated
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.read(ckpt));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void resumeWithAnotherSeedIsRefused(@TempDir Path out) {
        Dataset.Split data = TinyNets.synthetic(60, 3).split(0.25, 7);
        new Trainer(TinyNets.net(8, 2, 3, 5), kernels(), Adam.adam(), config(1, out, false, null)).fit(data.train(), data.test());
        Trainer.Config other = new Trainer.Config(2, 16, 43, new Schedule.Constant(0.01), Augment.NONE, NORM, out, true, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                new Trainer(TinyNets.net(8, 2, 3, 5), kernels(), Adam.adam(), other).fit(data.train(), data.test()));
        assertTrue(e.getMessage().contains("seed 42"), e.getMessage());
    }

    @Test
    void nanIsReportedWithTheNodeAndStep() {
        Dataset.Split data = TinyNets.synthetic(60, 3).split(0.25, 7);
        Graph g = TinyNets.net(8, 2, 3, 5);
        g.params.get("bn1.weight").data[2] = Float.NaN;
        Trainer.NonFiniteException e = assertThrows(Trainer.NonFiniteException.class, () ->
                new Trainer(g, kernels(), Adam.adam(), config(1, null, false, null)).fit(data.train(), data.test()));
        assertEquals("bn1", e.where);
        assertEquals(1, e.step);
        assertTrue(e.getMessage().contains("node 'bn1'") && e.getMessage().contains("step 1"), e.getMessage());

        Graph h = TinyNets.net(8, 2, 3, 5); // a learning rate that blows up: found at a later step
        Trainer.NonFiniteException f = assertThrows(Trainer.NonFiniteException.class, () ->
                new Trainer(h, kernels(), new Sgd(0, 0, false), new Trainer.Config(3, 16, 42, new Schedule.Constant(1e30), Augment.NONE,
                        NORM, null, false, null)).fit(data.train(), data.test()));
        assertTrue(f.step > 1, f.getMessage());
    }

    @Test
    void frozenParametersAndRunningStatisticsAreNotOptimized() {
        Graph g = TinyNets.net(8, 2, 3, 5);
        assertEquals(List.of("conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias"), Trainer.learnable(g));
        g.freezePrefix("conv1.");
        g.freezePrefix("bn1.");
        float[] conv = g.params.get("conv1.weight").data.clone(), fc = g.params.get("fc.weight").data.clone();
        Dataset.Split data = TinyNets.synthetic(60, 3).split(0.25, 7);
        new Trainer(g, kernels(), new Sgd(0.9, 1e-2, false), config(1, null, false, null)).fit(data.train(), data.test());
        assertTrue(java.util.Arrays.equals(conv, g.params.get("conv1.weight").data), "frozen conv1.weight changed");
        assertTrue(!java.util.Arrays.equals(fc, g.params.get("fc.weight").data), "fc.weight did not change");
    }
}
