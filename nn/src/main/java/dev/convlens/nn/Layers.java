package dev.convlens.nn;

import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.ops.Add;
import dev.convlens.tensor.ops.AvgPool2d;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Concat;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.GlobalAvgPool;
import dev.convlens.tensor.ops.LogSoftmax;
import dev.convlens.tensor.ops.Lrn;
import dev.convlens.tensor.ops.MaxPool2d;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.ops.Reshape;
import dev.convlens.tensor.ops.Softmax;

/**
 * The graph nodes' ops: thin adapters from a node's input and output lists to the ops of
 * {@code dev.convlens.tensor.ops}, where the mathematics and its Javadoc live. Inputs follow the
 * ONNX order of the corresponding operator (e.g. Conv: x, w, optional b).
 */
public final class Layers {
    private Layers() {}

    private static Tensor[] one(Tensor t) {
        return new Tensor[] {t};
    }

    /** Conv: in (x, w, optional b). */
    public record Conv(Conv2d conv) implements Op {
        public String type() { return "Conv2d"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(conv.forward(k, in[0], in[1], in.length > 2 ? in[2] : null)), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            boolean wantDb = in.length > 2 && in[2] != null && want[2];
            Conv2d.Grads g = conv.backward(k, in[0], in[1], dOut[0], want[0], want[1], wantDb);
            return in.length > 2 ? new Tensor[] {g.dx(), g.dw(), g.db()} : new Tensor[] {g.dx(), g.dw()};
        }
    }

