package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.nn.Op;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.ops.AvgPool2d;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.MaxPool2d;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a {@link Graph} layer by layer in PyTorch's module order, the way a torchvision
 * {@code nn.Module} lists its children. Each layer's node and output value are named after the
 * module path ("layer1.0.conv1", "features.0"), its parameters after the state_dict
 * ("layer1.0.conv1.weight"), so the initializers of a BN-preserving torchvision ONNX export map one
 * to one.
 *
 * <p>Initialization (seeded; each parameter gets its own seed drawn in build order from one
 * {@link SplittableRandom}): see {@link Init}.
 */
final class Net {
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final SplittableRandom seeds;

    Net(long seed) {
        this.seeds = new SplittableRandom(seed);
    }

    long nextSeed() {
        return seeds.nextLong();
    }

    private String add(String name, Op op, List<String> inputs) {
        nodes.add(new Node(name, op, inputs, List.of(name)));
        return name;
    }

    /** Conv2d(cin, cout, k, stride, padding, bias) with the given weight initialization. */
    String conv(String name, String x, int cin, int cout, int k, int stride, int pad, boolean bias, Init.Conv init) {
        int[] wShape = {cout, cin, k, k};
        params.put(name + ".weight", init.weight(nextSeed(), wShape));
        List<String> in = new ArrayList<>(List.of(x, name + ".weight"));
        if (bias) {
            params.put(name + ".bias", init.bias(nextSeed(), wShape));
            in.add(name + ".bias");
        }
        return add(name, new Layers.Conv(Conv2d.of(stride, pad)), in);
    }

    /** BatchNorm2d(c), eps 1e-5, momentum 0.1 (PyTorch's): weight 1, bias 0, running mean 0, running var 1. */
    String bn(String name, String x, int c) {
        params.put(name + ".weight", Init.fill(1, c));
        params.put(name + ".bias", Init.fill(0, c));
        params.put(name + ".running_mean", Init.fill(0, c));
        params.put(name + ".running_var", Init.fill(1, c));
        return add(name, new Layers.BatchNorm(new BatchNorm2d(1e-5f, 0.1f), false), List.of(x,
                name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"));
    }

    String relu(String name, String x) {
        return add(name, new Layers.ReluOp(), List.of(x));
    }

    String maxPool(String name, String x, int k, int stride, int pad) {
        return add(name, new Layers.MaxPool(MaxPool2d.of(k, stride, pad), false), List.of(x));
    }

    /**
     * AdaptiveAvgPool2d where the input already has the output size (224x224 images): the 1x1,
     * stride-1 average pool that torch.onnx exports for it, an identity.
     */
    String adaptiveAvgPoolIdentity(String name, String x) {
        return add(name, new Layers.AvgPool(new AvgPool2d(1, 1, 1, 1, 0, 0, 0, 0, false, false)), List.of(x));
    }

    String globalAvgPool(String name, String x) {
        return add(name, new Layers.GlobalAvg(), List.of(x));
    }

    String flatten(String name, String x) {
        return add(name, new Layers.Flatten(1), List.of(x));
    }

    String dropout(String name, String x, float p) {
        return add(name, new Layers.DropoutOp(new Dropout(p, nextSeed()), false), List.of(x));
    }

    String addValues(String name, String a, String b) {
        return add(name, new Layers.AddOp(), List.of(a, b));
    }

    /** Linear(in, out) as Gemm with transB (weight (out, in)); {@code output} names its value. */
    String linear(String name, String x, int in, int out, Init.Linear init, String output) {
        params.put(name + ".weight", init.weight(nextSeed(), out, in));
        params.put(name + ".bias", init.bias(nextSeed(), out, in));
        nodes.add(new Node(name, new Layers.Gemm(1, 1, false, true), List.of(x, name + ".weight", name + ".bias"),
                List.of(output)));
        return output;
    }

    Graph graph(String input, String output) {
        return new Graph(nodes, params, List.of(input), List.of(output));
    }
}
