package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;

/**
 * torchvision 0.14 {@code vgg16} (configuration D of Simonyan and Zisserman, "Very Deep
 * Convolutional Networks for Large-Scale Image Recognition", 2015), without batch norm:
 * <pre>
 * features:   13 Conv(3x3, p1) + ReLU in five stages of 64, 128, 256, 512, 512 channels
 *             (2, 2, 3, 3, 3 convs), each stage ending in MaxPool(2,2); indices 0..30 as torchvision's
 *             (stage ends at features.4, .9, .16, .23, .30)
 * avgpool:    AdaptiveAvgPool2d(7,7)
 * flatten
 * classifier: 0 Linear(25088,4096) 1 ReLU 2 Dropout(0.5) 3 Linear(4096,4096) 4 ReLU 5 Dropout(0.5) 6 Linear(4096,n)
 * </pre>
 * As in {@link AlexNet}, the adaptive pool is the 1x1/1 average pool of a 224x224 input's export.
 * Names: module paths for nodes and values, state_dict names for parameters; input "input", output
 * "logits" (the value of classifier.6). 138 M parameters (553 MB of floats) for 1000 classes.
 *
 * <p>Initialization as torchvision: convs kaiming normal (fan_out, relu) with zero bias, Linear
 * N(0, 0.01^2) with zero bias; see {@link Init}.
 */
public final class Vgg16 {
    private Vgg16() {}

    /** Channels per conv, 0 for a max pool (torchvision's cfg "D"). */
    private static final int[] CFG = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};

    public static Graph build(int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        Net n = new Net(seed);
        String x = "input";
        int cin = 3, i = 0;
        for (int c : CFG) {
            if (c == 0) {
                x = n.maxPool("features." + i++, x, 2, 2, 0);
            } else {
                x = n.conv("features." + i++, x, cin, c, 3, 1, 1, true, Init.Conv.KAIMING_FAN_OUT);
                x = n.relu("features." + i++, x);
                cin = c;
            }
        }
        x = n.adaptiveAvgPoolIdentity("avgpool", x);
        x = n.flatten("flatten", x);
        Init.Linear l = Init.Linear.NORMAL_001;
        x = n.linear("classifier.0", x, 512 * 7 * 7, 4096, l, "classifier.0");
        x = n.relu("classifier.1", x);
        x = n.dropout("classifier.2", x, 0.5f);
        x = n.linear("classifier.3", x, 4096, 4096, l, "classifier.3");
        x = n.relu("classifier.4", x);
        x = n.dropout("classifier.5", x, 0.5f);
        n.linear("classifier.6", x, 4096, numClasses, l, "logits");
        return n.graph("input", "logits");
    }
}
