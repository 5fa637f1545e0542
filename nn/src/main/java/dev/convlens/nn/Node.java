package dev.convlens.nn;

import java.util.List;

/**
 * One step of a {@link Graph}, in the shape of an ONNX node: an op and the names of the values
 * it reads and writes. An empty input name stands for an absent optional input.
 */
public record Node(String name, Op op, List<String> inputs, List<String> outputs) {
    public Node {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
