package dev.convlens.tensor.simd;

import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;

/** Vector API kernels (work in progress: delegates to the reference until the SIMD kernels land). */
public final class SimdKernels implements Kernels {
    private final ReferenceKernels ref = new ReferenceKernels();
    private final int threads;

    private SimdKernels(int threads) {
        this.threads = threads;
    }

    public static SimdKernels create(int threads) {
        return new SimdKernels(threads);
    }

    @Override public String name() { return "simd(" + threads + " threads)"; }
    @Override public void convForward(ConvGeom g, float[] x, float[] w, float[] b, float[] y) { ref.convForward(g, x, w, b, y); }
    @Override public void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx) { ref.convBackwardData(g, dy, w, dx); }
    @Override public void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db) { ref.convBackwardWeights(g, x, dy, dw, db); }
    @Override public void gemm(boolean ta, boolean tb, int m, int n, int kk, float alpha, float[] a, int aOff, int lda,
                               float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        ref.gemm(ta, tb, m, n, kk, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }
}