    /**
     * A convolution, the inference batch norm after it ({@code bn}, or null), a residual sum
     * ({@code residual}: a ResNet block's shortcut) and the ReLU after that ({@code relu}) as one
     * node: {@code y = act(scale * (conv(x, w) + b) + shift + res)} with the batch norm's
     * {@link BatchNorm2d#affine} applied in the convolution's epilogue (folded). {@link Graph#infer}
     * puts it in place of the chain when its intermediate values are not asked for.
     * In: (x, w, b or absent), then (gamma, beta, mean, var) when {@code bn} is set, then the
     * residual when {@code residual} is set.
     *
     * <p>Backward, to x and the residual only: the ReLU's rule with its mask read from y
     * ({@code y > 0} exactly where the ReLU's input was > 0) gives dz; the residual receives dz, and
     * x the convolution's backward-data of dz times {@code scale} per channel. Parameter gradients are
     * not available from a folded node (use {@link Graph#forward}).
     */
    public record FusedConv(Conv2d conv, BatchNorm2d bn, boolean residual, boolean relu) implements Op {
        public String type() {
            return "Conv2d" + (bn != null ? "+BatchNorm2d" : "") + (residual ? "+Add" : "") + (relu ? "+Relu" : "");
        }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor x = in[0], w = in[1], b = in[2];
            float[] scale = null, shift = null;
            if (bn != null) {
                Shapes.requireRank("Conv2d", "weight w (K,C/groups,R,S)", w, 4);
                BatchNorm2d.Affine a = bn.affine(w.dim(0), in[3], in[4], in[5], in[6]);
                scale = a.scale();
                shift = a.shift();
            }
            Tensor res = residual ? in[in.length - 1] : null;
            dev.convlens.tensor.kernels.ConvGeom g = conv.geometry(x, w);
            if (res != null && !java.util.Arrays.equals(res.shape(), new int[] {g.n(), g.k(), g.oh(), g.ow()})) {
                // a broadcast sum: the convolution and batch norm fused, then the sum and ReLU as the graph has them
                Tensor z = conv.forwardAffine(k, x, w, b, scale, shift, null, false);
                Tensor y = new AddOp().forward(k, new Tensor[] {z, res}, false).out()[0];
                return new Step(one(relu ? Relu.forward(k, y) : y), scale);
            }
            return new Step(one(conv.forwardAffine(k, x, w, b, scale, shift, res, relu)), scale);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            int last = residual ? in.length - 1 : in.length;
            for (int j = 1; j < last; j++) {
                Shapes.check(!want[j], type(), "gradients of the parameters are not available after batch norm and "
                        + "ReLU were folded into the convolution (Graph.infer); use Graph.forward");
            }
            Tensor reluGrad = relu ? Relu.backward(k, rule, s.out()[0], dOut[0]) : null, dz = relu ? reluGrad : dOut[0];
            Tensor[] d = new Tensor[in.length];
            Tensor dRes = null;                           // dz itself: Run never writes into a gradient an op returns
            if (residual && want[last]) {
                Tensor r = in[last];
                dRes = d[last] = java.util.Arrays.equals(r.shape(), dz.shape()) ? dz : Broadcast.reduce(dz, r.shape());
            }
            if (!want[0]) return d;
            float[] scale = (float[]) s.saved();
            if (scale != null) {                          // dz * scale per channel: in place when dz is this node's own and not dRes
                Tensor scaled = dz == dOut[0] || dz == dRes ? Tensor.empty(dz.shape()) : dz;
                int c = dz.dim(1), hw = dz.size() / (dz.dim(0) * c);
                for (int plane = 0; plane < dz.dim(0) * c; plane++) {
                    float f = scale[plane % c];
                    for (int i = plane * hw, end = i + hw; i < end; i++) scaled.data[i] = dz.data[i] * f;
                }
                dz = scaled;
            }
            d[0] = conv.backward(k, in[0], in[1], dz, true, false, false).dx();
            // what this node made for itself alone (the ReLU's gradient, the scaled one) goes back to the recycler in use
            Recycler r = k instanceof OpenClKernels ? null : Recycler.current();
            if (r != null) {
                if (reluGrad != null && reluGrad != dRes) r.give(reluGrad.data);
                if (dz != reluGrad && dz != dOut[0]) r.give(dz.data);   // the scaled copy
            }
            return d;
        }
    }

    /** ReLU; its backward follows the rule of the pass (gradient, deconvnet, guided). */
    public record ReluOp() implements Op {
        public String type() { return "Relu"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(Relu.forward(k, in[0])), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(Relu.backward(k, rule, in[0], dOut[0]));
        }
    }

    /**
     * Max pooling; saves the switches. With {@code indices}, the second output holds them as ONNX
     * Indices (flat over N*C*H*W, stored as floats: exact below 2^24 elements); without it there is
     * no second output (the importer asks for it only where the ONNX node names one: converting the
     * switches costs a pass over an output-sized tensor, 12.8 M values for ResNet-18's stem at batch 16).
     */
    public record MaxPool(MaxPool2d pool, boolean indices) implements Op {
        /** With the Indices output. */
        public MaxPool(MaxPool2d pool) {
            this(pool, true);
        }

        public String type() { return "MaxPool2d"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            MaxPool2d.Result r = pool.forward(k, in[0]);
            if (!indices) return new Step(one(r.y()), r.switches());
            Tensor idx = Tensor.zeros(r.y().shape());
            for (int i = 0; i < r.switches().length; i++) idx.data[i] = r.switches()[i];
            return new Step(new Tensor[] {r.y(), idx}, r.switches());
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(pool.backward(k, dOut[0], (int[]) s.saved(), in[0].shape()));
        }
    }

    public record AvgPool(AvgPool2d pool) implements Op {
        public String type() { return "AvgPool2d"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(pool.forward(in[0])), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(pool.backward(dOut[0], in[0].shape()));
        }
    }

    public record GlobalAvg() implements Op {
        public String type() { return "GlobalAvgPool"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(GlobalAvgPool.forward(in[0])), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(GlobalAvgPool.backward(dOut[0], in[0].shape()));
        }
    }

    /**
     * A batch norm and the ReLU after it as one node ({@link Graph#forwardTraining}): the ReLU runs in
     * place on the batch norm's output, so the pair makes one array where it made two, and its
     * backward masks with that output ({@code y > 0} exactly where the batch norm's output was
     * {@code > 0}, NaN included), then runs the batch norm's backward: the same bits as the two nodes.
     * In training (batch statistics) both directions are one kernel each
     * ({@link Kernels#batchNormReluTrainForward}, and under the gradient rule
     * {@link Kernels#batchNormReluTrainBackward}), which the SIMD layer runs without a pass of its own
     * for the ReLU. Outputs: the ReLU's value, then the batch norm's others (running statistics).
     */
    public record BatchNormRelu(BatchNorm norm) implements Op {
        public String type() { return "BatchNorm2d+Relu"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            if (training || norm.trainingMode()) return norm.forwardTrain(k, in, true);
            Step s = norm.forward(k, in, training);
            float[] y = s.out()[0].data;
            k.reluForward(y, y);
            return s;
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            if (rule == Relu.Rule.GRADIENT && s.saved() instanceof BatchNorm2d.TrainResult r)
                return norm.backwardTrain(k, in, r, s.out()[0], dOut[0], want);
            Tensor dz = Relu.backward(k, rule, s.out()[0], dOut[0]);
            return norm.backward(k, in, s, new Tensor[] {dz}, want, rule);
        }
    }

    /**
     * Batch norm: in (x, scale, bias, running mean, running var). In training mode (the pass's,
     * or {@code trainingMode} fixed by the model) it normalizes with the batch statistics and
     * updates the running ones in place (outputs y, running mean, running var); in inference it is
     * the affine map of the running statistics.
     */
    public record BatchNorm(BatchNorm2d bn, boolean trainingMode) implements Op {
        public String type() { return "BatchNorm2d"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            if (training || trainingMode) return forwardTrain(k, in, false);
            return new Step(one(bn.forwardInference(k, as4d(in[0]), in[1], in[2], in[3], in[4]).reshape(in[0].shape())), null);
        }

        /** The training forward (batch statistics), with the ReLU after it when {@code relu} ({@link BatchNormRelu}). */
        Step forwardTrain(Kernels k, Tensor[] in, boolean relu) {
            BatchNorm2d.TrainResult r = bn.forwardTrain(k, as4d(in[0]), in[1], in[2], in[3], in[4], relu);
            return new Step(new Tensor[] {r.y().reshape(in[0].shape()), in[3], in[4]}, r);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            if (s.saved() instanceof BatchNorm2d.TrainResult r) return backwardTrain(k, in, r, null, dOut[0], want);
            BatchNorm2d.Grads g = bn.backwardInference(k, as4d(in[0]), in[1], in[3], in[4], as4d(dOut[0]), want[0], want[1], want[2]);
            return grads(in, g);
        }

        /** The training backward, through the ReLU after it too when {@code reluOut} (its output) is given. */
        Tensor[] backwardTrain(Kernels k, Tensor[] in, BatchNorm2d.TrainResult r, Tensor reluOut, Tensor dy, boolean[] want) {
            BatchNorm2d.Grads g = bn.backwardTrain(k, as4d(in[0]), in[1], reluOut == null ? null : as4d(reluOut), as4d(dy),
                    r.mean(), r.invStd(), want[0], want[1], want[2]);
            return grads(in, g);
        }

        private static Tensor[] grads(Tensor[] in, BatchNorm2d.Grads g) {
            Tensor dx = g.dx() == null ? null : g.dx().reshape(in[0].shape());
            return new Tensor[] {dx, g.dgamma(), g.dbeta(), null, null};
        }

        /** (N,C,d1,...,dk) seen as (N,C,d1*...*dk,1): batch norm over any number of spatial dims. */
        private static Tensor as4d(Tensor x) {
            if (x.rank() == 2 || x.rank() == 4) return x;
            Shapes.check(x.rank() >= 3, "BatchNorm", "input " + Shapes.str(x.shape()) + " must have rank >= 2");
            return x.reshape(x.dim(0), x.dim(1), x.size() / (x.dim(0) * x.dim(1)), 1);
        }
    }

    /**
     * General matrix multiply, as ONNX Gemm: {@code Y = alpha * A' * B' + beta * C} with A' = A or
     * Aᵀ, B' = B or Bᵀ, and C broadcast to (M, N). Backward: dA' = alpha dY B'ᵀ, dB' = alpha A'ᵀ dY,
     * dC = beta * dY summed over the broadcast dims. A Linear layer is transB = 1.
     */
    public record Gemm(float alpha, float beta, boolean transA, boolean transB) implements Op {
        public String type() { return "Gemm"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor a = in[0], b = in[1];
            Shapes.requireRank("Gemm", "A", a, 2);
            Shapes.requireRank("Gemm", "B", b, 2);
            int m = transA ? a.dim(1) : a.dim(0), kk = transA ? a.dim(0) : a.dim(1);
            int n = transB ? b.dim(0) : b.dim(1), kb = transB ? b.dim(1) : b.dim(0);
            Shapes.check(kk == kb, "Gemm", "A " + Shapes.str(a.shape()) + (transA ? "ᵀ" : "") + " times B "
                    + Shapes.str(b.shape()) + (transB ? "ᵀ" : "") + ": inner sizes " + kk + " and " + kb + " differ");
            Tensor y = Tensor.zeros(m, n);
            Tensor c = in.length > 2 ? in[2] : null;
            if (c != null && beta != 0) {
                int[] idx = Broadcast.index(new int[] {m, n}, c.shape());
                Broadcast.shape("Gemm", new int[] {m, n}, c.shape());
                for (int i = 0; i < idx.length; i++) y.data[i] = c.data[idx[i]];
            }
            k.gemm(transA, transB, m, n, kk, alpha, a.data, 0, a.dim(1), b.data, 0, b.dim(1),
                    c != null && beta != 0 ? beta : 0, y.data, 0, n);
            return new Step(one(y), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            Tensor a = in[0], b = in[1], dy = dOut[0];
            int m = dy.dim(0), n = dy.dim(1), kk = transA ? a.dim(0) : a.dim(1);
            Tensor[] d = new Tensor[in.length];
            if (want[0]) { // dA' (m,kk) = alpha dY (m,n) B' ᵀ; stored transposed when transA
                d[0] = Tensor.zeros(a.shape());
                if (!transA) k.gemm(false, !transB, m, kk, n, alpha, dy.data, 0, n, b.data, 0, b.dim(1), 0, d[0].data, 0, kk);
                else k.gemm(!transB, true, kk, m, n, alpha, b.data, 0, b.dim(1), dy.data, 0, n, 0, d[0].data, 0, m);
            }
            if (want[1]) { // dB' (kk,n) = alpha A'ᵀ dY; stored transposed when transB
                d[1] = Tensor.empty(b.shape()); // the weights' gradient: beta 0, every element written
                if (!transB) k.gemm(!transA, false, kk, n, m, alpha, a.data, 0, a.dim(1), dy.data, 0, n, 0, d[1].data, 0, n);
                else k.gemm(true, transA, n, kk, m, alpha, dy.data, 0, n, a.data, 0, a.dim(1), 0, d[1].data, 0, kk);
            }
            if (in.length > 2 && in[2] != null && want[2]) {
                d[2] = Broadcast.reduce(dy, in[2].shape());
                for (int i = 0; i < d[2].data.length; i++) d[2].data[i] *= beta;
            }
            return d;
        }
    }

    /**
     * MatMul {@code (..., M, K) · (..., K, N)}: a 2-D product per batch entry, the batch dims of A
     * and B equal, or B 2-D (shared by every entry). Backward per entry: dA = dY Bᵀ, dB = Aᵀ dY
     * (summed over the batch when B is shared).
     */
    public record MatMul() implements Op {
        public String type() { return "MatMul"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor a = in[0], b = in[1];
            Shapes.check(a.rank() >= 2 && b.rank() >= 2, "MatMul", "inputs " + Shapes.str(a.shape()) + " and "
                    + Shapes.str(b.shape()) + " must have rank >= 2");
            int m = a.dim(-2), kk = a.dim(-1), n = b.dim(-1), batch = a.size() / (m * kk);
            boolean shared = b.rank() == 2;
            Shapes.check(b.dim(-2) == kk && (shared || b.size() / (kk * n) == batch && b.rank() == a.rank()), "MatMul",
                    "cannot multiply " + Shapes.str(a.shape()) + " by " + Shapes.str(b.shape()));
            int[] shape = a.shape();
            shape[shape.length - 1] = n;
            Tensor y = Tensor.zeros(shape);
            for (int e = 0; e < batch; e++) {
                k.gemm(false, false, m, n, kk, 1, a.data, e * m * kk, kk, b.data, shared ? 0 : e * kk * n, n, 0, y.data, e * m * n, n);
            }
            return new Step(one(y), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            Tensor a = in[0], b = in[1], dy = dOut[0];
            int m = a.dim(-2), kk = a.dim(-1), n = b.dim(-1), batch = a.size() / (m * kk);
            boolean shared = b.rank() == 2;
            Tensor da = want[0] ? Tensor.zeros(a.shape()) : null, db = want[1] ? Tensor.zeros(b.shape()) : null;
            for (int e = 0; e < batch; e++) {
                int bo = shared ? 0 : e * kk * n;
                if (da != null) k.gemm(false, true, m, kk, n, 1, dy.data, e * m * n, n, b.data, bo, n, 0, da.data, e * m * kk, kk);
                if (db != null) k.gemm(true, false, kk, n, m, 1, a.data, e * m * kk, kk, dy.data, e * m * n, n,
                        shared && e > 0 ? 1 : 0, db.data, bo, n);
            }
            return new Tensor[] {da, db};
        }
    }

    /** Elementwise sum with broadcasting; the signal goes to both branches (summed over broadcast dims). */
    public record AddOp() implements Op {
        public String type() { return "Add"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor a = in[0], b = in[1];
            if (java.util.Arrays.equals(a.shape(), b.shape())) return new Step(one(Add.forward(k, a, b)), null);
            int[] shape = Broadcast.shape("Add", a.shape(), b.shape());
            int[] ia = Broadcast.index(shape, a.shape()), ib = Broadcast.index(shape, b.shape());
            Tensor y = Tensor.zeros(shape);
            for (int i = 0; i < y.data.length; i++) y.data[i] = a.data[ia[i]] + b.data[ib[i]];
            return new Step(one(y), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            Tensor dy = dOut[0];
            // dy itself to both inputs: Run never writes into a gradient an op returns, and knows one array may be two gradients
            if (java.util.Arrays.equals(in[0].shape(), in[1].shape())) return new Tensor[] {want[0] ? dy : null, want[1] ? dy : null};
            return new Tensor[] {want[0] ? Broadcast.reduce(dy, in[0].shape()) : null,
                    want[1] ? Broadcast.reduce(dy, in[1].shape()) : null};
        }
    }

    /**
     * A sum and the ReLU after it ({@code y = max(a + b, 0)}: ResNet's block outputs), fused by
     * {@link Graph#forwardTraining}: one pass ({@link Kernels#addRelu}) and one array instead of two; the
     * bits of {@link AddOp} then {@link ReluOp}. Backward: the ReLU's rule with its mask read from y
     * ({@code y > 0} exactly where {@code a + b > 0}, NaN included), then the signal to both inputs as
     * {@link AddOp} sends it.
     */
    public record AddRelu() implements Op {
        public String type() { return "Add+Relu"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor a = in[0], b = in[1];
            if (!java.util.Arrays.equals(a.shape(), b.shape())) {
                return new Step(one(Relu.forward(k, new AddOp().forward(k, in, training).out()[0])), null);
            }
            Tensor y = Tensor.empty(a.shape());
            k.addRelu(a.data, b.data, y.data);
            return new Step(one(y), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            Tensor dz = Relu.backward(k, rule, s.out()[0], dOut[0]);
            return new AddOp().backward(k, in, s, new Tensor[] {dz}, want, rule);
        }
    }

    /** Flatten to (d0*...*d_{axis-1}, rest). */
    public record Flatten(int axis) implements Op {
        public String type() { return "Flatten"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(Reshape.flatten(in[0], axis)), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(Reshape.backward(dOut[0], in[0].shape()));
        }
    }

    /**
     * Reshape to a fixed target: 0 copies the input's dim at that place, one -1 is inferred.
     * (The ONNX shape input is a constant, resolved by the importer.)
     */
    public record ReshapeOp(int[] shape) implements Op {
        public String type() { return "Reshape"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(Reshape.forward(in[0], target(in[0].shape()))), null);
        }

        /** The target for an input of shape {@code x}: each 0 replaced by x's dim at that place (-1 left to {@link Reshape}). */
        int[] target(int[] x) {
            int[] target = shape.clone();
            for (int i = 0; i < target.length; i++) {
                if (target[i] == 0) {
                    Shapes.check(i < x.length, "Reshape", "0 at position " + i + " but input " + Shapes.str(x) + " has rank " + x.length);
                    target[i] = x[i];
                }
            }
            return target;
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(Reshape.backward(dOut[0], in[0].shape()));
        }
    }

    /** Passes its input through (exports use it to alias merged initializers). */
    public record Identity() implements Op {
        public String type() { return "Identity"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(in[0]), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(dOut[0]);
        }
    }

    /** A constant value; no inputs. */
    public record Constant(Tensor value) implements Op {
        public String type() { return "Constant"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(value), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return new Tensor[0];
        }
    }

    /**
     * Inverted dropout in training (the pass's, or {@code trainingMode} fixed by the model), the
     * identity in inference. Outputs y and the keep-mask (1 where kept, 0 where dropped). The mask
     * of the i-th training forward is drawn from (seed, i), so a run with the same seed repeats.
     */
    public record DropoutOp(Dropout dropout, boolean trainingMode, java.util.concurrent.atomic.AtomicLong steps) implements Op {
        public DropoutOp(Dropout dropout, boolean trainingMode) {
            this(dropout, trainingMode, new java.util.concurrent.atomic.AtomicLong());
        }

        public String type() { return "Dropout"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            boolean train = training || trainingMode;
            Dropout.Result r = dropout.forward(in[0], train, train ? steps.getAndIncrement() : 0);
            Tensor keep = Tensor.zeros(in[0].shape());
            for (int i = 0; i < keep.data.length; i++) keep.data[i] = r.mask() == null || r.mask()[i] != 0 ? 1 : 0;
            return new Step(new Tensor[] {r.y(), keep}, r.mask());
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            return one(dropout.backward(dOut[0], (float[]) s.saved()));
        }
    }

    /** Local response normalization (AlexNet); see {@link Lrn}. */
    public record LrnOp(Lrn lrn) implements Op {
        public String type() { return "LRN"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(lrn.forward(in[0])), null);
        }

        /**
         * The true derivative under {@link Relu.Rule#GRADIENT}. Under {@link Relu.Rule#DECONVNET} and
         * {@link Relu.Rule#GUIDED} the signal passes straight through ({@code dx = dy}): Zeiler and Fergus's
         * deconvnet uses no contrast normalization on the way down, so LRN is left out of the projection path.
         */
        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            if (rule != Relu.Rule.GRADIENT) return one(dOut[0]);
            return one(lrn.backward(in[0], dOut[0]));
        }
    }

    /**
     * Softmax over {@code axis}. With {@code coerce2d} (ONNX before opset 13) the input is seen as
     * the 2-D matrix (d0*...*d_{axis-1}, d_axis*...*d_last) and each row is normalized.
     */
    public record SoftmaxOp(int axis, boolean coerce2d) implements Op {
        public String type() { return "Softmax"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor x = coerce2d ? Reshape.flatten(in[0], norm(axis, in[0])) : in[0];
            Tensor y = new Softmax(coerce2d ? 1 : axis).forward(x);
            return new Step(one(y.reshape(in[0].shape())), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            if (!coerce2d) return one(new Softmax(axis).backward(s.out()[0], dOut[0]));
            int ax = norm(axis, in[0]);
            Tensor dx = new Softmax(1).backward(Reshape.flatten(s.out()[0], ax), Reshape.flatten(dOut[0], ax));
            return one(dx.reshape(in[0].shape()));
        }
    }

    /** Log-softmax over {@code axis}; {@code coerce2d} as in {@link SoftmaxOp}. */
    public record LogSoftmaxOp(int axis, boolean coerce2d) implements Op {
        public String type() { return "LogSoftmax"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor x = coerce2d ? Reshape.flatten(in[0], norm(axis, in[0])) : in[0];
            Tensor y = new LogSoftmax(coerce2d ? 1 : axis).forward(x);
            return new Step(one(y.reshape(in[0].shape())), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            if (!coerce2d) return one(new LogSoftmax(axis).backward(s.out()[0], dOut[0]));
            int ax = norm(axis, in[0]);
            Tensor dx = new LogSoftmax(1).backward(Reshape.flatten(s.out()[0], ax), Reshape.flatten(dOut[0], ax));
            return one(dx.reshape(in[0].shape()));
        }
    }

    private static int norm(int axis, Tensor x) {
        return axis < 0 ? axis + x.rank() : axis;
    }

    public record ConcatOp(int axis) implements Op {
        public String type() { return "Concat"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            return new Step(one(new Concat(axis).forward(in)), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            int[][] shapes = new int[in.length][];
            for (int i = 0; i < in.length; i++) shapes[i] = in[i].shape();
            return new Concat(axis).backward(dOut[0], shapes);
        }
    }

    /**
     * Constant padding of an N-d tensor: {@code pads} = (begin_0..begin_{r-1}, end_0..end_{r-1}),
     * non-negative. The backward crops the padded gradient back to the input.
     */
    public record Pad(int[] pads, float value) implements Op {
        public String type() { return "Pad"; }

        public Step forward(Kernels k, Tensor[] in, boolean training) {
            Tensor x = in[0];
            int r = x.rank();
            Shapes.check(pads.length == 2 * r, "Pad", "pads " + Shapes.str(pads) + " need " + 2 * r + " values for input " + Shapes.str(x.shape()));
            int[] shape = x.shape();
            for (int i = 0; i < r; i++) {
                Shapes.check(pads[i] >= 0 && pads[i + r] >= 0, "Pad", "negative pads " + Shapes.str(pads) + " are not supported");
                shape[i] += pads[i] + pads[i + r];
            }
            Tensor y = Tensor.zeros(shape);
            java.util.Arrays.fill(y.data, value);
            int[] idx = inner(x.shape(), shape);
            for (int i = 0; i < idx.length; i++) y.data[idx[i]] = x.data[i];
            return new Step(one(y), null);
        }

        public Tensor[] backward(Kernels k, Tensor[] in, Step s, Tensor[] dOut, boolean[] want, Relu.Rule rule) {
            Tensor dx = Tensor.zeros(in[0].shape());
            int[] idx = inner(in[0].shape(), dOut[0].shape());
            for (int i = 0; i < idx.length; i++) dx.data[i] = dOut[0].data[idx[i]];
            Tensor[] d = new Tensor[in.length];
            d[0] = dx;
            return d;
        }

        /** For each flat index of the input, its flat index inside the padded output. */
        private int[] inner(int[] xs, int[] ys) {
            int r = xs.length, n = 1;
            for (int d : xs) n *= d;
            int[] idx = new int[n], pos = new int[r];
            for (int f = 0; f < n; f++) {
                int j = 0;
                for (int i = 0; i < r; i++) j = j * ys[i] + pos[i] + pads[i];
                idx[f] = j;
                for (int i = r - 1; i >= 0; i--) {
                    if (++pos[i] < xs[i]) break;
                    pos[i] = 0;
                }
            }
            return idx;
        }
    }
}
