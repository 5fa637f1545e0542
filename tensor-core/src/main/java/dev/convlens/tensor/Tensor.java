package dev.convlens.tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A float32 array with a shape: contiguous, row-major (NCHW for images), no views.
 *
 * <p>{@code data} is public plain data: kernels read and write it directly. The shape is
 * fixed at construction and checked against the data length.
 */
public final class Tensor {
    /** The values, row-major: element (i0,i1,...,ik) lives at sum(i_j * stride_j). */
    public final float[] data;
    private final int[] shape;

    private Tensor(float[] data, int[] shape) {
        this.data = data;
        this.shape = shape;
    }

    /** A new zero tensor. */
    public static Tensor zeros(int... shape) {
        int n = Shapes.numel("Tensor.zeros", shape);
        return new Tensor(new float[n], shape.clone());
    }

    /**
     * A tensor whose values are unspecified, for an output that its kernel writes in full: zeros
     * when new, or whatever a training step left in an array given back to the {@link Recycler} in
     * use on this thread (which spares the JVM's zeroing of a new array).
     */
    public static Tensor empty(int... shape) {
        int n = Shapes.numel("Tensor.empty", shape);
        Recycler r = Recycler.current();
        return new Tensor(r == null ? new float[n] : r.take(n), shape.clone());
    }

    /** Wraps {@code data} (not copied) with {@code shape}; the lengths must agree. */
    public static Tensor of(float[] data, int... shape) {
        int n = Shapes.numel("Tensor.of", shape);
        Shapes.check(data.length == n, "Tensor.of",
                "data has " + data.length + " values but shape " + Shapes.str(shape) + " needs " + n);
        return new Tensor(data, shape.clone());
    }

    /** A tensor of independent uniform values in [lo, hi), reproducible from {@code seed}. */
    public static Tensor uniform(long seed, float lo, float hi, int... shape) {
        Tensor t = zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < t.data.length; i++) t.data[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return t;
    }

    /** A tensor of independent standard normal values times {@code std}, reproducible from {@code seed}. */
    public static Tensor normal(long seed, float std, int... shape) {
        Tensor t = zeros(shape);
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < t.data.length; i++) t.data[i] = (float) (std * r.nextGaussian());
        return t;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code i}; negative {@code i} counts from the end. */
    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    /** The same data seen with another shape of the same element count. Shares {@code data}. */
    public Tensor reshape(int... newShape) {
        int n = Shapes.numel("reshape", newShape);
        Shapes.check(n == data.length, "reshape",
                "cannot reshape " + Shapes.str(shape) + " to " + Shapes.str(newShape));
        return new Tensor(data, newShape.clone());
    }

    /** A deep copy. */
    public Tensor copy() {
        return new Tensor(data.clone(), shape.clone());
    }

    /** Flat-index value, for tests and small tools. */
    public float get(int i) {
        return data[i];
    }

    /** Largest |value|. */
    public float maxAbs() {
        float m = 0;
        for (float v : data) m = Math.max(m, Math.abs(v));
        return m;
    }

    @Override
    public String toString() {
        return "Tensor" + Shapes.str(shape) + (data.length <= 8 ? Arrays.toString(data) : "");
    }
}
