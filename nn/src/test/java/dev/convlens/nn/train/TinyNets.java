package dev.convlens.nn.train;

import dev.convlens.nn.Graph;
import dev.convlens.nn.Layers;
import dev.convlens.nn.Node;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.ops.BatchNorm2d;
import dev.convlens.tensor.ops.Conv2d;
import dev.convlens.tensor.ops.Dropout;
import dev.convlens.tensor.ops.MaxPool2d;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A tiny CNN and synthetic data for the trainer tests. */
final class TinyNets {
    private TinyNets() {}

    /**
     * conv1 Conv(1,4,3,p1) - bn1 - relu - pool MaxPool(pool) - flatten - drop Dropout(0.25) - fc
     * Linear(4*(size/pool)^2, classes) for (N,1,size,size) inputs.
     */
    static Graph net(int size, int pool, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("conv1.weight", Tensor.uniform(r.nextLong(), -1 / 3f, 1 / 3f, 4, 1, 3, 3));
        p.put("conv1.bias", Tensor.uniform(r.nextLong(), -1 / 3f, 1 / 3f, 4));
        p.put("bn1.weight", Tensor.uniform(r.nextLong(), 0.9f, 1.1f, 4));
        p.put("bn1.bias", Tensor.zeros(4));
        p.put("bn1.running_mean", Tensor.zeros(4));
        Tensor var = Tensor.zeros(4);
        java.util.Arrays.fill(var.data, 1);
        p.put("bn1.running_var", var);
        int feat = 4 * (size / pool) * (size / pool);
        float bound = (float) (1 / Math.sqrt(feat));
        p.put("fc.weight", Tensor.uniform(r.nextLong(), -bound, bound, classes, feat));
        p.put("fc.bias", Tensor.uniform(r.nextLong(), -bound, bound, classes));
        List<Node> nodes = List.of(
                new Node("conv1", new Layers.Conv(Conv2d.of(1, 1)), List.of("input", "conv1.weight", "conv1.bias"), List.of("conv1")),
                new Node("bn1", new Layers.BatchNorm(new BatchNorm2d(1e-5f, 0.1f), false),
                        List.of("conv1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"), List.of("bn1")),
                new Node("relu", new Layers.ReluOp(), List.of("bn1"), List.of("relu")),
                new Node("pool", new Layers.MaxPool(MaxPool2d.of(pool, pool, 0)), List.of("relu"), List.of("pool")),
                new Node("flatten", new Layers.Flatten(1), List.of("pool"), List.of("flatten")),
                new Node("drop", new Layers.DropoutOp(new Dropout(0.25f, r.nextLong()), false), List.of("flatten"), List.of("drop")),
                new Node("fc", new Layers.Gemm(1, 1, false, true), List.of("drop", "fc.weight", "fc.bias"), List.of("logits")));
        return new Graph(nodes, p, List.of("input"), List.of("logits"));
    }

    /**
     * n grayscale 8x8 images of 3 classes (a bright top half, left half or main diagonal band)
     * with uniform noise, labels cycling 0,1,2.
     */
    static Dataset synthetic(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] px = new byte[n * 64];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    boolean on = switch (labels[i]) {
                        case 0 -> y < 4;
                        case 1 -> x < 4;
                        default -> Math.abs(x - y) <= 1;
                    };
                    px[i * 64 + y * 8 + x] = (byte) Math.min(255, (on ? 150 : 30) + r.nextInt(100));
                }
            }
        }
        return new Dataset(px, labels, 1, 8, 8, List.of("top", "left", "diagonal"));
    }
}
