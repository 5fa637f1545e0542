package dev.convlens.viz;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.AvgPool2d;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The receptive field of a layer's units, computed from the graph: which input pixels a unit
 * {@code (y, x)} of a value can see. Zeiler and Fergus crop these boxes around their top
 * activations (Fig. 2) and slide their occluder at this scale (Sec. 4.2).
 *
 * <p>Per spatial axis, a value carries three numbers, starting from the image itself
 * ({@code r = 1, j = 1, start = 0}):
 * <ul>
 *   <li>{@code r}: the field size in input pixels,</li>
 *   <li>{@code j}: the jump, the distance in input pixels between neighbouring units (the product
 *       of the strides so far),</li>
 *   <li>{@code start}: the input coordinate of the centre of unit 0's field.</li>
 * </ul>
 * A convolution or pooling window with kernel {@code k}, stride {@code s}, dilation {@code d} and
 * leading padding {@code p} maps them to
 * <pre>
 *   r_out     = r_in + (k - 1) d j_in
 *   j_out     = j_in s
 *   start_out = start_in + ((k - 1)/2 d - p) j_in
 * </pre>
 * and unit {@code i} is centred at {@code start + i j}, its field the {@code r} pixels around it.
 * Elementwise ops (ReLU, batch norm, LRN, dropout, identity) leave the field as it is (a 1x1
 * window); a constant pad moves {@code start} by {@code -pad j}; where several fields meet (the
 * residual Add, Concat), the output takes the largest (for a ResNet block the two branches are
 * centred alike and the main branch's field contains the shortcut's). Values after a global pool,
 * flatten or fully-connected layer see the whole image and have no spatial field.
 *
 * <p>Known values (torchvision layouts, checked in the tests): AlexNet conv1 11 (jump 4), pool1
 * 19, conv2 51, pool2 67, conv3 99, conv4 131, conv5 163, pool5 195 (jump 32); ResNet-18 conv1
 * 7 (jump 2), maxpool 11, layer1 43, layer2 99, layer3 211, layer4 435 (jump 32).
 *
 * <p>Reference: the arithmetic as in Dumoulin and Visin, "A guide to convolution arithmetic for
 * deep learning" (2016), and Araujo et al., "Computing receptive fields of convolutional neural
 * networks", Distill (2019); used for visualization by Zeiler and Fergus, "Visualizing and
 * Understanding Convolutional Networks", ECCV 2014.
 */
public final class ReceptiveField {
    private ReceptiveField() {}

    /**
     * The field of one value's units.
     *
     * @param sizeH  r along the rows, in input pixels
     * @param sizeW  r along the columns
     * @param jumpH  j along the rows (the stride product)
     * @param jumpW  j along the columns
     * @param startH input row of the centre of unit row 0 (may be negative, or half-integer for even kernels)
     * @param startW input column of the centre of unit column 0
     */
    public record Field(int sizeH, int sizeW, int jumpH, int jumpW, double startH, double startW) {
        /** The field of the input image itself. */
        public static final Field PIXEL = new Field(1, 1, 1, 1, 0, 0);

        /** After a window of kernel (kh, kw), stride (sh, sw), dilation (dh, dw), leading pads (ph, pw). */
        Field window(int kh, int kw, int sh, int sw, int dh, int dw, int ph, int pw) {
            return new Field(sizeH + (kh - 1) * dh * jumpH, sizeW + (kw - 1) * dw * jumpW, jumpH * sh, jumpW * sw,
                    startH + ((kh - 1) / 2.0 * dh - ph) * jumpH, startW + ((kw - 1) / 2.0 * dw - pw) * jumpW);
        }

        /**
         * The input box of unit {@code (y, x)}: the {@code r x r} pixels centred at
         * {@code (startH + y jumpH, startW + x jumpW)}, clamped to an {@code imageH x imageW} image.
         */
        public Box box(int y, int x, int imageH, int imageW) {
            int top = top(y), left = left(x);
            return new Box(clamp(top, imageH), clamp(left, imageW), clamp(top + sizeH, imageH), clamp(left + sizeW, imageW));
        }

