package dev.convlens.models.zoo;

import dev.convlens.nn.Graph;

/**
 * torchvision 0.14 {@code alexnet} built in code (the one-GPU variant of Krizhevsky et al. 2012,
 * as in "One weird trick", Krizhevsky 2014, without LRN):
 * <pre>
 * features:   0 Conv(3,64,11,s4,p2) 1 ReLU 2 MaxPool(3,2) 3 Conv(64,192,5,p2) 4 ReLU 5 MaxPool(3,2)
 *             6 Conv(192,384,3,p1) 7 ReLU 8 Conv(384,256,3,p1) 9 ReLU 10 Conv(256,256,3,p1) 11 ReLU 12 MaxPool(3,2)
 * avgpool:    AdaptiveAvgPool2d(6,6)
 * flatten
 * classifier: 0 Dropout(0.5) 1 Linear(9216,4096) 2 ReLU 3 Dropout(0.5) 4 Linear(4096,4096) 5 ReLU 6 Linear(4096,n)
 * </pre>
 * The adaptive pool is written as the 1x1/1 average pool that torch.onnx exports for a 224x224
 * input (where it is the identity on 6x6), so the graph expects 224x224 images. Names as in
 * {@link ResNet18}: module paths for nodes and values ("features.3"), state_dict names for
 * parameters; input "input", output "logits" (the value of classifier.6).
 *
 * <p>Initialization: PyTorch's defaults for Conv2d and Linear (uniform ±1/sqrt(fan_in)), as
 * torchvision's AlexNet does not override them; see {@link Init}. Dropout is identity in inference.
 */
public final class AlexNet {
    private AlexNet() {}

    public static Graph build(int numClasses, long seed) {
        Zoo.requireClasses(numClasses);
        Net n = new Net(seed);
        Init.Conv c = Init.Conv.PYTORCH_DEFAULT;
        String x = n.conv("features.0", "input", 3, 64, 11, 4, 2, true, c);
        x = n.relu("features.1", x);
        x = n.maxPool("features.2", x, 3, 2, 0);
        x = n.conv("features.3", x, 64, 192, 5, 1, 2, true, c);
        x = n.relu("features.4", x);
        x = n.maxPool("features.5", x, 3, 2, 0);
        x = n.conv("features.6", x, 192, 384, 3, 1, 1, true, c);
        x = n.relu("features.7", x);
        x = n.conv("features.8", x, 384, 256, 3, 1, 1, true, c);
        x = n.relu("features.9", x);
        x = n.conv("features.10", x, 256, 256, 3, 1, 1, true, c);
        x = n.relu("features.11", x);
        x = n.maxPool("features.12", x, 3, 2, 0);
        x = n.adaptiveAvgPoolIdentity("avgpool", x);
        x = n.flatten("flatten", x);
        Init.Linear l = Init.Linear.PYTORCH_DEFAULT;
        x = n.dropout("classifier.0", x, 0.5f);
        x = n.linear("classifier.1", x, 256 * 6 * 6, 4096, l, "classifier.1");
        x = n.relu("classifier.2", x);
        x = n.dropout("classifier.3", x, 0.5f);
        x = n.linear("classifier.4", x, 4096, 4096, l, "classifier.4");
        x = n.relu("classifier.5", x);
        n.linear("classifier.6", x, 4096, numClasses, l, "logits");
        return n.graph("input", "logits");
    }
}
