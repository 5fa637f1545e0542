package dev.convlens.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Float arrays a training step no longer needs, kept for the next tensors of the same length.
 *
 * <p>Why: the JVM zeroes every new array on the thread that allocates it. A ResNet-18 training step
 * at batch 16 allocates about 0.9 GB of activations and gradients, and perf put that zeroing
 * ({@code memset}) at about 8% of the step's wall time, spent on the calling thread while the
 * second core waits. An op's output that its kernel writes in full does not need zeros: such
 * outputs are made by {@link Tensor#empty}, which takes an array from the recycler in use on the
 * calling thread, if there is one and it holds an array of that length.
 *
 * <p>Use, once per training step (see {@code Trainer}):
 * <pre>
 *   try (Recycler.Use u = recycler.use()) {
 *       Run run = graph.forward(k, feeds, true);
 *       Map&lt;String, Tensor&gt; grads = run.backwardReleasing(...);
 *       optimizer.step(k, graph.params, grads, lr);
 *       for (Tensor g : grads.values()) recycler.give(g.data);   // used up by the step
 *   }
 * </pre>
 * {@code Run.backwardReleasing} gives back the arrays it frees that no value, gradient or caller
 * can still see; the caller gives back the parameter gradients once the optimizer has used them.
 * Only arrays this recycler handed out are taken ({@link #give} ignores any other array, e.g. a
 * constant or a parameter). The next step's forward and backward then run on those arrays.
 *
 * <p>It holds what was given back and not taken again, at most about one step's activations and
 * gradients; {@link #clear} drops them (do it when the shapes change, e.g. before a smaller last
 * batch, or the old lengths stay unused), and so does dropping the recycler. Methods are
 * synchronized; a recycler is meant for one training loop at a time.
 */
public final class Recycler {
    private static final ThreadLocal<Recycler> CURRENT = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
    /** Arrays handed out by {@link #take} and not given back: the only ones {@link #give} accepts (weak: a dropped one is forgotten). */
    private final Map<float[], Boolean> out = new WeakHashMap<>(); // float[] has identity equals and hashCode
    private final boolean poison;
    private long pooled, reused;

    /** A recycler that hands out arrays as they were left. */
    public Recycler() {
        this(false);
    }

    /**
     * @param poison fill every array with NaN before handing it out again: for tests that prove each
     *               user of {@link Tensor#empty} writes its whole output
     */
    public Recycler(boolean poison) {
        this.poison = poison;
    }

    /** Installs this recycler on the calling thread until the returned handle is closed (the previous one comes back then). */
    public Use use() {
        Recycler previous = CURRENT.get();
        CURRENT.set(this);
        return () -> {
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
        };
    }

    /** The scope of {@link #use}; closing it never throws. */
    public interface Use extends AutoCloseable {
        @Override
        void close();
    }

    /** The recycler in use on the calling thread, or null. */
    public static Recycler current() {
        return CURRENT.get();
    }

    /** An array of length n: a pooled one when there is one, else a new (zeroed) one; either way recorded as handed out. */
    synchronized float[] take(int n) {
        ArrayDeque<float[]> d = free.get(n);
        float[] a = d == null ? null : d.pollLast();
        if (a == null) {
            a = new float[n];
        } else {
            pooled -= n;
            reused += n;
            if (poison) Arrays.fill(a, Float.NaN);
        }
        out.put(a, Boolean.TRUE);
        return a;
    }

    /**
     * Takes {@code a} back for a later {@link Tensor#empty} of its length, when it is an array this
     * recycler handed out and has not been given back since; anything else is ignored. The caller
     * promises that nothing reads or writes {@code a} any more.
     *
     * @return whether it was taken back
     */
    public synchronized boolean give(float[] a) {
        if (out.remove(a) == null) return false;
        free.computeIfAbsent(a.length, n -> new ArrayDeque<>()).addLast(a);
        pooled += a.length;
        return true;
    }

    /** Floats held for reuse now. */
    public synchronized long pooledFloats() {
        return pooled;
    }

    /** Floats handed out again so far (each spared the JVM's zeroing of a new array). */
    public synchronized long reusedFloats() {
        return reused;
    }

    /** Drops every held array. */
    public synchronized void clear() {
        free.clear();
        pooled = 0;
    }
}