        /** The first input row of unit row {@code y}'s field, before clamping (negative where it starts in the padding). */
        public int top(int y) {
            return (int) Math.round(startH + (double) y * jumpH - (sizeH - 1) / 2.0);
        }

        /** The first input column of unit column {@code x}'s field, before clamping. */
        public int left(int x) {
            return (int) Math.round(startW + (double) x * jumpW - (sizeW - 1) / 2.0);
        }

        private static int clamp(int v, int n) {
            return Math.max(0, Math.min(v, n));
        }
    }

    /** Rows {@code [top, bottom)} and columns {@code [left, right)} of the input. */
    public record Box(int top, int left, int bottom, int right) {
        public int height() {
            return bottom - top;
        }

        public int width() {
            return right - left;
        }
    }

    /** Ops that keep the field unchanged (elementwise, or channel-wise). */
    private static final Set<String> ELEMENTWISE = Set.of("Relu", "BatchNorm2d", "LRN", "Dropout", "Identity");

    /**
     * The field of {@code value}'s units.
     *
     * @throws IllegalArgumentException when {@code value} is not computed by the graph or has no
     *                                  spatial field (after a global pool or flatten, or an op
     *                                  this class does not know), naming the op
     */
    public static Field of(Graph g, String value) {
        Map<String, Field> all = all(g);
        Field f = all.get(value);
        if (f != null) return f;
        Node p = g.producer(value);
        if (p == null && !g.inputs.contains(value)) {
            throw new IllegalArgumentException("ReceptiveField: the graph has no value '" + value + "'");
        }
        throw new IllegalArgumentException("ReceptiveField: value '" + value + "' (from " + p.name() + ", "
                + p.op().type() + ") has no spatial receptive field: it follows a global pool, flatten, "
                + "fully-connected layer or an op whose geometry is not known here");
    }

    /** The field of every spatial value of the graph (inputs included), in graph order. */
    public static Map<String, Field> all(Graph g) {
        Map<String, Field> f = new LinkedHashMap<>();
        for (String in : g.inputs) f.put(in, Field.PIXEL);
        for (Node n : g.nodes) {
            Field in = null;
            for (String name : n.inputs()) {
                Field c = f.get(name);
                if (c != null && (in == null || (long) c.sizeH * c.sizeW > (long) in.sizeH * in.sizeW)) in = c;
            }
            if (in == null) continue; // reads parameters only
            Field out = step(g, n, in);
            if (out != null) f.put(n.outputs().get(0), out);
        }
        return f;
    }

    /** The field after node {@code n} whose largest spatial input field is {@code in}; null when not spatial. */
    private static Field step(Graph g, Node n, Field in) {
        if (n.op() instanceof Layers.Conv c) {
            Conv2d cv = c.conv();
            int[] w = weightShape(g, n.inputs().get(1));
            if (w == null || w.length != 4) return null;
            return in.window(w[2], w[3], cv.strideH(), cv.strideW(), cv.dilationH(), cv.dilationW(), cv.padTop(), cv.padLeft());
        }
        if (n.op() instanceof Layers.MaxPool m) {
            MaxPool2d p = m.pool();
            return in.window(p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.dilationH(), p.dilationW(), p.padTop(), p.padLeft());
        }
        if (n.op() instanceof Layers.AvgPool a) {
            AvgPool2d p = a.pool();
            return in.window(p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), 1, 1, p.padTop(), p.padLeft());
        }
        if (n.op() instanceof Layers.Pad p && p.pads().length == 8) {
            return new Field(in.sizeH, in.sizeW, in.jumpH, in.jumpW, in.startH - p.pads()[2] * in.jumpH,
                    in.startW - p.pads()[3] * in.jumpW);
        }
        if (n.op() instanceof Layers.AddOp || n.op() instanceof Layers.ConcatOp) return in;
        if (ELEMENTWISE.contains(n.op().type()) || n.op() instanceof Layers.Identity) return in;
        return null;
    }

    /** The shape of a convolution's weight: a parameter, possibly behind Identity or Constant nodes. */
    private static int[] weightShape(Graph g, String name) {
        Tensor t = GraphValues.constant(g, name);
        return t == null ? null : t.shape();
    }
}
