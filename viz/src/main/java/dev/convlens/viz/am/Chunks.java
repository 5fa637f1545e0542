package dev.convlens.viz.am;

import dev.convlens.tensor.kernels.Kernels;

/**
 * Elementwise work over {@code units} runs of {@code length} elements (images, colour planes, one flat
 * array), cut into ranges of at least {@link #MIN} elements, about four per thread, run as tasks on
 * the kernels' threads ({@link Kernels#parallelFor}). Each element is computed alone, so the bits do
 * not depend on the cut.
 */
final class Chunks {
    private Chunks() {}

    /** Smallest range worth a task: below it a task's hand-over costs more than its work. */
    static final int MIN = 4096;

    /** Elements {@code [unit * length + i0, unit * length + i1)} of one unit. */
    interface Range {
        void run(int unit, int i0, int i1);
    }

    /** Runs {@code r} over every unit's elements, in ranges spread over {@code k}'s threads. */
    static void each(Kernels k, int units, int length, Range r) {
        int per = Math.max(1, Math.min(length / MIN, (4 * k.threads() + units - 1) / units));
        k.parallelFor(units * per, c -> {
            int u = c / per, q = c % per;
            r.run(u, (int) ((long) q * length / per), (int) ((long) (q + 1) * length / per));
        });
    }
}
