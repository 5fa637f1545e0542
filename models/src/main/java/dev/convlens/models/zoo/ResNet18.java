package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;

/**
 * torchvision 0.14 {@code resnet18} built in code (He et al., "Deep Residual Learning for Image
 * Recognition", 2016): conv1 7x7/2, bn1, relu, maxpool 3x3/2, four stages of two BasicBlocks
 * (64, 128, 256, 512 channels; stages 2 to 4 start with stride 2 and a 1x1/2 conv + BN downsample
 * on the shortcut), global average pool, flatten, fc.
 *
 * <p>Names: the input is "input", the output "logits"; every layer's node and output value carry
 * the torchvision module path ("layer2.0.conv1", "layer2.0.downsample.0"), the parameters the
 * state_dict names ("layer2.0.bn1.running_var", "fc.weight"). A block's two ReLUs are
 * "layerL.B.relu" (after bn1) and "layerL.B" (after the residual sum "layerL.B.add": the block's
 * output, the usual Grad-CAM target "layer4.1").
 *
 * <p>Initialization as torchvision: convs kaiming normal (fan_out, relu), BN weight 1 and bias 0,
 * fc PyTorch's default uniform; see {@link Init}. BatchNorm is {@code BatchNorm2d(1e-5, 0.1)}.
 */
public final class ResNet18 {
    private ResNet18() {}

    /** The network with {@code numClasses} outputs, weights drawn from {@code seed}. */
    public static Graph build(int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        Net n = new Net(seed);
        String x = n.conv("conv1", "input", 3, 64, 7, 2, 3, false, Init.Conv.KAIMING_FAN_OUT);
        x = n.bn("bn1", x, 64);
        x = n.relu("relu", x);
        x = n.maxPool("maxpool", x, 3, 2, 1);
        int cin = 64;
        int[] widths = {64, 128, 256, 512};
        for (int l = 0; l < 4; l++) {
            for (int b = 0; b < 2; b++) {
                int stride = l > 0 && b == 0 ? 2 : 1;
                x = basicBlock(n, "layer" + (l + 1) + "." + b, x, cin, widths[l], stride);
                cin = widths[l];
            }
        }
        x = n.globalAvgPool("avgpool", x);
        x = n.flatten("flatten", x);
        n.linear("fc", x, 512, numClasses, Init.Linear.PYTORCH_DEFAULT, "logits");
        return n.graph("input", "logits");
    }

    /** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = downsample when the shape changes. */
    static String basicBlock(Net n, String p, String x, int cin, int cout, int stride) {
        String y = n.conv(p + ".conv1", x, cin, cout, 3, stride, 1, false, Init.Conv.KAIMING_FAN_OUT);
        y = n.bn(p + ".bn1", y, cout);
        y = n.relu(p + ".relu", y);
        y = n.conv(p + ".conv2", y, cout, cout, 3, 1, 1, false, Init.Conv.KAIMING_FAN_OUT);
        y = n.bn(p + ".bn2", y, cout);
        String shortcut = x;
        if (stride != 1 || cin != cout) {
            shortcut = n.conv(p + ".downsample.0", x, cin, cout, 1, stride, 0, false, Init.Conv.KAIMING_FAN_OUT);
            shortcut = n.bn(p + ".downsample.1", shortcut, cout);
        }
        y = n.addValues(p + ".add", y, shortcut);
        return n.relu(p, y);
    }
}
