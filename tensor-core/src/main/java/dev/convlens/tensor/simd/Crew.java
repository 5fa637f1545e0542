package dev.convlens.tensor.simd;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The caller and {@code threads-1} daemon workers that run the tasks of one parallel loop at a time,
 * taking task numbers from a shared counter. A worker that finishes a loop spins for
 * {@link #SPIN_NANOS} waiting for the next one before it parks: a network pass is a few hundred
 * loops of 0.05-2 ms each, and waking a parked thread takes tens of microseconds on a virtual
 * machine, long enough that the caller had done most of a short loop alone (measured: the second
 * thread was busy ~70% of a ResNet-18 forward with a thread pool that parks at once).
 * A worker idle for {@code idleSeconds} ends; the next loop starts it again, so an abandoned crew
 * holds no threads.
 *
 * <p>Correctness does not depend on the workers: the caller drains the counter itself, so a loop
 * completes even when no worker shows up. Each worker uses its own index ({@code 1..threads-1};
 * the caller is 0), so per-worker buffers are never shared; the caller returns only when every
 * worker that joined the loop has left it.
 */
final class Crew {
    /** How long an idle worker polls for the next loop before parking. */
    static final long SPIN_NANOS = 200_000;
    private static final int ENDED = 0, RUNNING = 1;

    /** One task of a loop, run by worker {@code worker} (0 is the caller). */
    interface Body {
        void run(int task, int worker);
    }

    /** A loop: its tasks, the next task number to take, the workers inside it, its first failure. */
    private record Loop(int tasks, Body body, AtomicInteger next, AtomicInteger inside, AtomicReference<Throwable> failure) {
        void drain(int worker) {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) body.run(t, worker);
        }
    }

    private final String name;
    private final long idleNanos;
    private final Thread[] workers;                  // [h] for worker h >= 1; [0] unused
    private final AtomicIntegerArray state;          // ENDED or RUNNING, per worker
    private volatile Loop loop;                      // the latest loop; workers compare it with the last one they saw

    Crew(String name, int threads, long idleSeconds) {
        this.name = name;
        this.idleNanos = TimeUnit.SECONDS.toNanos(idleSeconds);
        this.workers = new Thread[threads];
        this.state = new AtomicIntegerArray(threads);
    }

    /** Runs tasks 0..tasks-1 on the caller and the workers; returns when all are done, rethrowing the first failure. */
    void run(int tasks, Body body) {
        Loop l = new Loop(tasks, body, new AtomicInteger(), new AtomicInteger(), new AtomicReference<>());
        loop = l;
        for (int h = 1; h < workers.length && h < tasks; h++) {
            if (state.compareAndSet(h, ENDED, RUNNING)) start(h);
            else LockSupport.unpark(workers[h]);     // a no-op for a spinning worker but its next park
        }
        try {
            l.drain(0);
        } catch (RuntimeException | Error e) {
            l.failure.compareAndSet(null, e);
        }
        for (long spun = System.nanoTime(); l.inside.get() != 0; ) { // a worker is finishing its last task
            if (System.nanoTime() - spun < SPIN_NANOS) Thread.onSpinWait();
            else LockSupport.parkNanos(20_000);
        }
        Throwable failure = l.failure.get();
        if (failure instanceof RuntimeException e) throw e;
        if (failure instanceof Error e) throw e;
    }

    private void start(int h) {
        Thread t = new Thread(() -> work(h), name + "-" + h);
        t.setDaemon(true);
        workers[h] = t;
        t.start();
    }

    /** Worker h: joins each new loop, spins then parks between loops, ends after idleNanos without one. */
    private void work(int h) {
        Loop seen = null;
        while (true) {
            Loop l = loop;
            if (l != null && l != seen) {
                seen = l;
                l.inside.incrementAndGet();          // before taking a task: the caller waits for us from here
                try {
                    l.drain(h);
                } catch (RuntimeException | Error e) {
                    l.failure.compareAndSet(null, e);
                } finally {
                    l.inside.decrementAndGet();
                }
                continue;
            }
            long idleSince = System.nanoTime();
            while (loop == seen) {
                long idle = System.nanoTime() - idleSince;
                if (idle < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else if (idle < idleNanos) {
                    LockSupport.parkNanos(this, idleNanos - idle);
                } else {
                    state.set(h, ENDED);             // the next loop starts a new worker h
                    return;
                }
            }
        }
    }
}
