package dev.convlens.tensor.kernels;

/**
 * The primitive kernels that carry nearly all the arithmetic of a CNN. Kernels see flat
 * arrays and offsets, never {@code Tensor}: that keeps them equally at home in plain loops,
 * the Vector API and OpenCL.
 *
 * <p>Implementations: {@link ReferenceKernels} (plain loops, the specification) and
 * {@code dev.convlens.tensor.simd.SimdKernels} (Vector API, multi-threaded). Every
 * implementation is tested against the reference.
 *
 * <p>All outputs are overwritten, not accumulated into, unless a {@code beta} says otherwise.
 */
public interface Kernels {
    /** Short name for reports: "reference", "simd". */
    String name();

    /**
     * Convolution forward: {@code y[n,k,oy,ox] = b[k] + sum_{c',r,s} w[k,c',r,s] * x[n, g*cg+c', oy*sh-pt+r*dh, ox*sw-pl+s*dw]}
     * (cross-correlation, as PyTorch and ONNX define it; out-of-range input reads as 0).
     *
     * @param b bias of length k, or null for none
     */
    void convForward(ConvGeom g, float[] x, float[] w, float[] b, float[] y);

    /**
     * Convolution forward followed by a per-channel affine map, a residual sum and an optional ReLU,
     * in one pass: {@code y[n,k,oy,ox] = act(scale[k] * conv(x, w, b)[n,k,oy,ox] + shift[k] + res[n,k,oy,ox])}
     * with {@code act = max(., 0)} when {@code relu} (NaN stays NaN), else the identity; the affine
     * map is one fused multiply-add ({@code Math.fma(v, scale, shift)}), then {@code res} is added.
     * This is a convolution, batch norm in inference ({@code scale = gamma / sqrt(var + eps)},
     * {@code shift = beta - mean * scale}), a ResNet block's shortcut sum and its ReLU as one kernel.
     *
     * <p>The default runs {@link #convForward} and then one pass over y; fast kernels apply the
     * map while the result is still in registers. (Added as a default method, so existing
     * implementations keep compiling.)
     *
     * @param b     bias of length k, or null for none
     * @param scale per-channel factor of length k, or null (then shift is null too)
     * @param shift per-channel offset of length k, or null
     * @param res   a tensor of y's shape (n, k, oh, ow) to add, or null
     */
    default void convForwardAffine(ConvGeom g, float[] x, float[] w, float[] b, float[] scale, float[] shift,
                                   float[] res, boolean relu, float[] y) {
        convForward(g, x, w, b, y);
        int pix = g.oh() * g.ow();
        for (int n = 0; n < g.n(); n++)
            for (int k = 0; k < g.k(); k++) {
                float a = scale == null ? 1f : scale[k], c = shift == null ? 0f : shift[k];
                for (int i = (n * g.k() + k) * pix, end = i + pix; i < end; i++) {
                    float v = scale == null ? y[i] : Math.fma(y[i], a, c);
                    if (res != null) v += res[i];
                    y[i] = relu ? Math.max(v, 0f) : v;
                }
            }
    }

    /** Convolution backward to the input: {@code dx = sum over the windows that read x of dy * w} (the transposed convolution). */
    void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx);

    /**
     * Convolution backward to the weights: {@code dw[k,c',r,s] = sum_{n,oy,ox} dy[n,k,oy,ox] * x[n,c,iy,ix]}
     * and {@code db[k] = sum_{n,oy,ox} dy[n,k,oy,ox]}.
     *
     * @param dw weight gradient to write, or null when not wanted
     * @param db bias gradient to write, or null when not wanted
     */
    void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db);

    /**
     * Row-major GEMM: {@code C = alpha * op(A) * op(B) + beta * C}, with op(A) of shape (m, kk)
     * and op(B) of shape (kk, n). {@code transA} means A is stored (kk, m); {@code transB} means
     * B is stored (n, kk). Leading dimensions are the stored row lengths. When {@code beta == 0}, C
     * is not read (NaN in C does not propagate).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
              float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
              float beta, float[] c, int cOff, int ldc);
}
