package dev.convlens.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Arrays given back once nothing reads them any more, for the next {@link Tensor#empty} of the same
 * length on the thread that uses the recycler. Three users:
 * <ul>
 *   <li>{@code Run.backward} gives back each gradient it has used up, and {@code Run.backwardReleasing}
 *       also the activations it drops, so the gradients of the early layers are made in the arrays
 *       of the later ones;</li>
 *   <li>{@code Graph.predict} gives back each intermediate once its last reader has run;</li>
 *   <li>a training loop gives back the parameter gradients the optimizer step used up, which the next
 *       backward makes again in the same sizes (PyTorch keeps them as {@code .grad} between steps for
 *       the same reason).</li>
 * </ul>
 * The ops make their outputs and gradients by {@link Tensor#empty} where the kernel writes every
 * element (convolutions, pooling, ReLU, sums), so a recycled array is not zeroed first.
 *
 * <p>Why: the JVM zeroes every new array on the thread that allocates it. AlexNet's gradients are
 * 244 MB (fc6's alone 151 MB); perf put the JVM's zeroing ({@code memset}) at 3.1% of all samples of
 * a training step at batch 16 on two threads, all on the calling thread while the second core
 * waited (1.2% with this recycler). In a ResNet-18 saliency map at batch 1, 26 MB a call were made
 * in recycled arrays (ad hoc): 49-51 -> 47 ms.
 *
 * <p>Use, once per training step (see {@code Trainer}):
 * <pre>
 *   Run run = graph.forwardTraining(k, feeds, List.of());
 *   Map&lt;String, Tensor&gt; grads = Trainer.backwardRecycled(run, ...);  // in use for the backward, then cleared
 *   optimizer.step(k, graph.params, grads, lr);
 *   for (Tensor g : grads.values()) recycler.give(g.data);       // used up by the step
 * </pre>
 * and for inference or saliency in a loop, the work of one call inside {@code use()}: the next call
 * makes its values in the arrays of the one before.
 * Only arrays this recycler handed out are taken back ({@link #give} ignores any other array, e.g. a
 * parameter). It holds what was given and not taken again, until {@link #clear} or until it is dropped.
 *
 * <p>A training loop keeps its forward out of the recycler and clears what the backward gave back:
 * holding the arrays the backward frees until the next forward took 7% off a ResNet-18 step at batch
 * 16 but raised its smallest -Xmx from 789 to 1005 MB (MemoryMain, stop 18), and a forward whose
 * activations the recycler handed out (so that the backward pooled them) needed 1036 MB against 743
 * (stop 22). Why is not established: the pooled arrays are no longer garbage, and G1 never moves
 * arrays this large, so fragmentation is a suspect.
 * Methods are synchronized; a recycler is meant for one loop at a time.
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
     * @param poison fill every array with NaN when it is given back and again before it is handed out:
     *               for tests that prove each user of {@link Tensor#empty} writes its whole output, and
     *               that nothing reads an array after it was given back
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

    /**
     * Leaves the recycler in use on this thread as it is, or, when there is none, installs a fresh one
     * until the returned handle is closed: for work that gives back what it is done with either way
     * ({@code Graph.predict}, {@code Run.backward}); {@link #current} is not null inside.
     */
    public static Use ensure() {
        return CURRENT.get() != null ? () -> {} : new Recycler().use();
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
        if (poison) Arrays.fill(a, Float.NaN);
        free.computeIfAbsent(a.length, n -> new ArrayDeque<>()).addLast(a);
        pooled += a.length;
        return true;
    }

    /** Floats held for reuse now. */
    public synchronized long pooledFloats() {
        return pooled;
    }

    /**
     * Forgets every pooled array (they become garbage), keeping the record of those handed out: a training
     * loop calls it after the backward, so the activations and gradients the backward gave back do not
     * stay in the heap beside the next forward's (see the class comment); the parameter gradients it
     * gives back after the optimizer step are pooled again.
     */
    public synchronized void clear() {
        free.clear();
        pooled = 0;
    }

    /** Floats handed out again so far (each spared the JVM's zeroing of a new array). */
    public synchronized long reusedFloats() {
        return reused;
    }
}
