package dev.convlens.nn.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof of {@code --resume}: a training run in a separate JVM is killed with SIGKILL
 * ({@code kill -9}) in the middle of an epoch after its first checkpoint; a resumed run then
 * finishes the next epoch and its parameters equal, bit for bit, those of an uninterrupted run.
 */
class KillResumeTest {
    static final int EPOCHS_CHILD = 1000; // never reached: the child is killed
    static final int IMAGES = 600;

    static Trainer.Config config(int epochs, Path out, boolean resume) {
        return new Trainer.Config(epochs, 8, 11, new Schedule.Step(0.02, 2, 0.5), new Augment(1, true), TrainerTest.NORM, out, resume, null);
    }

    static Dataset.Split data() {
        return TinyNets.synthetic(IMAGES, 4).split(0.2, 1);
    }

    /** The child: trains until killed. */
    public static void main(String[] args) {
        Dataset.Split d = data();
        new Trainer(TinyNets.net(8, 2, 3, 9), Backend.select("simd", 2), Adam.adamW(), config(EPOCHS_CHILD, Path.of(args[0]), false))
                .fit(d.train(), d.test());
    }

    @Test
    void killedRunResumesToTheSameParameters(@TempDir Path out) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector", "-cp",
                System.getProperty("java.class.path"), KillResumeTest.class.getName(), out.toString())
                .redirectErrorStream(true).redirectOutput(out.resolve("child.log").toFile()).start();
        Path ckpt = out.resolve(Trainer.CHECKPOINT);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(ckpt) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
            assertTrue(Files.exists(ckpt), "no checkpoint from the child; its log: " + Files.readString(out.resolve("child.log")));
            Thread.sleep(150); // into the next epoch
            assertTrue(child.isAlive(), "the child stopped by itself: " + Files.readString(out.resolve("child.log")));
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(137, child.exitValue(), "killed by SIGKILL");
        int done = (int) Checkpoint.read(ckpt).getLong("epoch", ckpt);
        assertTrue(done >= 1);

        Dataset.Split d = data();
        Graph resumed = TinyNets.net(8, 2, 3, 9);
        new Trainer(resumed, Backend.select("simd", 2), Adam.adamW(), config(done + 1, out, true)).fit(d.train(), d.test());
        Graph straight = TinyNets.net(8, 2, 3, 9);
        new Trainer(straight, Backend.select("simd", 2), Adam.adamW(), config(done + 1, null, false)).fit(d.train(), d.test());
        for (Map.Entry<String, Tensor> e : straight.params.entrySet()) {
            float[] x = e.getValue().data, y = resumed.params.get(e.getKey()).data;
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), "after kill -9 at epoch " + (done + 1)
                        + " and --resume: " + e.getKey() + "[" + i + "] = " + y[i] + ", uninterrupted " + x[i]);
            }
        }
    }
}
