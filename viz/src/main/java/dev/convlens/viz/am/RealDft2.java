package dev.convlens.viz.am;

/**
 * The orthonormal 2-D inverse real DFT of one {@code h x w} plane and its adjoint, for any
 * sizes (not only powers of two), as numpy's / PyTorch's {@code irfftn(X, s=(h, w), norm="ortho")}.
 *
 * <h2>Forward</h2>
 * The half spectrum {@code X (h, fw)}, {@code fw = w/2 + 1} (integer division), holds the columns
 * {@code kx = 0 .. w/2}; the others follow from Hermitian symmetry. Computed as a complex inverse
 * DFT along y followed by a complex-to-real one along x:
 * <pre>
 *   Z[y, kx] = sum_ky X[ky, kx] e^{+2 pi i ky y / h}
 *   x[y, n]  = 1/sqrt(h w) * sum_kx c_kx Re(Z[y, kx] e^{+2 pi i kx n / w})
 *   c_0 = 1, c_{w/2} = 1 when w is even, c_kx = 2 otherwise.
 * </pre>
 * So the imaginary parts of the columns {@code kx = 0} and (even w) {@code kx = w/2} only count
 * through Z's real part, exactly as the real part of the full Hermitian-extended inverse DFT.
 *
 * <h2>Backward (adjoint)</h2>
 * The map {@code (Re X, Im X) -> x} is real-linear, so its vector-Jacobian product is its
 * transpose: with {@code t = 2 pi kx n / w}, {@code s = 2 pi ky y / h},
 * <pre>
 *   dZr[y, kx] =  c_kx/sqrt(hw) sum_n dx[y, n] cos t,   dZi[y, kx] = -c_kx/sqrt(hw) sum_n dx[y, n] sin t
 *   dRe[ky, kx] = sum_y ( dZr cos s + dZi sin s),      dIm[ky, kx] = sum_y (-dZr sin s + dZi cos s)
 * </pre>
 * Cost {@code O(h w (h + w))} per plane with precomputed cos/sin tables (exact indices
 * {@code (k n) mod N}), accumulated in double. Not a fast FFT: at 224 x 224 it is ~0.1 GFLOP per
 * RGB image, small beside the network's forward and backward.
 */
public final class RealDft2 {
    public final int h, w, fw;
    private final double[] cosH, sinH, cosW, sinW;
    private final double norm;
    // workspaces (h, fw): the intermediate Z
    private final double[] zr, zi;

    public RealDft2(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("RealDft2: sizes must be >= 1, got " + h + "x" + w);
        this.h = h;
        this.w = w;
        this.fw = w / 2 + 1;
        cosH = new double[h];
        sinH = new double[h];
        for (int i = 0; i < h; i++) {
            cosH[i] = Math.cos(2 * Math.PI * i / h);
            sinH[i] = Math.sin(2 * Math.PI * i / h);
        }
        cosW = new double[w];
        sinW = new double[w];
        for (int i = 0; i < w; i++) {
            cosW[i] = Math.cos(2 * Math.PI * i / w);
            sinW[i] = Math.sin(2 * Math.PI * i / w);
        }
        norm = 1 / Math.sqrt((double) h * w);
        zr = new double[h * fw];
        zi = new double[h * fw];
    }

    private double c(int kx) {
        return kx == 0 || (w % 2 == 0 && kx == w / 2) ? 1 : 2;
    }

    /**
     * x (h, w) at {@code xOff} = scale * irfft2(re + i im); the planes re, im (h, fw) of {@code s}
     * at {@code reOff}, {@code imOff}. Not thread-safe (shared workspace).
     */
    public void inverse(float[] s, int reOff, int imOff, float[] x, int xOff, double scale) {
        for (int y = 0; y < h; y++)
            for (int kx = 0; kx < fw; kx++) {
                double ar = 0, ai = 0;
                for (int ky = 0; ky < h; ky++) {
                    int t = (int) ((long) ky * y % h);
                    double r = s[reOff + ky * fw + kx], m = s[imOff + ky * fw + kx];
                    ar += r * cosH[t] - m * sinH[t];
                    ai += r * sinH[t] + m * cosH[t];
                }
                zr[y * fw + kx] = ar;
                zi[y * fw + kx] = ai;
            }
        for (int y = 0; y < h; y++)
            for (int n = 0; n < w; n++) {
                double a = 0;
                for (int kx = 0; kx < fw; kx++) {
                    int t = (int) ((long) kx * n % w);
                    a += c(kx) * (zr[y * fw + kx] * cosW[t] - zi[y * fw + kx] * sinW[t]);
                }
                x[xOff + y * w + n] = (float) (a * norm * scale);
            }
    }

    /** The adjoint: the planes dRe, dIm (h, fw) of {@code ds} at reOff, imOff = scale * inverse^T(dx); overwritten. */
    public void adjoint(float[] dx, int xOff, float[] ds, int reOff, int imOff, double scale) {
        for (int y = 0; y < h; y++)
            for (int kx = 0; kx < fw; kx++) {
                double ar = 0, ai = 0;
                for (int n = 0; n < w; n++) {
                    int t = (int) ((long) kx * n % w);
                    double g = dx[xOff + y * w + n];
                    ar += g * cosW[t];
                    ai -= g * sinW[t];
                }
                double f = c(kx) * norm * scale;
                zr[y * fw + kx] = ar * f;
                zi[y * fw + kx] = ai * f;
            }
        for (int ky = 0; ky < h; ky++)
            for (int kx = 0; kx < fw; kx++) {
                double ar = 0, ai = 0;
                for (int y = 0; y < h; y++) {
                    int t = (int) ((long) ky * y % h);
                    double gr = zr[y * fw + kx], gi = zi[y * fw + kx];
                    ar += gr * cosH[t] + gi * sinH[t];
                    ai += -gr * sinH[t] + gi * cosH[t];
                }
                ds[reOff + ky * fw + kx] = (float) ar;
                ds[imOff + ky * fw + kx] = (float) ai;
            }
    }

    /** |f| in cycles per pixel of spectrum entry (ky, kx): numpy's fftfreq along y, kx / w along x. */
    public double frequency(int ky, int kx) {
        double fy = (ky < (h + 1) / 2 ? ky : ky - h) / (double) h;
        double fx = kx / (double) w;
        return Math.sqrt(fx * fx + fy * fy);
    }
}
