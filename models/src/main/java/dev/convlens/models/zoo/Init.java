package dev.convlens.models.zoo;

import dev.convlens.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * The weight initializations torchvision 0.14 uses, reproducible from a seed (the distributions
 * are torchvision's; the random streams are Java's, so values differ from PyTorch's).
 *
 * <ul>
 *   <li>{@link Conv#KAIMING_FAN_OUT} (ResNet, VGG): {@code kaiming_normal_(mode="fan_out",
 *       nonlinearity="relu")}, w ~ N(0, 2 / (K*R*S)); bias 0.</li>
 *   <li>{@link Conv#PYTORCH_DEFAULT} (AlexNet): nn.Conv2d's reset_parameters,
 *       {@code kaiming_uniform_(a=sqrt(5))}: w ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
 *       fan_in = C*R*S; bias the same bound.</li>
 *   <li>{@link Linear#PYTORCH_DEFAULT} (ResNet fc, AlexNet, every fresh head): w and b ~
 *       U(-1/sqrt(in), 1/sqrt(in)).</li>
 *   <li>{@link Linear#NORMAL_001} (VGG): w ~ N(0, 0.01^2), b = 0.</li>
 *   <li>BatchNorm: weight 1, bias 0, running mean 0, running var 1.</li>
 * </ul>
 */
final class Init {
    private Init() {}

    static Tensor fill(float v, int... shape) {
        Tensor t = Tensor.zeros(shape);
        java.util.Arrays.fill(t.data, v);
        return t;
    }

    /**
     * Independent N(0, std^2) values from {@code seed}: Marsaglia's polar method on a
     * {@link SplittableRandom} (java.util.Random's nextGaussian is several times slower, which
     * shows at VGG-16's 138 M weights).
     */
    static Tensor normal(long seed, float std, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = t.data;
        for (int i = 0; i < v.length; ) {
            double a, b, s;
            do {
                a = 2 * r.nextDouble() - 1;
                b = 2 * r.nextDouble() - 1;
                s = a * a + b * b;
            } while (s >= 1 || s == 0);
            double m = std * Math.sqrt(-2 * Math.log(s) / s);
            v[i++] = (float) (a * m);
            if (i < v.length) v[i++] = (float) (b * m);
        }
        return t;
    }

    enum Conv {
        KAIMING_FAN_OUT, PYTORCH_DEFAULT;

        /** w (K, C, R, S). */
        Tensor weight(long seed, int[] w) {
            if (this == KAIMING_FAN_OUT) {
                return normal(seed, (float) Math.sqrt(2.0 / (w[0] * w[2] * w[3])), w);
            }
            float bound = (float) (1 / Math.sqrt(w[1] * w[2] * w[3]));
            return Tensor.uniform(seed, -bound, bound, w);
        }

        Tensor bias(long seed, int[] w) {
            if (this == KAIMING_FAN_OUT) return Tensor.zeros(w[0]);
            float bound = (float) (1 / Math.sqrt(w[1] * w[2] * w[3]));
            return Tensor.uniform(seed, -bound, bound, w[0]);
        }
    }

    enum Linear {
        PYTORCH_DEFAULT, NORMAL_001;

        Tensor weight(long seed, int out, int in) {
            if (this == NORMAL_001) return normal(seed, 0.01f, out, in);
            float bound = (float) (1 / Math.sqrt(in));
            return Tensor.uniform(seed, -bound, bound, out, in);
        }

        Tensor bias(long seed, int out, int in) {
            if (this == NORMAL_001) return Tensor.zeros(out);
            float bound = (float) (1 / Math.sqrt(in));
            return Tensor.uniform(seed, -bound, bound, out);
        }
    }
}
