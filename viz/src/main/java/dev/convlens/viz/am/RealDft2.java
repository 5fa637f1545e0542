package dev.convlens.viz.am;

/**
 * The orthonormal 2-D inverse real DFT of one {@code h x w} plane and its adjoint, for any
 * sizes (not only powers of two), as numpy's / PyTorch's {@code irfftn(X, s=(h, w), norm="ortho")},
 * computed by FFTs ({@link ComplexFft}: mixed radix, Bluestein for large prime factors) in
 * {@code O(h w log(h w))} per plane.
 *
 * <h2>Forward</h2>
 * The half spectrum {@code X (h, fw)}, {@code fw = w/2 + 1} (integer division), holds the columns
 * {@code kx = 0 .. w/2}; the others follow from Hermitian symmetry. A complex inverse DFT along y
 * followed by a complex-to-real one along x:
 * <pre>
 *   Z[y, kx] = sum_ky X[ky, kx] e^{+2 pi i ky y / h}
 *   x[y, n]  = 1/sqrt(h w) * sum_kx c_kx Re(Z[y, kx] e^{+2 pi i kx n / w})
 *   c_0 = 1, c_{w/2} = 1 when w is even, c_kx = 2 otherwise.
 * </pre>
 * So the imaginary parts of the columns {@code kx = 0} and (even w) {@code kx = w/2} only count
 * through Z's real part, exactly as the real part of the full Hermitian-extended inverse DFT.
 * The sum over kx is the real inverse DFT of length w of the Hermitian sequence
 * {@code F[k] = Z[k]} ({@code k < fw}, with {@code Im Z[0]}, and {@code Im Z[w/2]} for even w,
 * set to 0), {@code F[w - k] = conj Z[k]}. For odd w it is done as a complex inverse FFT of length
 * w, real part kept. For even w, {@code M = w/2}, as one complex FFT of length M (the half-length
 * trick): the even and odd samples fold the spectrum as
 * <pre>
 *   u[m] = x[2m] + i x[2m+1] = sum_{k<M} U[k] e^{+2 pi i k m / M},    U[k] = E[k] + i O[k],
 *   E[k] = F[k] + F[k+M],   O[k] = (F[k] - F[k+M]) e^{+2 pi i k / w},   F[k+M] = conj Z[M-k]
 * </pre>
 * (for k = 0, {@code F[M] = Re Z[M]}).
 *
 * <h2>Backward (adjoint)</h2>
 * The map {@code (Re X, Im X) -> x} is real-linear, so its vector-Jacobian product is its
 * transpose, taken stage by stage in reverse. A complex-linear map's transpose as a real map on
 * {@code (Re, Im)} is its conjugate transpose, and the conjugate transpose of the {@code e^{+}} DFT
 * is the {@code e^{-}} DFT. With {@code t = 2 pi kx n / w}, {@code s = 2 pi ky y / h}:
 * <pre>
 *   dZr[y, kx] =  c_kx/sqrt(hw) sum_n dx[y, n] cos t,   dZi[y, kx] = -c_kx/sqrt(hw) sum_n dx[y, n] sin t
 *   i.e. dZ[y, kx] = c_kx/sqrt(hw) * rfft(dx[y, :])[kx]                 (the forward real DFT, e^{-})
 *   dRe[ky, kx] + i dIm[ky, kx] = sum_y dZ[y, kx] e^{-2 pi i ky y / h}   (the forward complex DFT)
 * </pre>
 * ({@code dZi} at {@code kx = 0, w/2} is 0: sin t vanishes there.) The rfft of even length uses the
 * same half-length trick backwards: {@code U = DFT_M(dx[2m] + i dx[2m+1])} gives the DFTs of the
 * even and odd samples, {@code E[k] = (U[k] + conj U[M-k]) / 2}, {@code O[k] = (U[k] - conj U[M-k]) / 2i}
 * (indices mod M), and {@code rfft(dx)[k] = E[k] + e^{-2 pi i k / w} O[k]} for {@code k = 0 .. M}.
 *
 * <p>Layout: the y transforms run down the columns of {@code (h, fw)} with the fw columns as
 * lanes; the x transforms run on the transposed {@code (M or w, h)} planes with the h rows as lanes,
 * so every FFT butterfly is a loop over a contiguous row. Float, twiddles from exact angles in double;
 * workspaces allocated once per instance. Not thread-safe.
 */
public final class RealDft2 {
    public final int h, w, fw;
    /** Length of the x transform: w/2 for even w (half-length trick), w for odd w. */
    private final int mx;
    /** Along y, lanes fw; along x, lanes h. */
    private final ComplexFft fy, fx;
    /** (w/2 + 1) cos and sin of 2 pi k / w (even w only). */
    private final float[] tc, ts;
    private final double norm;
    // workspaces: Z (h, fw), and the x-transform planes (mx, h); rows, see ComplexFft#forward
    private final float[][] zr, zi, ur, ui;

    public RealDft2(int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("RealDft2: sizes must be >= 1, got " + h + "x" + w);
        this.h = h;
        this.w = w;
        this.fw = w / 2 + 1;
        this.mx = w % 2 == 0 ? w / 2 : w;
        fy = new ComplexFft(h, fw);
        fx = new ComplexFft(mx, h);
        tc = new float[w / 2 + 1];
        ts = new float[w / 2 + 1];
        if (w % 2 == 0)
            for (int k = 0; k <= w / 2; k++) {
                double t = 2 * Math.PI * k / w;
                tc[k] = (float) Math.cos(t);
                ts[k] = (float) Math.sin(t);
            }
        norm = 1 / Math.sqrt((double) h * w);
        zr = new float[h][fw];
        zi = new float[h][fw];
        ur = new float[mx][h];
        ui = new float[mx][h];
    }

