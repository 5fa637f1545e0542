package dev.convlens.viz.am;

/**
 * The unnormalized forward complex DFT of length {@code n}, for any {@code n >= 1}, applied to
 * {@code lanes} independent sequences at once, in float, in place:
 * <pre>
 *   X[k, b] = sum_{j=0}^{n-1} x[j, b] e^{-2 pi i j k / n},     k = 0 .. n-1,  b = 0 .. lanes-1
 * </pre>
 * on split planes {@code re, im (n, lanes)}, one array per row (element {@code (j, b)} at
 * {@code re[j][b]}). The sequences run down the columns, so every butterfly is a loop over rows of
 * lanes, which the JIT turns into SIMD. The inverse (sign +, still unnormalized) is the same call with the planes
 * swapped, {@code forward(im, re)}: swapping is {@code z -> i conj(z)}, and
 * {@code DFT(i conj z) = i conj(IDFT(z))}.
 *
 * <h2>Algorithm</h2>
 * Stockham's self-sorting mixed-radix FFT (decimation in frequency), no bit reversal: with
 * {@code n = p m}, {@code j = j' + r m}, {@code k = p k' + t},
 * <pre>
 *   X[p k' + t] = sum_{j'<m} e^{-2 pi i j' k'/m} [ e^{-2 pi i j' t/n} sum_{r<p} x[j' + r m] e^{-2 pi i r t/p} ]
 * </pre>
 * so one pass of radix {@code p} writes the bracket (a {@code p}-point DFT, then a twiddle) to
 * {@code y[p j' + t]}, leaving {@code p} interleaved DFTs of length {@code m} for the next pass,
 * which sees the rows {@code t} as more lanes (the lane stride grows by {@code p}). Passes ping-pong
 * between the data and a workspace. Radices: 4, 2 and 3 written out; any other prime up to
 * {@link #MAX_RADIX} by a generic odd butterfly that pairs {@code r} with {@code p - r}
 * (cos sums shared by {@code t} and {@code p - t}, sin sums with opposite signs). Lengths with a
 * larger prime factor use Bluestein's chirp z-transform: with {@code jk = (j^2 + k^2 - (k-j)^2)/2},
 * <pre>
 *   X[k] = c*[k] sum_j (x[j] c*[j]) c[k - j],     c[j] = e^{+i pi j^2 / n}
 * </pre>
 * a cyclic convolution of length {@code L >= 2n - 1} (a power of two), done by this class at
 * length {@code L} with the chirp's spectrum precomputed. Cost {@code O(n log n)} per lane in every
 * case. All twiddles are exact angles {@code 2 pi ((a b) mod n) / n} in double, stored as float.
 * Workspaces are allocated once here; {@link #forward} allocates nothing and is not thread-safe.
 */
final class ComplexFft {
    /** Largest prime factor done by a direct butterfly; larger ones go to Bluestein. */
    static final int MAX_RADIX = 31;

    final int n, lanes;
    /** The radix of each pass, in order. */
    private final int[] radix;
    /** Per pass: twiddles e^{-2 pi i j t / len}, (m, p - 1) for j < m, t = 1 .. p-1. */
    private final float[][] twr, twi;
    /** Per pass: cos and sin of 2 pi r t / p, (p, p) (generic radices only, else null). */
    private final float[][] cosP, sinP;
    /** Ping-pong workspace (n, lanes); scratch for the generic butterfly (p - 1, lanes). */
    private final float[][] wr, wi, sr, si;

    // Bluestein (null unless n has a prime factor > MAX_RADIX)
    private final ComplexFft conv;
    /** The chirp c*[j] = e^{-i pi j^2 / n}, (n); the spectrum of c over L, divided by L, (L). */
    private final float[] chr, chi, bhr, bhi;
    /** (L, lanes): the padded sequence being convolved. */
    private final float[][] ar, ai;

