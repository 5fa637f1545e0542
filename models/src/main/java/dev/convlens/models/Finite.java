package dev.convlens.models;

import dev.convlens.nn.Graph;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * NaN and infinity detection on request ({@code --check-finite}): in a graph's weights and in an
 * input. Each check scans the flat array once and reports the first bad element: the parameter or
 * input name, its flat index and its index per dimension, and the value.
 */
public final class Finite {
    private Finite() {}

    /** A NaN or infinity where finite values are required. */
    public static final class NotFiniteException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        /** The parameter or input that holds it. */
        public final String name;
        /** The flat (row-major) index of the first non-finite element. */
        public final int index;
        public final float value;

        NotFiniteException(String what, String name, int[] shape, int index, float value) {
            super(what + " '" + name + "' " + Shapes.str(shape) + " holds " + value + " at flat index " + index
                    + " " + position(shape, index) + "; --check-finite refuses non-finite values");
            this.name = name;
            this.index = index;
            this.value = value;
        }
    }

    /** Checks every parameter of {@code g}, in parameter order; throws on the first non-finite one. */
    public static void check(Graph g) {
        List<Map.Entry<String, Tensor>> params;
        synchronized (g.params) {
            params = new ArrayList<>(g.params.entrySet());
        }
        for (Map.Entry<String, Tensor> e : params) check("parameter", e.getKey(), e.getValue());
    }

    /** Checks one tensor; {@code what} says what it is ("input", "parameter"). */
    public static void check(String what, String name, Tensor t) {
        int i = firstNonFinite(t.data);
        if (i >= 0) throw new NotFiniteException(what, name, t.shape(), i, t.data[i]);
    }

    /** The index of the first NaN or infinity, or -1. */
    public static int firstNonFinite(float[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) return i;
        }
        return -1;
    }

    private static String position(int[] shape, int index) {
        int[] pos = new int[shape.length];
        int r = index;
        for (int d = shape.length - 1; d >= 0; d--) {
            pos[d] = r % shape[d];
            r /= shape[d];
        }
        StringBuilder s = new StringBuilder("(");
        for (int d = 0; d < pos.length; d++) s.append(d > 0 ? "," : "").append(pos[d]);
        return s.append(')').toString();
    }
}
