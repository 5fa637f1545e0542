package dev.convlens.nn;

import dev.convlens.tensor.Recycler;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.opencl.OpenClKernels;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A network as a DAG of {@link Node}s in the shape of an ONNX graph: nodes in topological
 * order, named values, and the parameters (ONNX initializers) by name.
 *
 * <p>{@link #forward} runs the nodes in order and returns a {@link Run}, which holds every value
 * and what each node saved, so that {@link Run#backward} can start at any value with any upstream
 * signal.
 *
 * <p><b>Thread safety.</b> A loaded graph may be shared across threads for inference:
 * {@code forward(k, feeds, false)} only reads the nodes and the parameters, and each call keeps its
 * values in its own {@link Run}, so concurrent calls on different inputs give, bit for bit, the results
 * of running them one after another ({@code GraphConcurrencyTest}, 4 threads). The {@link Kernels}
 * may be one per thread ({@code Backend.select(...)} each) or shared: {@code ReferenceKernels} is
 * stateless and a {@code SimdKernels} instance serializes its calls (so sharing one costs
 * parallelism, not correctness). {@link Run#backward} also only reads the graph and writes into
 * its own maps (the concurrency test covers {@code forward}). Not thread-safe: training-mode {@code forward} (batch-norm running statistics are
 * updated in place), optimizer steps and anything else that writes {@link #params} or
 * {@link #frozen}, while another thread uses the graph.
 *
 * <p>The constructor checks the structure: every node reads only values defined before it, so a
 * cycle, a node reading its own output, or a value no one produces is refused with the node's name.
 */
public final class Graph {
    public final List<Node> nodes;
    /** Parameters (initializers) by name; the tensors are updated in place by training. */
    public final Map<String, Tensor> params;
    /** Names of the values fed from outside. */
    public final List<String> inputs;
    /** Names of the graph's results. */
    public final List<String> outputs;
    /** Names of parameters that training leaves unchanged (transfer learning); see {@link #freezePrefix}. */
    public final Set<String> frozen = ConcurrentHashMap.newKeySet();

    /** Checks that every node reads only values defined before it (graph inputs, params or earlier outputs). */
    public Graph(List<Node> nodes, Map<String, Tensor> params, List<String> inputs, List<String> outputs) {
        this.nodes = List.copyOf(nodes);
        this.params = Collections.synchronizedMap(new LinkedHashMap<>(params));
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        Set<String> defined = new HashSet<>(params.keySet());
        defined.addAll(inputs);
        for (Node n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    String why = "which no earlier node, input or initializer defines";
                    if (n.outputs().contains(in)) {
                        why = "its own output (a cycle)";
                    } else {
                        for (Node later : nodes) {
                            if (later.outputs().contains(in)) {
                                why = "which node '" + later.name() + "' (" + later.op().type() + ") computes later "
                                        + "(a cycle, or nodes out of topological order)";
                                break;
                            }
                        }
                    }
                    throw new IllegalArgumentException("Graph: node '" + n.name() + "' (" + n.op().type()
                            + ") reads '" + in + "', " + why);
                }
            }
            defined.addAll(n.outputs());
        }
        for (String out : outputs) {
            if (!defined.contains(out)) throw new IllegalArgumentException("Graph: output '" + out + "' is never computed");
        }
    }

    /**
     * Freezes every parameter whose name starts with {@code prefix} (e.g. "layer1." or "features.")
     * and returns how many it froze; "" freezes all.
     */
    public int freezePrefix(String prefix) {
        int n = 0;
        synchronized (params) {
            for (String p : params.keySet()) {
                if (p.startsWith(prefix)) {
                    frozen.add(p);
                    n++;
                }
            }
        }
        return n;
    }

    /** The parameter names that are not frozen, in parameter order. */
    public List<String> trainable() {
        List<String> names = new ArrayList<>();
        synchronized (params) {
            for (String p : params.keySet()) if (!frozen.contains(p)) names.add(p);
        }
        return names;
    }

    /** The node that computes {@code value}, or null for inputs and parameters. */
    public Node producer(String value) {
        for (Node n : nodes) if (n.outputs().contains(value)) return n;
        return null;
    }

    /**
     * Inference that computes only the graph outputs and the values named in {@code keep}, faster
     * than {@code forward(k, feeds, false)}: a convolution followed by an inference batch norm, a
     * residual sum and/or a ReLU runs as one {@link Layers.FusedConv} (the batch norm folded into the
     * convolution's epilogue, the sum and the ReLU applied there too) wherever the intermediate
     * values of the chain are not in {@code keep}, not graph outputs and read by nothing else. The returned run's values are those of the fused graph:
     * asking it for a value that was folded away fails with the value's name; every other value
     * agrees with {@link #forward} to float rounding (the folded map is applied in another order).
     * {@link Run#backward} works on it for gradients with respect to the inputs and the kept values
     * (saliency, deconvnet, guided backprop), not for parameter gradients.
     *
     * <p>The fused node list depends only on the structure and {@code keep}, so it is cached per
     * {@code keep}; the folded scale and shift are recomputed from the parameters on every call, so
     * parameters changed in place are always seen.
     */
    public Run infer(Kernels k, Map<String, Tensor> feeds, Collection<String> keep) {
        Set<String> kept = Set.copyOf(keep);
        List<Node> plan = plans.computeIfAbsent(kept, this::fuse);
        return new Graph(plan, params, inputs, outputs).forward(k, feeds, false);
    }

    /**
     * {@link #forward forward(k, feeds, true)} with each batch norm whose output only a ReLU reads
     * (not in {@code keep}, not a graph output) fused with that ReLU ({@link Layers.BatchNormRelu}),
     * and each sum read only by a ReLU the same way ({@link Layers.AddRelu}, ResNet's block outputs):
     * one array instead of two per pair and no separate ReLU pass, the same bits as {@code forward}
     * for every value and every gradient, parameters included. The run's values are those of the
     * fused graph: the batch norm's or the sum's output before the ReLU is not among them (asking for it fails
     * with its name); keep it to have it. For training steps ({@code Trainer}). On
     * {@link OpenClKernels} it is {@code forward(k, feeds, true)}: {@link ClGraph} runs the unfused
     * graph as one device pass, which a fused node (no device form) would break into op-by-op launches.
     */
    public Run forwardTraining(Kernels k, Map<String, Tensor> feeds, Collection<String> keep) {
        if (k instanceof OpenClKernels) return forward(k, feeds, true);
        Set<String> kept = Set.copyOf(keep);
        List<Node> plan = trainingPlans.computeIfAbsent(kept, this::fuseRelus);
        return new Graph(plan, params, inputs, outputs).forward(k, feeds, true);
    }

    private final Map<Set<String>, List<Node>> trainingPlans = new ConcurrentHashMap<>();

    /** The node list with batch norm -> ReLU and Add -> ReLU pairs fused (see {@link #forwardTraining}). */
    private List<Node> fuseRelus(Set<String> keep) {
        Map<String, Integer> readers = readers(), consumer = consumers();
        List<Node> out = new ArrayList<>(nodes);
        Set<Integer> absorbed = new HashSet<>();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            boolean bn = n.op() instanceof Layers.BatchNorm && !n.outputs().isEmpty() && !n.outputs().get(0).isEmpty();
            boolean add = n.op() instanceof Layers.AddOp && n.inputs().size() == 2 && n.outputs().size() == 1;
            if (!bn && !add) continue;
            Integer j = sole(n.outputs().get(0), keep, readers, consumer);
            if (j == null || !(nodes.get(j).op() instanceof Layers.ReluOp) || nodes.get(j).inputs().size() != 1
                    || nodes.get(j).outputs().size() != 1) continue;
            List<String> outs = new ArrayList<>(n.outputs());
            outs.set(0, nodes.get(j).outputs().get(0));
            Op fused = n.op() instanceof Layers.BatchNorm b ? new Layers.BatchNormRelu(b) : new Layers.AddRelu();
            out.set(i, new Node(n.name(), fused, n.inputs(), outs));
            absorbed.add(j);
        }
        List<Node> plan = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) if (!absorbed.contains(i)) plan.add(out.get(i));
        return List.copyOf(plan);
    }

    /** {@link #infer(Kernels, Map, Collection)} keeping only the graph outputs. */
    public Run infer(Kernels k, Map<String, Tensor> feeds) {
        return infer(k, feeds, List.of());
    }

    private final Map<Set<String>, List<Node>> plans = new ConcurrentHashMap<>();

    /**
     * The graph outputs of one inference pass, as {@code infer(k, feeds).value(name)} for each name in
     * {@link #outputs}, bit for bit, in less memory and without the JVM zeroing most new arrays: the
     * fused plan of {@link #infer} runs node by node and keeps no tape, and once the last node that
     * reads an intermediate value has run, the value's array is given to the {@link Recycler} in use
     * on this thread, where the next output of that length ({@link Tensor#empty}) is made. An array
     * is given back only when no live value shares it (a reshape or an identity is a view of its
     * input) and it is not a parameter, a feed or a graph output. With no recycler in use, a fresh
     * one serves this pass alone; with one in use (see {@link Recycler#use}), the arrays stay in it,
     * and the next pass of the same shapes makes all its intermediates in them (what an inference
     * loop wants: {@code convlens bench --what forward}). On {@link OpenClKernels}, {@link #infer}'s
     * outputs.
     */
    public Map<String, Tensor> predict(Kernels k, Map<String, Tensor> feeds) {
        if (k instanceof OpenClKernels) {
            Run run = infer(k, feeds);
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String o : outputs) out.put(o, run.value(o));
            return out;
        }
        List<Node> plan = plans.computeIfAbsent(Set.of(), this::fuse);
        Map<String, Integer> lastRead = new java.util.HashMap<>();
        for (int i = 0; i < plan.size(); i++) for (String in : plan.get(i).inputs()) if (!in.isEmpty()) lastRead.put(in, i);
        Map<String, Tensor> values = startValues(feeds);
        // arrays never given back: the parameters' and the feeds' (all the values so far); and how many
        // live values share each other array
        Set<float[]> pinned = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Tensor t : values.values()) pinned.add(t.data);
        Map<float[], Integer> sharing = new java.util.IdentityHashMap<>();
        try (Recycler.Use u = Recycler.ensure()) {
            Recycler r = Recycler.current();
            for (int i = 0; i < plan.size(); i++) {
                Node n = plan.get(i);
                Tensor[] out = step(n, k, values, false).out();
                for (int o = 0; o < n.outputs().size() && o < out.length; o++) {
                    String name = n.outputs().get(o);
                    if (name.isEmpty()) continue;
                    values.put(name, out[o]);
                    if (!pinned.contains(out[o].data)) sharing.merge(out[o].data, 1, Integer::sum);
                }
                // the values whose last reader was this node, and outputs no node reads: dead now
                for (String name : n.inputs()) if (lastRead.getOrDefault(name, -1) == i) release(name, values, sharing, r);
                for (String name : n.outputs()) if (!name.isEmpty() && !lastRead.containsKey(name)) release(name, values, sharing, r);
            }
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (String o : outputs) result.put(o, values.get(o));
        return result;
    }

    /** Drops value {@code name} (once: a node may read a value twice); gives its array to {@code r} when no live value shares it. */
    private void release(String name, Map<String, Tensor> values, Map<float[], Integer> sharing, Recycler r) {
        if (outputs.contains(name) || params.containsKey(name) || inputs.contains(name)) return;
        Tensor t = values.remove(name);
        Integer c = t == null ? null : sharing.get(t.data);
        if (c == null) return;                                  // already dropped, or a pinned array
        if (c > 1) {
            sharing.put(t.data, c - 1);
        } else {
            sharing.remove(t.data);
            r.give(t.data);
        }
    }

    /** The node list with conv -> inference BN -> residual Add -> ReLU chains fused (see {@link #infer}). */
    private List<Node> fuse(Set<String> keep) {
        Map<String, Integer> readers = readers(), consumer = consumers();
        Set<Integer> absorbed = new HashSet<>();
        Map<Integer, Node> fusedAt = new java.util.HashMap<>();       // index of the chain's last node -> fused node
        for (int i = 0; i < nodes.size(); i++) {
            Node conv = nodes.get(i);
            if (!(conv.op() instanceof Layers.Conv c) || conv.outputs().size() != 1) continue;
            List<Integer> chain = new ArrayList<>(List.of(i));
            String v = conv.outputs().get(0);
            List<String> ins = new ArrayList<>(conv.inputs());
            while (ins.size() < 3) ins.add("");
            dev.convlens.tensor.ops.BatchNorm2d bn = null;
            Integer j = sole(v, keep, readers, consumer);
            if (j != null && !absorbed.contains(j) && nodes.get(j).op() instanceof Layers.BatchNorm b && !b.trainingMode()
                    && nodes.get(j).inputs().size() == 5 && nodes.get(j).inputs().get(0).equals(v)
                    && onlyFirstOutputUsed(nodes.get(j), readers)) {
                bn = b.bn();
                ins.addAll(nodes.get(j).inputs().subList(1, 5));
                v = nodes.get(j).outputs().get(0);
                chain.add(j);
                j = sole(v, keep, readers, consumer);
            }
            boolean residual = false;
            if (j != null && !absorbed.contains(j) && nodes.get(j).op() instanceof Layers.AddOp
                    && nodes.get(j).inputs().size() == 2 && nodes.get(j).outputs().size() == 1) {
                List<String> addIn = nodes.get(j).inputs();
                String other = addIn.get(0).equals(v) ? addIn.get(1) : addIn.get(0);
                if (!other.equals(v) && !other.isEmpty()) {
                    residual = true;
                    ins.add(other);
                    v = nodes.get(j).outputs().get(0);
                    chain.add(j);
                    j = sole(v, keep, readers, consumer);
                }
            }
            boolean relu = j != null && !absorbed.contains(j) && nodes.get(j).op() instanceof Layers.ReluOp
                    && nodes.get(j).inputs().size() == 1 && nodes.get(j).outputs().size() == 1;
            if (relu) {
                v = nodes.get(j).outputs().get(0);
                chain.add(j);
            }
            if (chain.size() == 1) continue;
            absorbed.addAll(chain);
            fusedAt.put(chain.get(chain.size() - 1),
                    new Node(conv.name(), new Layers.FusedConv(c.conv(), bn, residual, relu), ins, List.of(v)));
        }
        List<Node> out = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            if (fusedAt.containsKey(i)) out.add(fusedAt.get(i));
            else if (!absorbed.contains(i)) out.add(nodes.get(i));
        }
        return List.copyOf(out);
    }

    /** How many times each value is read: by a node input, or as a graph output. */
    private Map<String, Integer> readers() {
        Map<String, Integer> readers = new java.util.HashMap<>();
        for (Node n : nodes) for (String in : n.inputs()) if (!in.isEmpty()) readers.merge(in, 1, Integer::sum);
        for (String out : outputs) readers.merge(out, 1, Integer::sum);
        return readers;
    }

    /** Each value -> the index of the first node that reads it. */
    private Map<String, Integer> consumers() {
        Map<String, Integer> consumer = new java.util.HashMap<>();
        for (int i = 0; i < nodes.size(); i++) for (String in : nodes.get(i).inputs()) consumer.putIfAbsent(in, i);
        return consumer;
    }

    /** The index of the one node that reads {@code v}, when v is read by exactly one node and not kept or an output. */
    private Integer sole(String v, Set<String> keep, Map<String, Integer> readers, Map<String, Integer> consumer) {
        if (keep.contains(v) || outputs.contains(v) || readers.getOrDefault(v, 0) != 1) return null;
        return consumer.get(v);
    }

    /** True when no node reads a batch norm's outputs after the first (running statistics). */
    private static boolean onlyFirstOutputUsed(Node bn, Map<String, Integer> readers) {
        for (int o = 1; o < bn.outputs().size(); o++) {
            String name = bn.outputs().get(o);
            if (!name.isEmpty() && readers.getOrDefault(name, 0) > 0) return false;
        }
        return true;
    }

    /**
     * Runs every node.
     *
     * @param feeds    a tensor for every name in {@link #inputs}
     * @param training true for training mode (batch statistics and running-stat updates, dropout)
     *                 <p>On {@link OpenClKernels} a forward whose nodes all have device kernels
     *                 runs as one OpenCL pass ({@link ClGraph}); otherwise op by op.
     */
    public Run forward(Kernels k, Map<String, Tensor> feeds, boolean training) {
        if (k instanceof OpenClKernels cl) {
            Run onDevice = ClGraph.forward(this, cl, feeds, training);
            if (onDevice != null) return onDevice;
        }
        Map<String, Tensor> values = startValues(feeds);
        List<Op.Step> steps = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            Op.Step step = step(n, k, values, training);
            for (int o = 0; o < n.outputs().size() && o < step.out().length; o++) {
                if (!n.outputs().get(o).isEmpty()) values.put(n.outputs().get(o), step.out()[o]);
            }
            steps.add(step);
        }
        return new Run(this, k, values, steps);
    }

    /** The parameters and the feeds by name, a feed for every input (else the input is named). */
    private Map<String, Tensor> startValues(Map<String, Tensor> feeds) {
        Map<String, Tensor> values = new LinkedHashMap<>(params);
        for (String in : inputs) {
            Tensor t = feeds.get(in);
            if (t == null) throw new IllegalArgumentException("Graph: input '" + in + "' was not given (inputs: " + inputs + ")");
            values.put(in, t);
        }
        return values;
    }

    /** Node n's forward on its inputs from {@code values}; a shape error names the node. */
    private static Op.Step step(Node n, Kernels k, Map<String, Tensor> values, boolean training) {
        Tensor[] in = new Tensor[n.inputs().size()];
        for (int i = 0; i < in.length; i++) in[i] = n.inputs().get(i).isEmpty() ? null : values.get(n.inputs().get(i));
        try {
            return n.op().forward(k, in, training);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("node '" + n.name() + "' (" + n.op().type() + "): " + e.getMessage(), e);
        }
    }
}