    ComplexFft(int n, int lanes) {
        if (n < 1 || lanes < 1) throw new IllegalArgumentException("ComplexFft: n and lanes must be >= 1, got n=" + n + ", lanes=" + lanes);
        this.n = n;
        this.lanes = lanes;
        int[] f = factors(n);
        boolean bluestein = f.length > 0 && f[f.length - 1] > MAX_RADIX;
        if (bluestein) {
            radix = new int[0];
            twr = twi = cosP = sinP = new float[0][];
            wr = wi = sr = si = null;
            int l = Integer.highestOneBit(2 * n - 1);
            if (l < 2 * n - 1) l *= 2;
            conv = new ComplexFft(l, lanes);
            chr = new float[n];
            chi = new float[n];
            for (int j = 0; j < n; j++) {
                double t = Math.PI * (double) ((long) j * j % (2L * n)) / n;
                chr[j] = (float) Math.cos(t);
                chi[j] = (float) -Math.sin(t);
            }
            // b[j] = c[j] = conj(c*[j]) for |j| < n, wrapped cyclically; its DFT, / L
            float[][] br = new float[l][1], bi = new float[l][1];
            for (int j = 0; j < n; j++) {
                br[j][0] = chr[j];
                bi[j][0] = -chi[j];
                if (j > 0) {
                    br[l - j][0] = chr[j];
                    bi[l - j][0] = -chi[j];
                }
            }
            new ComplexFft(l, 1).forward(br, bi);
            bhr = new float[l];
            bhi = new float[l];
            for (int i = 0; i < l; i++) {
                bhr[i] = br[i][0] / l;
                bhi[i] = bi[i][0] / l;
            }
            ar = new float[l][lanes];
            ai = new float[l][lanes];
            return;
        }
        conv = null;
        chr = chi = bhr = bhi = null;
        ar = ai = null;
        radix = f;
        twr = new float[f.length][];
        twi = new float[f.length][];
        cosP = new float[f.length][];
        sinP = new float[f.length][];
        int len = n, scratch = 0;
        for (int s = 0; s < f.length; s++) {
            int p = f[s], m = len / p;
            twr[s] = new float[m * (p - 1)];
            twi[s] = new float[m * (p - 1)];
            for (int j = 0; j < m; j++)
                for (int t = 1; t < p; t++) {
                    double a = 2 * Math.PI * (double) ((long) j * t % len) / len;
                    twr[s][j * (p - 1) + t - 1] = (float) Math.cos(a);
                    twi[s][j * (p - 1) + t - 1] = (float) -Math.sin(a);
                }
            if (p > 4) {
                cosP[s] = new float[p * p];
                sinP[s] = new float[p * p];
                for (int r = 0; r < p; r++)
                    for (int t = 0; t < p; t++) {
                        double a = 2 * Math.PI * (r * t % p) / p;
                        cosP[s][r * p + t] = (float) Math.cos(a);
                        sinP[s][r * p + t] = (float) Math.sin(a);
                    }
                scratch = Math.max(scratch, p - 1);
            }
            len = m;
        }
        wr = new float[n][lanes];
        wi = new float[n][lanes];
        sr = new float[scratch][lanes];
        si = new float[scratch][lanes];
    }

    /** The prime factors of n, fours first (4 4 .. 2 3 5 7 ..), ascending after them. */
    static int[] factors(int n) {
        int[] f = new int[32];
        int c = 0;
        while (n % 4 == 0) {
            f[c++] = 4;
            n /= 4;
        }
        for (int p = 2; n > 1; p++) {
            if ((long) p * p > n) p = n;
            while (n % p == 0) {
                f[c++] = p;
                n /= p;
            }
        }
        return java.util.Arrays.copyOf(f, c);
    }

