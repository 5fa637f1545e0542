package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;

/**
 * Two small networks for small images (Fashion-MNIST's 28x28 grayscale), named as torchvision
 * names its modules, so their ONNX exports read like torchvision's.
 *
 * <p>{@link #alexnet} ("alexnet-small"), for an input (N, c, s, s):
 * <pre>
 * features:   0 Conv(c,32,5,p2) 1 ReLU 2 MaxPool(2,2) 3 Conv(32,64,3,p1) 4 ReLU 5 MaxPool(2,2)
 * flatten
 * classifier: 0 Dropout(0.5) 1 Linear(64*(s/4)^2,128) 2 ReLU 3 Dropout(0.5) 4 Linear(128,n)
 * </pre>
 * (s/4 rounded down twice, as the pools do; 28 gives 7x7). PyTorch's default initialization.
 *
 * <p>{@link #resnet} ("resnet-small"), for any input size: a 3x3 stem {@code conv1} (c,16) +
 * {@code bn1} + {@code relu}, three stages {@code layer1..3} of one BasicBlock each (16, 32, 64
 * channels; layers 2 and 3 stride 2 with a 1x1 conv + BN downsample, as in {@link ResNet18}),
 * global average pool, {@code fc} Linear(64, n). Kaiming-normal (fan_out) convs, BN weight 1 and
 * bias 0, as torchvision's ResNet.
 *
 * <p>Input "input", output "logits" for both.
 */
public final class SmallNets {
    private SmallNets() {}

    /** The names the CLI accepts. */
    public static final String ALEXNET = "alexnet-small", RESNET = "resnet-small";

    /** The network named {@code arch} ({@link #ALEXNET} or {@link #RESNET}). */
    public static Graph build(String arch, int channels, int size, int numClasses, long seed) {
        return switch (arch) {
            case ALEXNET -> alexnet(channels, size, numClasses, seed);
            case RESNET -> resnet(channels, numClasses, seed);
            default -> throw new IllegalArgumentException("unknown architecture '" + arch + "' (known: " + ALEXNET + ", " + RESNET + ")");
        };
    }

    public static Graph alexnet(int channels, int size, int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        if (channels < 1 || size < 4) throw new IllegalArgumentException("alexnet-small: needs channels >= 1 and size >= 4, got " + channels + ", " + size);
        Net n = new Net(seed);
        Init.Conv c = Init.Conv.PYTORCH_DEFAULT;
        String x = n.conv("features.0", "input", channels, 32, 5, 1, 2, true, c);
        x = n.relu("features.1", x);
        x = n.maxPool("features.2", x, 2, 2, 0);
        x = n.conv("features.3", x, 32, 64, 3, 1, 1, true, c);
        x = n.relu("features.4", x);
        x = n.maxPool("features.5", x, 2, 2, 0);
        x = n.flatten("flatten", x);
        int s = size / 2 / 2;
        Init.Linear l = Init.Linear.PYTORCH_DEFAULT;
        x = n.dropout("classifier.0", x, 0.5f);
        x = n.linear("classifier.1", x, 64 * s * s, 128, l, "classifier.1");
        x = n.relu("classifier.2", x);
        x = n.dropout("classifier.3", x, 0.5f);
        n.linear("classifier.4", x, 128, numClasses, l, "logits");
        return n.graph("input", "logits");
    }

    public static Graph resnet(int channels, int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        if (channels < 1) throw new IllegalArgumentException("resnet-small: needs channels >= 1, got " + channels);
        Net n = new Net(seed);
        String x = n.conv("conv1", "input", channels, 16, 3, 1, 1, false, Init.Conv.KAIMING_FAN_OUT);
        x = n.bn("bn1", x, 16);
        x = n.relu("relu", x);
        int cin = 16;
        int[] widths = {16, 32, 64};
        for (int l = 0; l < 3; l++) {
            x = ResNet18.basicBlock(n, "layer" + (l + 1) + ".0", x, cin, widths[l], l == 0 ? 1 : 2);
            cin = widths[l];
        }
        x = n.globalAvgPool("avgpool", x);
        x = n.flatten("flatten", x);
        n.linear("fc", x, 64, numClasses, Init.Linear.PYTORCH_DEFAULT, "logits");
        return n.graph("input", "logits");
    }
}
