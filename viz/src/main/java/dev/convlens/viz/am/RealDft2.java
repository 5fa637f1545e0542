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
 * Cost {@code O(h w (h + w))} per plane: four real matrix products against precomputed cos/sin
 * matrices (exact angles {@code 2 pi ((k n) mod N) / N}), written as row updates
 * ({@code row += a * other row}) that the JIT turns into SIMD, in float. Not a fast FFT: at
 * 224 x 224 it is ~0.1 GFLOP per RGB image and direction, a few ms.
 */
public final class RealDft2 {
    public final int h, w, fw;
    /** (h, h): cos and sin of 2 pi y ky / h (symmetric). */
    private final float[] cH, sH;
    /** (fw, w): c_kx cos and c_kx sin of 2 pi kx n / w; and their transposes (w, fw). */
    private final float[] pW, qW, pWt, qWt;
    private final double norm;
    // workspaces (h, fw): the intermediate Z
    private final float[] zr, zi;

    public RealDft2(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("RealDft2: sizes must be >= 1, got " + h + "x" + w);
        this.h = h;
        this.w = w;
        this.fw = w / 2 + 1;
        cH = new float[h * h];
        sH = new float[h * h];
        for (int y = 0; y < h; y++)
            for (int ky = 0; ky < h; ky++) {
                double t = 2 * Math.PI * (int) ((long) y * ky % h) / h;
                cH[y * h + ky] = (float) Math.cos(t);
                sH[y * h + ky] = (float) Math.sin(t);
            }
        pW = new float[fw * w];
        qW = new float[fw * w];
        pWt = new float[w * fw];
        qWt = new float[w * fw];
        for (int kx = 0; kx < fw; kx++)
            for (int n = 0; n < w; n++) {
                double t = 2 * Math.PI * (int) ((long) kx * n % w) / w, c = c(kx);
                pW[kx * w + n] = pWt[n * fw + kx] = (float) (c * Math.cos(t));
                qW[kx * w + n] = qWt[n * fw + kx] = (float) (c * Math.sin(t));
            }
        norm = 1 / Math.sqrt((double) h * w);
        zr = new float[h * fw];
        zi = new float[h * fw];
    }

    private double c(int kx) {
        return kx == 0 || (w % 2 == 0 && kx == w / 2) ? 1 : 2;
    }

    /**
     * x (h, w) at {@code xOff} = scale * irfft2(re + i im); the planes re, im (h, fw) of {@code s}
     * at {@code reOff}, {@code imOff}. Not thread-safe (shared workspace).
     */
    public void inverse(float[] s, int reOff, int imOff, float[] x, int xOff, double scale) {
        // Z = E_h X: Zr = C Xr - S Xi, Zi = S Xr + C Xi, one row of Z at a time
        for (int y = 0; y < h; y++) {
            int z = y * fw;
            java.util.Arrays.fill(zr, z, z + fw, 0f);
            java.util.Arrays.fill(zi, z, z + fw, 0f);
            for (int ky = 0; ky < h; ky++) {
                float c = cH[y * h + ky], sn = sH[y * h + ky];
                int r = reOff + ky * fw, m = imOff + ky * fw;
                for (int kx = 0; kx < fw; kx++) {
                    float re = s[r + kx], im = s[m + kx];
                    zr[z + kx] += c * re - sn * im;
                    zi[z + kx] += sn * re + c * im;
                }
            }
        }
        // x = norm scale (Zr P - Zi Q)
        float f = (float) (norm * scale);
        for (int y = 0; y < h; y++) {
            int o = xOff + y * w;
            java.util.Arrays.fill(x, o, o + w, 0f);
            for (int kx = 0; kx < fw; kx++) {
                float a = f * zr[y * fw + kx], b = -f * zi[y * fw + kx];
                int p = kx * w;
                for (int n = 0; n < w; n++) x[o + n] += a * pW[p + n] + b * qW[p + n];
            }
        }
    }

    /** The adjoint: the planes dRe, dIm (h, fw) of {@code ds} at reOff, imOff = scale * inverse^T(dx); overwritten. */
    public void adjoint(float[] dx, int xOff, float[] ds, int reOff, int imOff, double scale) {
        // dZr = f dx P^T, dZi = -f dx Q^T
        float f = (float) (norm * scale);
        for (int y = 0; y < h; y++) {
            int z = y * fw;
            java.util.Arrays.fill(zr, z, z + fw, 0f);
            java.util.Arrays.fill(zi, z, z + fw, 0f);
            for (int n = 0; n < w; n++) {
                float g = f * dx[xOff + y * w + n];
                int p = n * fw;
                for (int kx = 0; kx < fw; kx++) {
                    zr[z + kx] += g * pWt[p + kx];
                    zi[z + kx] -= g * qWt[p + kx];
                }
            }
        }
        // dRe = C dZr + S dZi, dIm = -S dZr + C dZi (C and S are symmetric)
        for (int ky = 0; ky < h; ky++) {
            int r = reOff + ky * fw, m = imOff + ky * fw;
            java.util.Arrays.fill(ds, r, r + fw, 0f);
            java.util.Arrays.fill(ds, m, m + fw, 0f);
            for (int y = 0; y < h; y++) {
                float c = cH[ky * h + y], sn = sH[ky * h + y];
                int z = y * fw;
                for (int kx = 0; kx < fw; kx++) {
                    float gr = zr[z + kx], gi = zi[z + kx];
                    ds[r + kx] += c * gr + sn * gi;
                    ds[m + kx] += c * gi - sn * gr;
                }
            }
        }
    }

    /** |f| in cycles per pixel of spectrum entry (ky, kx): numpy's fftfreq along y, kx / w along x. */
    public double frequency(int ky, int kx) {
        double fy = (ky < (h + 1) / 2 ? ky : ky - h) / (double) h;
        double fx = kx / (double) w;
        return Math.sqrt(fx * fx + fy * fy);
    }
}
