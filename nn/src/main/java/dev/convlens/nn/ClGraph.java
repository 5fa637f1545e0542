package dev.convlens.nn;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.PoolGeom;
import dev.convlens.tensor.opencl.ClPass;
import dev.convlens.tensor.opencl.ClPass.Slot;
import dev.convlens.tensor.opencl.OpenClKernels;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.ops.Reshape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph's forward pass (inference or training), and a backward pass from any value to inputs,
 * intermediate values or parameters, each as <em>one</em> {@link ClPass}: the parameters and the input go to the device once, every
 * node's launches run there reading the values earlier launches left in the device arena, and the
 * values come back once at the end. Between the two passes the forward values live in the
 * {@link Run} on the host (as on every backend); the backward pass uploads the few it reads (the
 * ReLU masks, the switches, the weights) once.
 *
 * <p>{@link Graph#forward} and {@link Run#backward} come here when their kernels are
 * {@link OpenClKernels}. Node types with device kernels: Conv, the fused conv of {@link Graph#infer}
 * (batch norm folded, residual, ReLU; no parameter gradients, as on the host), Relu, MaxPool,
 * GlobalAveragePool, BatchNorm (batch statistics in training: the running statistics are updated
 * on the host from the batch's mean and variance after the pass), Gemm (bias a row vector), Add
 * of equal shapes, Flatten, Reshape, Identity, Dropout (its training mask made on the host, as
 * {@link dev.convlens.tensor.ops.Dropout} makes it, and applied on the device), Constant. A graph
 * with any other node, or one of these in a form without a device kernel (a broadcasting Add),
 * runs op by op instead: same results, each op its own transfer (the methods return
 * null to say so).
 */
final class ClGraph {
    private ClGraph() {}

    /** Raised while recording when a node has no device form; the caller then runs op by op. */
    private static final class Unsupported extends RuntimeException {
        Unsupported(String why) {
            super(why, null, false, false);
        }
    }

    /** A value in the arena: its slot and its shape. */
    private record Val(Slot slot, int[] shape) {
        int size() {
            return slot.len();
        }
    }

    /** What one recording pass knows: the arena's values by name, and the host values. */
    private static final class Recorder {
        final ClPass pass = new ClPass();
        final Map<String, Val> dev = new HashMap<>();
        final Map<String, Tensor> host;
        /** Values computed in this pass: their host copies are filled only after it ran. */
        final Set<String> computed = new HashSet<>();

        Recorder(Map<String, Tensor> host) {
            this.host = host;
        }

        /** The value on the device, uploaded from the host on first use. */
        Val in(String name) {
            Val v = dev.get(name);
            if (v == null) {
                Tensor t = host.get(name);
                if (t == null) throw new Unsupported("value '" + name + "' is absent");
                v = new Val(pass.upload(t.data), t.shape());
                dev.put(name, v);
            }
            return v;
        }

        /** The shape of a value, from the host; nothing is uploaded. */
        int[] shape(String name) {
            Val v = dev.get(name);
            if (v != null) return v.shape();
            Tensor t = host.get(name);
            if (t == null) throw new Unsupported("value '" + name + "' is absent");
            return t.shape();
        }

        /** An optional input: null for an absent one (empty name). */
        Val opt(List<String> names, int i) {
            return i < names.size() && !names.get(i).isEmpty() ? in(names.get(i)) : null;
        }

        /** A host value read by the recording itself (a batch norm's statistics): must not be computed in this pass. */
        Tensor hostValue(String name) {
            if (computed.contains(name) || !host.containsKey(name)) throw new Unsupported("'" + name + "' is computed on the device");
            return host.get(name);
        }

        Slot upload(float[] a) {
            return a == null ? null : pass.upload(a);
        }
    }

    // ---------------------------------------------------------------- forward

    /** The forward as one pass; null when some node has no device form (run op by op). */
    static Run forward(Graph g, OpenClKernels cl, Map<String, Tensor> feeds, boolean training) {
        Map<String, Tensor> values = new LinkedHashMap<>(g.params);
        for (String in : g.inputs) {
            Tensor t = feeds.get(in);
            if (t == null) return null; // the op-by-op path reports it
            values.put(in, t);
        }
        Recorder r = new Recorder(values);
        List<Op.Step> steps = new ArrayList<>(g.nodes.size());
        List<Runnable> after = new ArrayList<>();
        try {
            for (Node n : g.nodes) steps.add(record(r, n, training, after));
        } catch (Unsupported | IllegalArgumentException e) {
            return null; // the op-by-op path runs it, or names the node and the shape at fault
        }
        cl.run(r.pass);
        for (Runnable a : after) a.run();
        return new Run(g, cl, values, steps);
    }

    /** A node's output of {@code shape}: a slot, and its host tensor that receives the slot after the pass. */
    private static Val output(Recorder r, Node n, int o, int[] shape, Tensor[] out) {
        return register(r, n, o, new Val(r.pass.alloc(count(shape)), shape), out);
    }

    /** The same device memory under another name and shape (reshapes, identities). */
    private static Op.Step alias(Recorder r, Node n, Val x, int[] shape) {
        Tensor[] out = new Tensor[1];
        register(r, n, 0, new Val(x.slot().view(x.size()), shape), out);
        return new Op.Step(out, null);
    }

    /** Output o of node n is v: named on the device, and a host tensor that receives it after the pass. */
    private static Val register(Recorder r, Node n, int o, Val v, Tensor[] out) {
        Tensor t = Tensor.zeros(v.shape());
        r.pass.download(v.slot(), t.data);
        out[o] = t;
        String name = n.outputs().get(o);
        if (!name.isEmpty()) {
            r.dev.put(name, v);
            r.host.put(name, t);
            r.computed.add(name);
        }
        return v;
    }

    private static int count(int[] shape) {
        long c = 1;
        for (int d : shape) c *= d;
        return Math.toIntExact(c);
    }

    /** Records one node; returns its step (outputs filled after the pass, and what its backward needs). */
    private static Op.Step record(Recorder r, Node n, boolean training, List<Runnable> after) {
        Op op = n.op();
        List<String> ins = n.inputs();
        for (int o = 1; o < n.outputs().size(); o++) {
            if (!n.outputs().get(o).isEmpty() && !(op instanceof Layers.MaxPool)) {
                throw new Unsupported(op.type() + " with a second output");
            }
        }
        Tensor[] out = new Tensor[op instanceof Layers.MaxPool ? 2 : Math.max(1, n.outputs().size())];
        if (op instanceof Layers.Conv c) {
            Val x = r.in(ins.get(0)), w = r.in(ins.get(1)), b = r.opt(ins, 2);
            ConvGeom g = c.conv().geometry(x.shape(), w.shape());
            if (b != null && b.size() != g.k()) throw new Unsupported("bias size");
            Val y = output(r, n, 0, new int[] {g.n(), g.k(), g.oh(), g.ow()}, out);
            r.pass.conv(g, x.slot(), w.slot(), b == null ? null : b.slot(), null, null, null, false, y.slot());
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.FusedConv f) {
            Val x = r.in(ins.get(0)), w = r.in(ins.get(1)), b = r.opt(ins, 2);
            ConvGeom g = f.conv().geometry(x.shape(), w.shape());
            if (b != null && b.size() != g.k()) throw new Unsupported("bias size");
            float[] scale = null, shift = null;
            if (f.bn() != null) {
                BatchNorm2d.Affine a = f.bn().affine(g.k(), r.hostValue(ins.get(3)), r.hostValue(ins.get(4)),
                        r.hostValue(ins.get(5)), r.hostValue(ins.get(6)));
                scale = a.scale();
                shift = a.shift();
            }
            int[] shape = {g.n(), g.k(), g.oh(), g.ow()};
            Val res = f.residual() ? r.in(ins.get(ins.size() - 1)) : null;
            if (res != null && !Arrays.equals(res.shape(), shape)) throw new Unsupported("broadcast residual");
            Val y = output(r, n, 0, shape, out);
            r.pass.conv(g, x.slot(), w.slot(), b == null ? null : b.slot(), r.upload(scale), r.upload(shift),
                    res == null ? null : res.slot(), f.relu(), y.slot());
            return new Op.Step(out, scale);
        }
        if (op instanceof Layers.ReluOp) {
            Val x = r.in(ins.get(0));
            r.pass.relu(x.slot(), output(r, n, 0, x.shape(), out).slot());
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.MaxPool mp) {
            Val x = r.in(ins.get(0));
            PoolGeom g = mp.pool().geometry(x.shape());
            Val y = output(r, n, 0, new int[] {g.n(), g.c(), g.oh(), g.ow()}, out);
            int[] switches = new int[y.size()];
            Slot sw = r.pass.allocInts(switches.length);
            r.pass.maxPool(g, x.slot(), y.slot(), sw);
            r.pass.downloadInts(sw, switches);
            Tensor idx = Tensor.zeros(y.shape());
            out[1] = idx; // ONNX Indices, as Layers.MaxPool gives them
            if (n.outputs().size() > 1 && !n.outputs().get(1).isEmpty()) r.host.put(n.outputs().get(1), idx);
            after.add(() -> {
                for (int i = 0; i < switches.length; i++) idx.data[i] = switches[i];
            });
            return new Op.Step(out, switches);
        }
        if (op instanceof Layers.GlobalAvg) {
            Val x = r.in(ins.get(0));
            if (x.shape().length != 4) throw new Unsupported("rank");
            int[] s = x.shape();
            r.pass.globalAvg(s[0] * s[1], s[2] * s[3], x.slot(), output(r, n, 0, new int[] {s[0], s[1], 1, 1}, out).slot());
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.BatchNorm bn) {
            Val x = r.in(ins.get(0));
            int[] s = x.shape();
            if (s.length < 2) throw new Unsupported("rank");
            int c = s[1], hw = x.size() / (s[0] * c);
            if (training || bn.trainingMode()) return batchNormTrain(r, n, bn.bn(), x, c, hw, after);
            BatchNorm2d.Affine a = bn.bn().affine(c, r.hostValue(ins.get(1)), r.hostValue(ins.get(2)),
                    r.hostValue(ins.get(3)), r.hostValue(ins.get(4)));
            Val y = output(r, n, 0, s, out);
            r.pass.scaleChannels(c, hw, x.slot(), r.upload(a.scale()), y.slot());
            r.pass.epilogue(c, hw, y.size(), y.slot(), null, null, r.upload(a.shift()), null, false);
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.Gemm gm) {
            Val a = r.in(ins.get(0)), b = r.in(ins.get(1));
            if (a.shape().length != 2 || b.shape().length != 2) throw new Unsupported("rank");
            int m = gm.transA() ? a.shape()[1] : a.shape()[0], kk = gm.transA() ? a.shape()[0] : a.shape()[1];
            int nn = gm.transB() ? b.shape()[0] : b.shape()[1], kb = gm.transB() ? b.shape()[1] : b.shape()[0];
            if (kk != kb) throw new Unsupported("inner sizes");
            float[] bias = null;
            if (ins.size() > 2 && !ins.get(2).isEmpty() && gm.beta() != 0) {
                Tensor c = r.hostValue(ins.get(2));
                if (c.size() != nn || c.rank() == 0 || c.shape()[c.rank() - 1] != nn) throw new Unsupported("C is not a row vector");
                bias = new float[nn];
                for (int j = 0; j < nn; j++) bias[j] = gm.beta() * c.data[j];
            }
            Val y = output(r, n, 0, new int[] {m, nn}, out);
            r.pass.gemm(gm.transA(), gm.transB(), m, nn, kk, gm.alpha(), a.slot(), 0, a.shape()[1], b.slot(), 0,
                    b.shape()[1], 0f, y.slot(), 0, nn);
            if (bias != null) r.pass.epilogue(nn, 1, m * nn, y.slot(), r.upload(bias), null, null, null, false);
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.AddOp) {
            Val a = r.in(ins.get(0)), b = r.in(ins.get(1));
            if (!Arrays.equals(a.shape(), b.shape())) throw new Unsupported("broadcast");
            r.pass.add(a.slot(), b.slot(), output(r, n, 0, a.shape(), out).slot());
            return new Op.Step(out, null);
        }
        if (op instanceof Layers.Flatten fl) {
            Val x = r.in(ins.get(0));
            return alias(r, n, x, Reshape.flattenShape(x.shape(), fl.axis()));
        }
        if (op instanceof Layers.ReshapeOp rs) {
            Val x = r.in(ins.get(0));
            return alias(r, n, x, Reshape.shape(x.shape(), rs.target(x.shape())));
        }
        if (op instanceof Layers.DropoutOp d && (training || d.trainingMode())) {
            // the mask of the op's next step, made on the host as Dropout makes it; the step counts once the pass ran
            Val x = r.in(ins.get(0));
            float[] mask = d.dropout().mask(x.size(), d.steps().get());
            r.pass.mul(x.slot(), r.upload(mask), output(r, n, 0, x.shape(), out).slot());
            after.add(d.steps()::incrementAndGet);
            return new Op.Step(out, mask);
        }
        if (op instanceof Layers.Identity || op instanceof Layers.DropoutOp) {
            Val x = r.in(ins.get(0));
            return alias(r, n, x, x.shape());
        }
        if (op instanceof Layers.Constant k) {
            out[0] = k.value();
            if (!n.outputs().get(0).isEmpty()) r.host.put(n.outputs().get(0), k.value());
            return new Op.Step(out, null);
        }
        throw new Unsupported(op.type());
    }

    /**
     * Batch norm with the batch's statistics: they are computed into the pack on the device and
     * fetched with it; after the pass the running statistics are updated on the host
     * ({@link BatchNorm2d#updateRunning}) and the step saves mean and invStd for the backward.
     */
    private static Op.Step batchNormTrain(Recorder r, Node n, BatchNorm2d bn, Val x, int c, int hw, List<Runnable> after) {
        List<String> ins = n.inputs();
        long m = (long) x.shape()[0] * hw;
        if (m <= 1) throw new Unsupported("one value per channel"); // the op-by-op path names the fault
        Tensor gamma = r.hostValue(ins.get(1)), beta = r.hostValue(ins.get(2));
        Tensor runMean = ins.get(3).isEmpty() ? null : r.hostValue(ins.get(3));
        Tensor runVar = ins.get(4).isEmpty() ? null : r.hostValue(ins.get(4));
        if (gamma.size() != c || beta.size() != c) throw new Unsupported("channel vectors");
        Tensor[] out = new Tensor[1];
        Val y = output(r, n, 0, x.shape(), out);
        Slot pack = r.upload(OpenClKernels.pack(c, gamma.data, beta.data));
        r.pass.batchNormTrain(x.shape()[0], c, hw, bn.eps(), x.slot(), pack, y.slot());
        float[] mean = new float[c], invStd = new float[c], var = new float[c];
        r.pass.download(ClPass.packMean(pack, c), mean);
        r.pass.download(ClPass.packInvStd(pack, c), invStd);
        r.pass.download(ClPass.packVar(pack, c), var);
        if (runMean != null && runVar != null) after.add(() -> bn.updateRunning(runMean, runVar, mean, var, m));
        return new Op.Step(out, new BatchNorm2d.TrainResult(out[0], mean, invStd));
    }

    // ---------------------------------------------------------------- backward

    /**
     * The backward of {@link Run#backward} as one pass, for gradients with respect to inputs,
     * intermediate values and parameters; null when some node on the way has no device form for
     * what is asked (run op by op).
     */
    static Map<String, Tensor> backward(Run run, OpenClKernels cl, String from, Tensor seed, Relu.Rule rule,
                                        Collection<String> wrt) {
        Graph g = run.graph;
        Set<String> needed = Run.needed(g, wrt);
        Map<String, Tensor> host = new HashMap<>();
        for (Node n : g.nodes) {
            for (String in : n.inputs()) if (!in.isEmpty()) host.put(in, run.value(in));
            for (String o : n.outputs()) if (!o.isEmpty()) host.put(o, run.value(o));
        }
        Recorder r = new Recorder(host);
        Map<String, Val> grads = new HashMap<>();
        grads.put(from, new Val(r.pass.upload(seed.data), seed.shape()));
        boolean fwdMask = rule != Relu.Rule.DECONVNET, sigMask = rule != Relu.Rule.GRADIENT;
        try {
            for (int i = g.nodes.size() - 1; i >= 0; i--) {
                Node n = g.nodes.get(i);
                for (int o = 1; o < n.outputs().size(); o++) {
                    if (grads.containsKey(n.outputs().get(o))) throw new Unsupported("gradient of a second output");
                }
                Val dy = grads.get(n.outputs().get(0));
                if (dy == null) continue;
                List<String> ins = n.inputs();
                boolean[] want = new boolean[ins.size()];
                boolean any = false;
                for (int j = 0; j < want.length; j++) {
                    want[j] = !ins.get(j).isEmpty() && needed.contains(ins.get(j));
                    any |= want[j];
                }
                if (!any) continue;
                Val[] d = backwardNode(r, n, run.step(i), dy, want, fwdMask, sigMask);
                for (int j = 0; j < want.length; j++) {
                    if (!want[j] || d[j] == null) continue;
                    Val old = grads.get(ins.get(j));
                    if (old == null) {
                        grads.put(ins.get(j), d[j]);
                    } else {
                        Val sum = new Val(r.pass.alloc(old.size()), old.shape());
                        r.pass.add(old.slot(), d[j].slot(), sum.slot());
                        grads.put(ins.get(j), sum);
                    }
                }
            }
        } catch (Unsupported e) {
            return null;
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (String name : wrt) {
            Tensor t = Tensor.zeros(run.value(name).shape());
            Val v = grads.get(name);
            if (v != null) r.pass.download(v.slot(), t.data);
            result.put(name, t);
        }
        cl.run(r.pass);
        return result;
    }

    /** The input gradients of one node (null where not wanted), recorded. */
    private static Val[] backwardNode(Recorder r, Node n, Op.Step step, Val dy, boolean[] want, boolean fwdMask,
                                      boolean sigMask) {
        Op op = n.op();
        List<String> ins = n.inputs();
        Val[] d = new Val[ins.size()];
        if (op instanceof Layers.Conv c) {
            int[] xs = r.shape(ins.get(0)), ws = r.shape(ins.get(1));
            ConvGeom g = c.conv().geometry(xs, ws);
            if (want[0]) d[0] = convData(r, g, dy, r.in(ins.get(1)), xs);
            boolean wantDb = want.length > 2 && want[2];
            if (want[1] || wantDb) {               // x is read only for dw
                if (want[1]) d[1] = new Val(r.pass.alloc(count(ws)), ws);
                if (wantDb) d[2] = new Val(r.pass.alloc(g.k()), r.shape(ins.get(2)));
                r.pass.convBackwardWeights(g, want[1] ? r.in(ins.get(0)).slot() : null, dy.slot(),
                        want[1] ? d[1].slot() : null, wantDb ? d[2].slot() : null);
            }
            return d;
        }
        if (op instanceof Layers.FusedConv f) {
            int last = f.residual() ? ins.size() - 1 : ins.size();
            for (int j = 1; j < last; j++) if (want[j]) throw new Unsupported("parameter gradient");
            Val dz = dy;
            if (f.relu()) {
                Val y = r.in(n.outputs().get(0));
                dz = new Val(r.pass.alloc(dy.size()), dy.shape());
                r.pass.reluBackward(y.slot(), dy.slot(), dz.slot(), fwdMask, sigMask);
            }
            if (f.residual() && want[last]) {
                if (!Arrays.equals(r.shape(ins.get(last)), dz.shape())) throw new Unsupported("broadcast residual");
                d[last] = dz;
            }
            if (!want[0]) return d;
            float[] scale = (float[]) step.saved();
            if (scale != null) {
                Val scaled = new Val(r.pass.alloc(dz.size()), dz.shape());
                r.pass.scaleChannels(scale.length, dz.size() / (dz.shape()[0] * scale.length), dz.slot(), r.upload(scale), scaled.slot());
                dz = scaled;
            }
            int[] xs = r.shape(ins.get(0));
            Val w = r.in(ins.get(1));
            d[0] = convData(r, f.conv().geometry(xs, w.shape()), dz, w, xs);
            return d;
        }
        if (op instanceof Layers.ReluOp) {
            Val x = r.in(ins.get(0));
            d[0] = new Val(r.pass.alloc(dy.size()), x.shape());
            r.pass.reluBackward(x.slot(), dy.slot(), d[0].slot(), fwdMask, sigMask);
            return d;
        }
        if (op instanceof Layers.MaxPool mp) {
            int[] xs = r.host.get(ins.get(0)).shape();
            PoolGeom g = mp.pool().geometry(xs);
            int[] switches = (int[]) step.saved();
            if (!OpenClKernels.switchesInsideWindows(g, switches)) throw new Unsupported("switches outside their windows");
            d[0] = new Val(r.pass.alloc(r.host.get(ins.get(0)).size()), xs);
            r.pass.maxPoolBackward(g, dy.slot(), r.pass.uploadInts(switches), d[0].slot());
            return d;
        }
        if (op instanceof Layers.GlobalAvg) {
            int[] xs = r.host.get(ins.get(0)).shape();
            d[0] = new Val(r.pass.alloc(r.host.get(ins.get(0)).size()), xs);
            r.pass.globalAvgBackward(xs[0] * xs[1], xs[2] * xs[3], dy.slot(), d[0].slot());
            return d;
        }
        if (op instanceof Layers.BatchNorm bn) {
            // the running statistics get no gradient (null: zero), as on the host; x is read only by the sums
            int[] s = r.shape(ins.get(0));
            int nb = s[0], c = s[1], hw = dy.size() / (nb * c);
            Tensor gamma = r.host.get(ins.get(1));
            Slot pack;
            if (step.saved() instanceof BatchNorm2d.TrainResult tr) {        // batch statistics
                pack = r.upload(OpenClKernels.packStats(c, gamma == null ? null : gamma.data, tr.mean(), tr.invStd()));
                if (want[0]) d[0] = new Val(r.pass.alloc(dy.size()), s);
                r.pass.batchNormTrainBackward(nb, c, hw, r.in(ins.get(0)).slot(), dy.slot(), pack, want[0] ? d[0].slot() : null);
            } else {                                                           // the running statistics: an affine map
                if (step.saved() != null) throw new Unsupported("saved " + step.saved());
                Tensor mean = r.host.get(ins.get(3)), var = r.host.get(ins.get(4));
                if (want[0]) {
                    BatchNorm2d.Affine a = bn.bn().affine(c, gamma, r.host.get(ins.get(2)), mean, var);
                    d[0] = new Val(r.pass.alloc(dy.size()), s);
                    r.pass.scaleChannels(c, hw, dy.slot(), r.upload(a.scale()), d[0].slot());
                }
                if (!want[1] && !(want.length > 2 && want[2])) return d;
                pack = r.upload(OpenClKernels.packFixed(c, bn.bn().eps(), gamma == null ? null : gamma.data, null,
                        mean.data, var.data));
                r.pass.batchNormTrainBackward(nb, c, hw, r.in(ins.get(0)).slot(), dy.slot(), pack, null);
            }
            if (want[1]) d[1] = new Val(ClPass.packDgamma(pack, c), gamma.shape());
            if (want.length > 2 && want[2]) d[2] = new Val(ClPass.packDbeta(pack, c), r.host.get(ins.get(2)).shape());
            return d;
        }
        if (op instanceof Layers.Gemm gm) {
            int[] as = r.shape(ins.get(0)), bs = r.shape(ins.get(1));
            int m = dy.shape()[0], nn = dy.shape()[1], kk = gm.transA() ? as[0] : as[1];
            if (want.length > 2 && want[2]) {    // dC = beta dY summed over the rows C is broadcast along
                Tensor c = r.host.get(ins.get(2));
                if (gm.beta() != 1 || c.size() != nn) throw new Unsupported("C not a row vector, or beta != 1");
                d[2] = new Val(r.pass.alloc(nn), c.shape());
                r.pass.channelSums(m, nn, 1, dy.slot(), d[2].slot());
            }
            if (want[1]) {                       // dB' (kk,n) = alpha A'ᵀ dY; stored transposed when transB
                Val a = r.in(ins.get(0));
                d[1] = new Val(r.pass.alloc(count(bs)), bs);
                if (!gm.transB()) {
                    r.pass.gemm(!gm.transA(), false, kk, nn, m, gm.alpha(), a.slot(), 0, a.shape()[1], dy.slot(), 0, nn,
                            0f, d[1].slot(), 0, nn);
                } else {
                    r.pass.gemm(true, gm.transA(), nn, kk, m, gm.alpha(), dy.slot(), 0, nn, a.slot(), 0, a.shape()[1],
                            0f, d[1].slot(), 0, kk);
                }
            }
            if (!want[0]) return d;
            Val b = r.in(ins.get(1));
            d[0] = new Val(r.pass.alloc(count(as)), as);
            // dA' (m,kk) = alpha dY (m,n) B'ᵀ; stored transposed when transA (as Layers.Gemm)
            if (!gm.transA()) {
                r.pass.gemm(false, !gm.transB(), m, kk, nn, gm.alpha(), dy.slot(), 0, nn, b.slot(), 0, b.shape()[1], 0f,
                        d[0].slot(), 0, kk);
            } else {
                r.pass.gemm(!gm.transB(), true, kk, m, nn, gm.alpha(), b.slot(), 0, b.shape()[1], dy.slot(), 0, nn, 0f,
                        d[0].slot(), 0, m);
            }
            return d;
        }
        if (op instanceof Layers.AddOp) {
            int[] a = r.host.get(ins.get(0)).shape(), b = r.host.get(ins.get(1)).shape();
            if (!Arrays.equals(a, b)) throw new Unsupported("broadcast");
            d[0] = dy;
            d[1] = dy;
            return d;
        }
        if (op instanceof Layers.DropoutOp && step.saved() instanceof float[] mask) {   // dx = dy * mask
            d[0] = new Val(r.pass.alloc(dy.size()), dy.shape());
            r.pass.mul(dy.slot(), r.upload(mask), d[0].slot());
            return d;
        }
        if (op instanceof Layers.Flatten || op instanceof Layers.ReshapeOp || op instanceof Layers.Identity
                || op instanceof Layers.DropoutOp) {
            int[] xs = r.host.get(ins.get(0)).shape();
            d[0] = new Val(dy.slot(), xs);
            return d;
        }
        throw new Unsupported(op.type());
    }

    /** dx of a convolution (the transposed convolution of dz). */
    private static Val convData(Recorder r, ConvGeom g, Val dz, Val w, int[] xShape) {
        Val dx = new Val(r.pass.alloc(g.n() * g.c() * g.h() * g.w()), xShape);
        r.pass.convBackwardData(g, dz.slot(), w.slot(), dx.slot());
        return dx;
    }
}
