package dev.convlens.tensor.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class CrewTest {
    private static boolean alive(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    @Test
    void everyTaskRunsOnceAndNoWorkerIndexIsUsedByTwoThreadsAtOnce() {
        int threads = 3, tasks = 1000;
        Crew crew = new Crew("crew-test-once", threads, 30);
        for (int round = 0; round < 50; round++) {
            AtomicIntegerArray runs = new AtomicIntegerArray(tasks), inUse = new AtomicIntegerArray(threads);
            boolean[] clash = new boolean[1];
            crew.run(tasks, (t, worker) -> {
                if (inUse.getAndIncrement(worker) != 0) clash[0] = true;
                runs.incrementAndGet(t);
                Thread.onSpinWait();
                inUse.decrementAndGet(worker);
            });
            for (int t = 0; t < tasks; t++) assertEquals(1, runs.get(t), "task " + t + " in round " + round);
            for (int w = 0; w < threads; w++) assertEquals(0, inUse.get(w), "worker " + w + " still inside after run returned");
            assertFalse(clash[0], "a worker index was used by two threads at once");
        }
    }

    @Test
    void aFailingTaskIsRethrownByTheCaller() {
        Crew crew = new Crew("crew-test-fail", 2, 30);
        IllegalStateException boom = new IllegalStateException("task 7 failed");
        IllegalStateException seen = assertThrows(IllegalStateException.class, () -> crew.run(64, (t, w) -> {
            if (t == 7) throw boom;
        }));
        assertSame(boom, seen);
        int[] sum = new int[1];
        crew.run(1, (t, w) -> sum[0] += 1);              // the crew still serves the next loop
        assertEquals(1, sum[0]);
    }

    @Test
    void idleWorkersEndAndTheNextLoopStartsThemAgain() throws InterruptedException {
        Crew crew = new Crew("crew-test-idle", 2, 1);
        crew.run(16, (t, w) -> { });
        assertTrue(alive("crew-test-idle-1"), "worker started by the first loop");
        long until = System.nanoTime() + 5_000_000_000L;
        while (alive("crew-test-idle-1") && System.nanoTime() < until) Thread.sleep(100);
        assertFalse(alive("crew-test-idle-1"), "worker still alive 5 s after a 1 s idle limit");
        AtomicIntegerArray byWorker = new AtomicIntegerArray(2);
        crew.run(2000, (t, w) -> {
            byWorker.incrementAndGet(w);
            for (long end = System.nanoTime() + 2_000; System.nanoTime() < end; ) Thread.onSpinWait();
        });
        assertEquals(2000, byWorker.get(0) + byWorker.get(1));
        assertTrue(alive("crew-test-idle-1"), "the next loop started the worker again");
        // on a loaded machine a new thread may take longer than one 4 ms loop to get a core: a few more loops
        for (int round = 0; round < 100 && byWorker.get(1) == 0; round++)
            crew.run(2000, (t, w) -> {
                byWorker.incrementAndGet(w);
                for (long end = System.nanoTime() + 2_000; System.nanoTime() < end; ) Thread.onSpinWait();
            });
        assertTrue(byWorker.get(1) > 0, "the restarted worker took no task of 100 loops of 4 ms");
    }
}