    /**
     * x (h, w) at {@code xOff} = scale * irfft2(re + i im); the planes re, im (h, fw) of {@code s}
     * at {@code reOff}, {@code imOff}. Not thread-safe (shared workspace).
     */
    public void inverse(float[] s, int reOff, int imOff, float[] x, int xOff, double scale) {
        // Z = inverse DFT along y (the swapped planes: e^{+})
        for (int y = 0; y < h; y++) {
            System.arraycopy(s, reOff + y * fw, zr[y], 0, fw);
            System.arraycopy(s, imOff + y * fw, zi[y], 0, fw);
        }
        fy.forward(zi, zr);
        float f = (float) (norm * scale);
        if (w % 2 == 0) {
            // U[k, y] = E + i O from F[k] = Z[y, k] and F[k + M] = conj Z[y, M - k]
            int m = mx;
            for (int k = 0; k < m; k++) {
                float cr = tc[k], ci = ts[k];
                int a = k, b = m - k;
                float[] vr = ur[k], vi = ui[k];
                for (int y = 0; y < h; y++) {
                    float fr = zr[y][a], fi = k == 0 ? 0 : zi[y][a];
                    float gr = zr[y][b], gi = k == 0 ? 0 : -zi[y][b];
                    float dr = fr - gr, di = fi - gi;
                    float or = dr * cr - di * ci, oi = dr * ci + di * cr;
                    vr[y] = fr + gr - oi;
                    vi[y] = fi + gi + or;
                }
            }
            fx.forward(ui, ur);
            for (int y = 0; y < h; y++) {
                int o = xOff + y * w;
                for (int k = 0; k < m; k++) {
                    x[o + 2 * k] = f * ur[k][y];
                    x[o + 2 * k + 1] = f * ui[k][y];
                }
            }
        } else {
            // the Hermitian-extended F (w, h); real part of its inverse DFT
            for (int k = 0; k < w; k++) {
                boolean mirror = k >= fw;
                int c = mirror ? w - k : k;
                for (int y = 0; y < h; y++) {
                    ur[k][y] = zr[y][c];
                    ui[k][y] = mirror ? -zi[y][c] : zi[y][c];
                }
            }
            fx.forward(ui, ur);
            for (int y = 0; y < h; y++) {
                int o = xOff + y * w;
                for (int n = 0; n < w; n++) x[o + n] = f * ur[n][y];
            }
        }
    }

    /** The adjoint: the planes dRe, dIm (h, fw) of {@code ds} at reOff, imOff = scale * inverse^T(dx); overwritten. */
    public void adjoint(float[] dx, int xOff, float[] ds, int reOff, int imOff, double scale) {
        float f = (float) (norm * scale);
        // dZ (h, fw) = f c_kx rfft(dx rows)
        if (w % 2 == 0) {
            int m = mx;
            for (int y = 0; y < h; y++) {
                int o = xOff + y * w;
                for (int k = 0; k < m; k++) {
                    ur[k][y] = dx[o + 2 * k];
                    ui[k][y] = dx[o + 2 * k + 1];
                }
            }
            fx.forward(ur, ui);
            for (int k = 0; k <= m; k++) {
                float cr = tc[k], ci = -ts[k], g = k == 0 || k == m ? f : 2 * f;
                float[] pr = ur[k % m], pi = ui[k % m], qr = ur[(m - k) % m], qi = ui[(m - k) % m];
                boolean real = k == 0 || k == m;
                for (int y = 0; y < h; y++) {
                    float ar = pr[y], ai = pi[y], br = qr[y], bi = -qi[y]; // P = U[k], Q = conj U[M-k]
                    float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
                    float or = 0.5f * (ai - bi), oi = -0.5f * (ar - br);
                    zr[y][k] = g * (er + or * cr - oi * ci);
                    zi[y][k] = real ? 0 : g * (ei + or * ci + oi * cr);
                }
            }
        } else {
            for (int y = 0; y < h; y++) {
                int o = xOff + y * w;
                for (int n = 0; n < w; n++) {
                    ur[n][y] = dx[o + n];
                    ui[n][y] = 0;
                }
            }
            fx.forward(ur, ui);
            for (int k = 0; k < fw; k++) {
                float g = k == 0 ? f : 2 * f;
                for (int y = 0; y < h; y++) {
                    zr[y][k] = g * ur[k][y];
                    zi[y][k] = k == 0 ? 0 : g * ui[k][y];
                }
            }
        }
        // dX = forward DFT along y
        fy.forward(zr, zi);
        for (int y = 0; y < h; y++) {
            System.arraycopy(zr[y], 0, ds, reOff + y * fw, fw);
            System.arraycopy(zi[y], 0, ds, imOff + y * fw, fw);
        }
    }

    /** |f| in cycles per pixel of spectrum entry (ky, kx): numpy's fftfreq along y, kx / w along x. */
    public double frequency(int ky, int kx) {
        double fy = (ky < (h + 1) / 2 ? ky : ky - h) / (double) h;
        double fx = kx / (double) w;
        return Math.sqrt(fx * fx + fy * fy);
    }
}
