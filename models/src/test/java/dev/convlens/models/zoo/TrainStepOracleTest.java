package dev.convlens.models.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.models.onnx.OnnxImporter;
import dev.convlens.nn.Graph;
import dev.convlens.nn.Run;
import dev.convlens.nn.train.Adam;
import dev.convlens.nn.train.Optimizer;
import dev.convlens.nn.train.Sgd;
import dev.convlens.nn.train.Trainer;
import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.ops.CrossEntropy;
import dev.convlens.tensor.ops.Relu;
import dev.convlens.tensor.testing.Golden;
import dev.convlens.tensor.testing.Oracle;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The first proof: training steps on torchvision's resnet18 (BN-preserving export, training
 * mode) and alexnet (dropout off) against PyTorch (oracle_train_step.py): the cross-entropy loss of
 * a batch of two, every parameter gradient, the BN running statistics after the step, the
 * parameters after one SGD-with-momentum step, the loss at them, the parameters after a second
 * step (from PyTorch's first, with its gradients there: see the test) and after one Adam step.
 */
class TrainStepOracleTest {
    /** The tolerance: relative L2 (and relative error of the loss). */
    static final double TOL = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "alexnet"})
    void stepsAgreeWithPyTorch(String net) {
        Oracle.get().run("oracle_models.py");
        Golden gold = new Golden(Oracle.get().run("oracle_train_step.py").resolve(net));
        boolean train = net.equals("resnet18");
        Graph g = train ? ResNet18.build(1000, 0) : AlexNet.build(1000, 0);
        Graph src = OnnxImporter.load(gold.dir().resolve("../../oracle_models/" + net + "/model_bn.onnx").normalize());
        Zoo.loadWeights(g, src);
        Kernels k = Backend.select("simd", 2);
        Tensor x = gold.tensor("x");
        int[] labels = gold.ints("labels");

        Map<String, Tensor> start = new LinkedHashMap<>();
        for (String p : Trainer.learnable(g)) start.put(p, g.params.get(p).copy());
        Map<String, Tensor> grads = step(g, k, x, labels, train, gold);
        for (Map.Entry<String, Tensor> e : grads.entrySet()) assertRel(net + " grad " + e.getKey(), gold.tensor("grad." + e.getKey()), e.getValue());
        if (train) {
            for (String p : g.params.keySet()) {
                if (p.contains("running")) assertRel(net + " " + p + " after the step", gold.tensor("stat." + p), g.params.get(p));
            }
        }

        Optimizer sgd = new Sgd(0.9, 1e-4, false);
        sgd.step(k, g.params, grads, 0.01);
        for (String p : start.keySet()) assertRel(net + " after 1 SGD step: " + p, gold.tensor("sgd1." + p), g.params.get(p));
        // The second step: at PyTorch's parameters after the first, our loss there, then our optimizer
        // (its momentum from our first gradients) fed PyTorch's gradients at that point. Our gradients
        // there are not compared: at this point they are ill-conditioned for conv1 (cause not located: the
        // stem max-pool's switches agreed between the variants below; ReLU kinks near zero are the suspect):
        // conv1.weight after two chained steps came out 6.7e-5 from PyTorch with the direct convolution
        // everywhere, under 5e-7 with Winograd in layer1-2, 1.2e-4 with Winograd in layer1-3, while every
        // gradient at the first point agrees to ~4e-6 in all three.
        for (String p : start.keySet()) System.arraycopy(gold.tensor("sgd1." + p).data, 0, g.params.get(p).data, 0, start.get(p).size());
        Run run = g.forward(k, Map.of("input", x), train);
        float loss2 = CrossEntropy.forward(run.output(), labels).loss(), ref2 = gold.floats("loss2")[0];
        assertTrue(Math.abs(loss2 - ref2) <= TOL * Math.abs(ref2), "loss after one step " + loss2 + " vs PyTorch " + ref2);
        Map<String, Tensor> grads2 = new LinkedHashMap<>();
        for (String p : start.keySet()) grads2.put(p, gold.tensor("grad2." + p));
        sgd.step(k, g.params, grads2, 0.01);
        for (String p : start.keySet()) assertRel(net + " after 2 SGD steps: " + p, gold.tensor("sgd." + p), g.params.get(p));

        Adam adam = Adam.adam();
        adam.step(k, start, grads, 1e-3);
        for (String p : start.keySet()) assertRel(net + " after an Adam step: " + p, gold.tensor("adam." + p), start.get(p));
    }

    /** Forward (training mode for BN nets), loss, backward: the gradients of the learnable parameters. */
    private static Map<String, Tensor> step(Graph g, Kernels k, Tensor x, int[] labels, boolean train, Golden checkLoss) {
        Run run = train ? g.forwardTraining(k, Map.of("input", x), List.of()) : g.forward(k, Map.of("input", x), false);
        CrossEntropy.Result ce = CrossEntropy.forward(run.output(), labels);
        if (checkLoss != null) {
            float ref = checkLoss.floats("loss")[0];
            assertTrue(Math.abs(ce.loss() - ref) <= TOL * Math.abs(ref), "loss " + ce.loss() + " vs PyTorch " + ref);
        }
        Tensor dz = CrossEntropy.backward(ce.probs(), labels, 1f);
        return run.backwardReleasing(g.outputs.get(0), dz, Relu.Rule.GRADIENT, Trainer.learnable(g));
    }

    private static void assertRel(String what, Tensor expected, Tensor actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.data.length; i++) {
            double d = (double) actual.data[i] - expected.data[i];
            num += d * d;
            den += (double) expected.data[i] * expected.data[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-300));
        if (Boolean.getBoolean("convlens.oracle.verbose")) System.err.printf("%s: relative L2 %.3g%n", what, rel);
        assertTrue(expected.data.length == actual.data.length && rel <= TOL, what + ": relative L2 error " + rel + " > " + TOL);
    }
}
