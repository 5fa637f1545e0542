package dev.convlens.tensor;

import java.util.Arrays;

/**
 * Shape arithmetic and the checks every op makes before it allocates anything.
 *
 * <p>Every failure is an {@link IllegalArgumentException} whose message names the op and
 * the shapes involved, e.g. {@code "Conv2d: input (1,3,5,5) has 3 channels but weight
 * (8,4,3,3) expects 4 (groups=1)"}.
 */
public final class Shapes {
    private Shapes() {}

    /** Number of elements of {@code shape}; refuses non-positive dims and products that overflow {@code int}. */
    public static int numel(String op, int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException(op + ": shape " + str(shape) + " has a non-positive dimension");
            }
            n *= d;
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(op + ": shape " + str(shape)
                        + " has more than 2^31-9 elements, which a Java array cannot hold");
            }
        }
        return (int) n;
    }

    /** Throws {@code IllegalArgumentException(op + ": " + message)} when {@code ok} is false. */
    public static void check(boolean ok, String op, String message) {
        if (!ok) {
            throw new IllegalArgumentException(op + ": " + message);
        }
    }

    /** Requires {@code t} to have rank {@code rank}; {@code what} names the argument, e.g. "input (N,C,H,W)". */
    public static void requireRank(String op, String what, Tensor t, int rank) {
        check(t != null, op, what + " is null");
        check(t.rank() == rank, op, what + " must have rank " + rank + " but has shape " + str(t.shape()));
    }

    /** Requires two tensors to have the same shape. */
    public static void requireSameShape(String op, String whatA, Tensor a, String whatB, Tensor b) {
        check(Arrays.equals(a.shape(), b.shape()), op,
                whatA + " " + str(a.shape()) + " and " + whatB + " " + str(b.shape()) + " must have the same shape");
    }

    /** "(1,3,224,224)". */
    public static String str(int... shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) s.append(',');
            s.append(shape[i]);
        }
        return s.append(')').toString();
    }
}
