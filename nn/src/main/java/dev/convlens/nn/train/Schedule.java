package dev.convlens.nn.train;

/**
 * A learning-rate schedule, evaluated once per epoch (as PyTorch's {@code StepLR} and
 * {@code CosineAnnealingLR} are when {@code scheduler.step()} is called after each epoch).
 * Epochs count from 0.
 */
public sealed interface Schedule {
    /** The learning rate for {@code epoch}. */
    double lr(int epoch);

    /** A constant learning rate. */
    record Constant(double lr0) implements Schedule {
        public double lr(int epoch) {
            return lr0;
        }
    }

    /** StepLR: {@code lr = lr0 * gamma^floor(epoch / stepSize)}. */
    record Step(double lr0, int stepSize, double gamma) implements Schedule {
        public Step {
            if (stepSize < 1) throw new IllegalArgumentException("StepLR: step size must be >= 1 but is " + stepSize);
        }

        public double lr(int epoch) {
            return lr0 * StrictMath.pow(gamma, epoch / stepSize);
        }
    }

    /**
     * CosineAnnealingLR in its closed form:
     * {@code lr = lrMin + (lr0 - lrMin) * (1 + cos(pi * epoch / tMax)) / 2}.
     */
    record Cosine(double lr0, int tMax, double lrMin) implements Schedule {
        public Cosine {
            if (tMax < 1) throw new IllegalArgumentException("CosineAnnealingLR: T_max must be >= 1 but is " + tMax);
        }

        public double lr(int epoch) {
            return lrMin + (lr0 - lrMin) * (1 + StrictMath.cos(Math.PI * epoch / tMax)) / 2;
        }
    }
}
