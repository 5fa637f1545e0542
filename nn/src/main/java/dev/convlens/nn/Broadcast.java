package dev.convlens.nn;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;

/**
 * NumPy/ONNX multidirectional broadcasting of two shapes: dims are aligned from the right, and
 * each pair must be equal or contain a 1. Used by the elementwise Add node (the bias-like adds
 * that exports contain) and by Gemm's C.
 */
final class Broadcast {
    private Broadcast() {}

    static int[] shape(String op, int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Shapes.str(a) + " and " + Shapes.str(b)
                        + " cannot be broadcast together");
            }
            out[i] = Math.max(da, db);
        }
        return out;
    }

    /** For each flat index of {@code out}, the flat index of the broadcast operand of shape {@code s}. */
    static int[] index(int[] out, int[] s) {
        int n = 1;
        for (int d : out) n *= d;
        int r = out.length, off = r - s.length;
        int[] stride = new int[r]; // stride in s for each output dim, 0 where s broadcasts
        int st = 1;
        for (int i = r - 1; i >= 0; i--) {
            int d = i < off ? 1 : s[i - off];
            stride[i] = d == 1 ? 0 : st;
            st *= d;
        }
        int[] idx = new int[n];
        int[] pos = new int[r];
        for (int f = 0; f < n; f++) {
            int j = 0;
            for (int i = 0; i < r; i++) j += pos[i] * stride[i];
            idx[f] = j;
            for (int i = r - 1; i >= 0; i--) {
                if (++pos[i] < out[i]) break;
                pos[i] = 0;
            }
        }
        return idx;
    }

    /** The sum of {@code dy} (broadcast shape) back onto shape {@code s}: the backward of broadcasting. */
    static Tensor reduce(Tensor dy, int[] s) {
        Tensor d = Tensor.zeros(s);
        int[] idx = index(dy.shape(), s);
        for (int i = 0; i < idx.length; i++) d.data[idx[i]] += dy.data[i];
        return d;
    }
}
