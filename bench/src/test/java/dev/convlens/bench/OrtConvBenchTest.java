package dev.convlens.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.ConvGeom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ONNX Runtime's side of the per-layer comparison computes ConvBench's convolution: the model
 * OrtConvBench writes (one Conv node: strides, pads, weights, bias) gives convlens's forward on
 * ConvBench's tensors, to float rounding (1e-4 of the largest output; the sums differ in order).
 */
class OrtConvBenchTest {
    @ParameterizedTest
    @ValueSource(strings = {"layer4.ds", "layer3.0", "alexnet.conv1"})
    void onnxRuntimeComputesConvBenchsConvolution(String layer) throws Exception {
        OrtConvBench b = new OrtConvBench();
        b.layer = layer;
        b.threads = 1;
        b.batch = 1;
        b.setup();
        try {
            float[] theirs = b.output();
            ConvGeom g = ConvBench.geometry(layer, 1);
            float[] x = Tensor.uniform(1, -1, 1, g.n() * g.c() * g.h() * g.w()).data;
            float[] w = Tensor.uniform(2, -0.1f, 0.1f, g.k() * g.cg() * g.r() * g.s()).data;
            float[] bias = Tensor.uniform(3, -1, 1, g.k()).data, ours = new float[g.n() * g.k() * g.oh() * g.ow()];
            Backend.select("simd", 1).convForward(g, x, w, bias, ours);
            assertEquals(ours.length, theirs.length, layer + ": output size");
            double max = 0, err = 0;
            for (int i = 0; i < ours.length; i++) {
                max = Math.max(max, Math.abs(ours[i]));
                err = Math.max(err, Math.abs(ours[i] - theirs[i]));
            }
            assertTrue(max > 0.1 && err <= 1e-4 * max, layer + ": max |ONNX Runtime - convlens| " + err + " against max " + max);
        } finally {
            b.close();
        }
    }
}
