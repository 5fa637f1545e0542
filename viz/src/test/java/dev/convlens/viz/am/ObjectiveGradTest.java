package dev.convlens.viz.am;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

/** The objective terms' values and gradients, by finite differences. */
class ObjectiveGradTest {
    /** float32 central differences of a smooth function of O(1) values. */
    static final double EPS = 1e-2, TOL = 2e-3;

    static Tensor value(Objective o, Tensor a) {
        return Tensor.of(new float[] {(float) o.evaluate(a, Tensor.zeros(a.shape()))}, 1);
    }

    static void check(Objective o, Tensor a) {
        Tensor seed = Tensor.zeros(a.shape());
        o.evaluate(a, seed);
        GradCheck.assertGradient(o.toString(), () -> value(o, a), a, seed, Tensor.of(new float[] {1}, 1), EPS, TOL);
    }

    @Test
    void diversity() {
        check(new Objective.Diversity("l", 1.5), Tensor.uniform(1, -1, 1, 3, 4, 3, 2));
    }

    @Test
    void diversityValueByHand() {
        // two images with identical activations: cosine similarity 1 each way, D = -(1/2)(1 + 1) = -1
        Tensor a = Tensor.uniform(2, -1, 1, 1, 3, 2, 2);
        Tensor b = Tensor.zeros(2, 3, 2, 2);
        System.arraycopy(a.data, 0, b.data, 0, 12);
        System.arraycopy(a.data, 0, b.data, 12, 12);
        assertEquals(-1, new Objective.Diversity("l", 1).evaluate(b, Tensor.zeros(b.shape())), 1e-6);
        assertEquals(0, new Objective.Diversity("l", 1).evaluate(a, Tensor.zeros(a.shape())), 0);
    }

    @Test
    void channelNeuronClass() {
        Tensor a = Tensor.uniform(3, -1, 1, 2, 3, 4, 5);
        check(new Objective.Channel("l", 2, 0.5), a);
        check(new Objective.Neuron("l", 1, 3, 2, 2.0), a);
        Tensor logits = Tensor.uniform(4, -1, 1, 2, 7);
        check(new Objective.ClassLogit(5, 1), logits);
        assertEquals(logits.data[5] + logits.data[12], new Objective.ClassLogit(5, 1).evaluate(logits, Tensor.zeros(2, 7)), 1e-6);
    }
}
