package dev.convlens.nn;

import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.opencl.OpenClKernels;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One forward pass of a {@link Graph}: every value by name and what each node saved (the tape).
 *
 * <p>{@link #backward} walks the nodes in reverse and calls each op's hand-written backward. It
 * starts at any value with any upstream signal (a one-hot class score, one unit, a whole channel)
 * and computes only what leads to the values asked for. Where a value feeds several nodes (the
 * residual connection), the gradients arriving from each are summed.
 */
public final class Run {
    public final Graph graph;
    private final Kernels k;
    private final Map<String, Tensor> values;
    private final List<Op.Step> steps;
    private boolean released;
    /** The values the caller was given ({@link #value}): never given to a recycler, as the caller may still read them. */
    private final Set<String> handedOut = new HashSet<>();

    Run(Graph graph, Kernels k, Map<String, Tensor> values, List<Op.Step> steps) {
        this.graph = graph;
        this.k = k;
        this.values = values;
        this.steps = steps;
    }

    /** The value named {@code name} (an input, a parameter or any node's output). */
    public Tensor value(String name) {
        requireUnreleased();
        Tensor t = values.get(name);
        if (t == null) throw new IllegalArgumentException("Run: no value named '" + name + "'");
        handedOut.add(name);
        return t;
    }

    /** The first graph output. */
    public Tensor output() {
        return value(graph.outputs.get(0));
    }

    /**
     * Back-propagates {@code seed} (the gradient of some scalar with respect to {@code from}) and
     * returns the gradient for each name in {@code wrt} (inputs, parameters or intermediate values),
     * zero where the signal does not reach.
     *
     * <p>Each gradient the walk has used up (not asked for, not shared with a live gradient or value, not
     * the seed) goes to the {@link Recycler} in use on this thread, where later gradients of its length
     * are made ({@link Tensor#empty}); with none in use, a fresh one serves this walk alone. Not on
     * {@link OpenClKernels}.
     *
     * @param rule what ReLU does with the signal coming down ({@link Relu.Rule#GRADIENT} for true gradients)
     */
    public Map<String, Tensor> backward(String from, Tensor seed, Relu.Rule rule, Collection<String> wrt) {
        return backward(from, seed, rule, wrt, false);
    }

    /**
     * {@link #backward} that frees this run's memory as it goes, for a training step that needs
     * nothing else from the run: once the reverse walk has passed a node, every later node has sent
     * its gradient to the node's outputs and the node's own backward has read them, so the outputs
     * (unless in {@code wrt}) and what the node saved are dropped. The early layers' activations,
     * the largest in a CNN, then no longer share the heap with the later layers' ones while their
     * gradients are computed (PyTorch's autograd frees saved tensors the same way). The dropped
     * values' arrays go to the recycler in use as the used-up gradients do, except those of values the
     * caller was given by {@link #value} or {@link #output} (it may still read them), so the gradients of
     * the early layers are made in the activations of the layers after them. Afterwards the run is
     * spent: {@link #value} and the backward methods throw.
     */
    public Map<String, Tensor> backwardReleasing(String from, Tensor seed, Relu.Rule rule, Collection<String> wrt) {
        return backward(from, seed, rule, wrt, true);
    }

    private void requireUnreleased() {
        if (released) {
            throw new IllegalStateException("Run: its values were freed by backwardReleasing; keep what you need before calling it");
        }
    }

    private Map<String, Tensor> backward(String from, Tensor seed, Relu.Rule rule, Collection<String> wrt, boolean release) {
        Tensor start = value(from);
        Shapes.requireSameShape("backward", "value '" + from + "'", start, "seed", seed);
        // Values that depend on something in wrt: only their gradients are needed.
        if (k instanceof OpenClKernels cl) {
            Map<String, Tensor> onDevice = ClGraph.backward(this, cl, from, seed, rule, wrt);
            if (onDevice != null) return onDevice;
        }
        Set<String> needed = needed(graph, wrt);
        Set<String> keep = new HashSet<>(wrt);
        Map<String, Tensor> grads = new HashMap<>();
        grads.put(from, seed);
        // arrays never given back: the parameters', the feeds' and the seed's (OpenCL kernels: none given back)
        Set<float[]> pinned = Collections.newSetFromMap(new IdentityHashMap<>());
        pinned.add(seed.data);
        for (Tensor t : graph.params.values()) pinned.add(t.data);
        for (String in : graph.inputs) if (values.containsKey(in)) pinned.add(values.get(in).data);
        try (Recycler.Use u = k instanceof OpenClKernels ? () -> {} : Recycler.ensure()) {
            Recycler r = k instanceof OpenClKernels ? null : Recycler.current();
            List<Tensor> dead = new ArrayList<>();
            for (int i = graph.nodes.size() - 1; i >= 0; i--) {
                backwardNode(i, rule, needed, keep, grads, dead);
                if (release) {
                    for (String o : graph.nodes.get(i).outputs()) {
                        if (keep.contains(o)) continue;
                        Tensor t = values.remove(o);
                        if (t != null && !handedOut.contains(o)) dead.add(t);
                        else if (t != null) pinned.add(t.data);
                    }
                    steps.set(i, null);
                }
                if (r != null) for (Tensor t : dead) if (unused(t.data, pinned, grads)) r.give(t.data);
                dead.clear();
            }
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (String name : wrt) {                          // wrt values are kept: the zeros take their shapes
            Tensor g = grads.get(name);
            result.put(name, g != null ? g : Tensor.zeros(value(name).shape()));
        }
        released = release;
        return result;
    }

    /** Whether no pinned array, live value or pending gradient is {@code a} (an op may pass a tensor through, or return one for two inputs). */
    private boolean unused(float[] a, Set<float[]> pinned, Map<String, Tensor> grads) {
        if (pinned.contains(a)) return false;
        for (Tensor t : values.values()) if (t.data == a) return false;
        for (Tensor t : grads.values()) if (t.data == a) return false;
        return true;
    }

    /**
     * Node i's share of the reverse walk: its backward, when its outputs have gradients and it leads to
     * something needed. The gradients it used up (not asked for) go to {@code dead}.
     */
    private void backwardNode(int i, Relu.Rule rule, Set<String> needed, Set<String> keep, Map<String, Tensor> grads,
                              List<Tensor> dead) {
        Node n = graph.nodes.get(i);
        Tensor[] dOut = new Tensor[n.outputs().size()];
        boolean any = false;
        for (int o = 0; o < dOut.length; o++) {
            // Every consumer of this output comes later in the graph and has already sent its
            // share: the gradient is complete, and is dropped once used unless asked for.
            String name = n.outputs().get(o);
            dOut[o] = keep.contains(name) ? grads.get(name) : grads.remove(name);
            if (dOut[o] != null && !keep.contains(name)) dead.add(dOut[o]);
            any |= dOut[o] != null;
        }
        if (!any) return;
        boolean[] want = new boolean[n.inputs().size()];
        Tensor[] in = new Tensor[want.length];
        boolean wanted = false;
        for (int j = 0; j < want.length; j++) {
            String name = n.inputs().get(j);
            in[j] = name.isEmpty() ? null : values.get(name);
            want[j] = !name.isEmpty() && needed.contains(name);
            wanted |= want[j];
        }
        if (!wanted) return;
        Tensor[] dIn;
        try {
            dIn = n.op().backward(k, in, steps.get(i), dOut, want, rule);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("node '" + n.name() + "' (" + n.op().type() + ") backward: " + e.getMessage(), e);
        }
        for (int j = 0; j < want.length; j++) {
            if (want[j] && dIn[j] != null) accumulate(k, grads, n.inputs().get(j), dIn[j], dead);
        }
    }

    /** The values that depend on something in {@code wrt} (wrt included): only their gradients are needed. */
    static Set<String> needed(Graph graph, Collection<String> wrt) {
        Set<String> needed = new HashSet<>(wrt);
        for (Node n : graph.nodes) {
            for (String in : n.inputs()) {
                if (needed.contains(in)) {
                    needed.addAll(n.outputs());
                    break;
                }
            }
        }
        return needed;
    }

    /** What node {@code i} saved in the forward pass. */
    Op.Step step(int i) {
        return steps.get(i);
    }

    /** grads[name] += g, never writing into a tensor that an op may still hold; the two summed go to {@code dead}. */
    private static void accumulate(Kernels k, Map<String, Tensor> grads, String name, Tensor g, List<Tensor> dead) {
        Tensor old = grads.get(name);
        if (old == null) {
            grads.put(name, g);
            return;
        }
        Tensor sum = Tensor.empty(old.shape());
        k.add(old.data, g.data, sum.data);
        grads.put(name, sum);
        dead.add(old);
        dead.add(g);
    }
}