    /**
     * In place: (re, im) (n rows of lanes) = DFT along the row index of (re, im). The passes
     * ping-pong between the caller's rows and the workspace's, and when they end in the workspace
     * the two exchange rows ({@code re[j]} may afterwards be a different array of the same length):
     * callers keep the outer arrays, not rows.
     */
    void forward(float[][] re, float[][] im) {
        if (conv != null) {
            bluestein(re, im);
            return;
        }
        float[][] xr = re, xi = im, yr = wr, yi = wi;
        int len = n, s = 1; // s: rows per block, n / len
        for (int pass = 0; pass < radix.length; pass++) {
            int p = radix[pass], m = len / p;
            switch (p) {
                case 2 -> radix2(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                case 3 -> radix3(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                case 4 -> radix4(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                default -> radixOdd(xr, xi, yr, yi, p, m, s, pass);
            }
            float[][] t = xr;
            xr = yr;
            yr = t;
            t = xi;
            xi = yi;
            yi = t;
            len = m;
            s *= p;
        }
        if (xr != re)
            for (int j = 0; j < n; j++) {
                float[] t = re[j];
                re[j] = wr[j];
                wr[j] = t;
                t = im[j];
                im[j] = wi[j];
                wi[j] = t;
            }
    }

    // ---------------------------------------------------------------- butterflies
    // Pass with blocks of s rows: input row s (j + r m) + u, output row s (p j + t) + u, u < s;
    // twiddle (j, t) at [j (p-1) + t - 1]. Each butterfly is a few row loops (below) that index all
    // their rows by the same q and touch at most 8 rows: the form C2's SuperWord vectorizes on
    // JDK 17 (distinct offsets into one flat array, or a long loop body that C2 declines to
    // unroll, keep it scalar). The rows of one butterfly stay in L1 between the loops.

    private void radix2(float[][] xr, float[][] xi, float[][] yr, float[][] yi, int m, int s, float[] twr, float[] twi) {
        for (int j = 0; j < m; j++)
            for (int u = 0; u < s; u++) {
                int a = s * j + u, b = s * (j + m) + u, o0 = s * 2 * j + u, o1 = o0 + s;
                sumDiff(xr[a], xi[a], xr[b], xi[b], yr[o0], yi[o0], yr[o1], yi[o1]);
                if (j > 0) twiddle(yr[o1], yi[o1], twr[j], twi[j]);
            }
    }

    /** w3 = e^{-2 pi i/3} = -1/2 - i sqrt(3)/2: y1,2 = a0 - (a1 + a2)/2 -+ i sqrt(3)/2 (a1 - a2). */
    private void radix3(float[][] xr, float[][] xi, float[][] yr, float[][] yi, int m, int s, float[] twr, float[] twi) {
        final float h = (float) (Math.sqrt(3) / 2);
        for (int j = 0; j < m; j++)
            for (int u = 0; u < s; u++) {
                int a = s * j + u, b = s * (j + m) + u, c = s * (j + 2 * m) + u, o0 = s * 3 * j + u, o1 = o0 + s, o2 = o1 + s;
                sumDiff(xr[b], xi[b], xr[c], xi[c], yr[o1], yi[o1], yr[o2], yi[o2]);   // y1 = a1 + a2, y2 = a1 - a2
                add(xr[a], xi[a], yr[o1], yi[o1], yr[o0], yi[o0]);                       // y0 = a0 + y1
                scaleAdd(xr[a], xi[a], -0.5f, yr[o1], yi[o1]);                           // y1 = a0 - y1 / 2
                sumDiffRot(yr[o1], yi[o1], yr[o2], yi[o2], h);                           // y1,2 = y1 -+ i h y2
                if (j > 0) {
                    twiddle(yr[o1], yi[o1], twr[2 * j], twi[2 * j]);
                    twiddle(yr[o2], yi[o2], twr[2 * j + 1], twi[2 * j + 1]);
                }
            }
    }

    /** w4 = -i: y0 = (a0 + a2) + (a1 + a3), y2 = (a0 + a2) - (a1 + a3), y1,3 = (a0 - a2) -+ i (a1 - a3). */
    private void radix4(float[][] xr, float[][] xi, float[][] yr, float[][] yi, int m, int s, float[] twr, float[] twi) {
        for (int j = 0; j < m; j++)
            for (int u = 0; u < s; u++) {
                int a = s * j + u, b = s * (j + m) + u, c = s * (j + 2 * m) + u, d = s * (j + 3 * m) + u;
                int o0 = s * 4 * j + u, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
                sumDiff(xr[a], xi[a], xr[c], xi[c], yr[o0], yi[o0], yr[o1], yi[o1]);   // y0 = a0 + a2, y1 = a0 - a2
                sumDiff(xr[b], xi[b], xr[d], xi[d], yr[o2], yi[o2], yr[o3], yi[o3]);   // y2 = a1 + a3, y3 = a1 - a3
                sumDiff(yr[o0], yi[o0], yr[o2], yi[o2], yr[o0], yi[o0], yr[o2], yi[o2]);
                sumDiffRot(yr[o1], yi[o1], yr[o3], yi[o3], 1);
                if (j > 0)
                    for (int t = 1; t < 4; t++) twiddle(yr[o0 + t * s], yi[o0 + t * s], twr[3 * j + t - 1], twi[3 * j + t - 1]);
            }
    }

    /**
     * Any odd prime p: with sums {@code S_r = a_r + a_{p-r}}, differences {@code D_r = a_r - a_{p-r}}
     * (r = 1 .. (p-1)/2) and angles {@code 2 pi r t / p},
     * {@code y_t = A_t - i B_t}, {@code y_{p-t} = A_t + i B_t}, where
     * {@code A_t = a_0 + sum_r S_r cos}, {@code B_t = sum_r D_r sin}.
     */
    private void radixOdd(float[][] xr, float[][] xi, float[][] yr, float[][] yi, int p, int m, int s, int pass) {
        float[] cs = cosP[pass], sn = sinP[pass], tr = twr[pass], ti = twi[pass];
        int half = (p - 1) / 2;
        for (int j = 0; j < m; j++)
            for (int u = 0; u < s; u++) {
                int a0 = s * j + u, o = s * p * j + u;
                // scratch rows: S_r at r - 1, D_r at half + r - 1
                for (int r = 1; r <= half; r++) {
                    int a = s * (j + r * m) + u, b = s * (j + (p - r) * m) + u;
                    sumDiff(xr[a], xi[a], xr[b], xi[b], sr[r - 1], si[r - 1], sr[half + r - 1], si[half + r - 1]);
                }
                // y_0 = a_0 + sum_r S_r
                System.arraycopy(xr[a0], 0, yr[o], 0, lanes);
                System.arraycopy(xi[a0], 0, yi[o], 0, lanes);
                for (int r = 1; r <= half; r++) axpy(1, sr[r - 1], si[r - 1], yr[o], yi[o]);
                for (int t = 1; t <= half; t++) {
                    // A_t into row t, B_t into row p - t
                    float[] atr = yr[o + t * s], ati = yi[o + t * s], btr = yr[o + (p - t) * s], bti = yi[o + (p - t) * s];
                    System.arraycopy(xr[a0], 0, atr, 0, lanes);
                    System.arraycopy(xi[a0], 0, ati, 0, lanes);
                    java.util.Arrays.fill(btr, 0, lanes, 0f);
                    java.util.Arrays.fill(bti, 0, lanes, 0f);
                    for (int r = 1; r <= half; r++) {
                        axpy(cs[r * p + t], sr[r - 1], si[r - 1], atr, ati);
                        axpy(sn[r * p + t], sr[half + r - 1], si[half + r - 1], btr, bti);
                    }
                    sumDiffRot(atr, ati, btr, bti, 1);
                    if (j > 0) {
                        twiddle(atr, ati, tr[j * (p - 1) + t - 1], ti[j * (p - 1) + t - 1]);
                        twiddle(btr, bti, tr[j * (p - 1) + p - t - 1], ti[j * (p - 1) + p - t - 1]);
                    }
                }
            }
    }

    // ---------------------------------------------------------------- row loops (q < lanes)

    /** s = a + b, d = a - b (s or d may be a or b). */
    private void sumDiff(float[] ar, float[] ai, float[] br, float[] bi, float[] sr, float[] si, float[] dr, float[] di) {
        for (int q = 0; q < lanes; q++) {
            float a = ar[q], b = ai[q], c = br[q], d = bi[q];
            sr[q] = a + c;
            si[q] = b + d;
            dr[q] = a - c;
            di[q] = b - d;
        }
    }

    /** In place: (a, b) = (a - i c b, a + i c b), c real. */
    private void sumDiffRot(float[] ar, float[] ai, float[] br, float[] bi, float c) {
        for (int q = 0; q < lanes; q++) {
            float a = ar[q], b = ai[q], e = c * br[q], d = c * bi[q];
            ar[q] = a + d;
            ai[q] = b - e;
            br[q] = a - d;
            bi[q] = b + e;
        }
    }

    /** y = a + b. */
    private void add(float[] ar, float[] ai, float[] br, float[] bi, float[] yr, float[] yi) {
        for (int q = 0; q < lanes; q++) {
            yr[q] = ar[q] + br[q];
            yi[q] = ai[q] + bi[q];
        }
    }

    /** In place: y = a + c y, c real. */
    private void scaleAdd(float[] ar, float[] ai, float c, float[] yr, float[] yi) {
        for (int q = 0; q < lanes; q++) {
            yr[q] = ar[q] + c * yr[q];
            yi[q] = ai[q] + c * yi[q];
        }
    }

    /** y += c x, c real. */
    private void axpy(float c, float[] xr, float[] xi, float[] yr, float[] yi) {
        for (int q = 0; q < lanes; q++) {
            yr[q] += c * xr[q];
            yi[q] += c * xi[q];
        }
    }

    /** In place: y = y (cr + i ci); also the Bluestein chirps. */
    private static void twiddle(float[] yr, float[] yi, float cr, float ci) {
        twiddle(yr, yi, cr, ci, yr, yi);
    }

    /** z = y (cr + i ci) (z may be y). */
    private static void twiddle(float[] yr, float[] yi, float cr, float ci, float[] zr, float[] zi) {
        for (int q = 0; q < zr.length; q++) {
            float a = yr[q], b = yi[q];
            zr[q] = a * cr - b * ci;
            zi[q] = a * ci + b * cr;
        }
    }

    // ---------------------------------------------------------------- Bluestein

    private void bluestein(float[][] re, float[][] im) {
        int l = conv.n;
        // a = x c* (n rows), zero padded to L rows
        for (int j = 0; j < n; j++) twiddle(re[j], im[j], chr[j], chi[j], ar[j], ai[j]);
        for (int j = n; j < l; j++) {
            java.util.Arrays.fill(ar[j], 0f);
            java.util.Arrays.fill(ai[j], 0f);
        }
        // a * c = IDFT(DFT(a) DFT(c)) / L (the 1/L is in bh)
        conv.forward(ar, ai);
        for (int k = 0; k < l; k++) twiddle(ar[k], ai[k], bhr[k], bhi[k]);
        conv.forward(ai, ar);
        // X = c* (a * c), first n rows
        for (int k = 0; k < n; k++) twiddle(ar[k], ai[k], chr[k], chi[k], re[k], im[k]);
    }
}
