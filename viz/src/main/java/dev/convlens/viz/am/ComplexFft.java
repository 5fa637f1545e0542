package dev.convlens.viz.am;

/**
 * The unnormalized forward complex DFT of length {@code n}, for any {@code n >= 1}, applied to
 * {@code lanes} independent sequences at once, in float, in place:
 * <pre>
 *   X[k, b] = sum_{j=0}^{n-1} x[j, b] e^{-2 pi i j k / n},     k = 0 .. n-1,  b = 0 .. lanes-1
 * </pre>
 * on split planes {@code re, im (n, lanes)} (element {@code (j, b)} at {@code j * lanes + b}). The
 * sequences run down the columns, so every butterfly is a loop over a contiguous row of lanes, which
 * the JIT turns into SIMD. The inverse (sign +, still unnormalized) is the same call with the planes
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
    /** Ping-pong workspace (n, lanes); scratch for the generic butterfly (p - 1 rows of a pass). */
    private final float[] wr, wi, sr, si;

    // Bluestein (null unless n has a prime factor > MAX_RADIX)
    private final ComplexFft conv;
    /** The chirp c*[j] = e^{-i pi j^2 / n}, (n); the spectrum of c over L, divided by L, (L). */
    private final float[] chr, chi, bhr, bhi;
    /** (L, lanes): the padded sequence being convolved. */
    private final float[] ar, ai;

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
            float[] br = new float[l], bi = new float[l];
            for (int j = 0; j < n; j++) {
                br[j] = chr[j];
                bi[j] = -chi[j];
                if (j > 0) {
                    br[l - j] = chr[j];
                    bi[l - j] = -chi[j];
                }
            }
            new ComplexFft(l, 1).forward(br, bi);
            for (int i = 0; i < l; i++) {
                br[i] /= l;
                bi[i] /= l;
            }
            bhr = br;
            bhi = bi;
            ar = new float[l * lanes];
            ai = new float[l * lanes];
            return;
        }
        conv = null;
        chr = chi = bhr = bhi = ar = ai = null;
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
                // rows of (n / len) lanes-blocks: the stride S of this pass, times p - 1
                scratch = Math.max(scratch, (p - 1) * (n / len) * lanes);
            }
            len = m;
        }
        wr = new float[n * lanes];
        wi = new float[n * lanes];
        sr = new float[scratch];
        si = new float[scratch];
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

    /** In place: (re, im) (n, lanes) = DFT along the rows' index of (re, im). */
    void forward(float[] re, float[] im) {
        if (conv != null) {
            bluestein(re, im);
            return;
        }
        float[] xr = re, xi = im, yr = wr, yi = wi;
        int len = n, s = lanes; // s: the lane stride S = (n / len) * lanes
        for (int pass = 0; pass < radix.length; pass++) {
            int p = radix[pass], m = len / p;
            switch (p) {
                case 2 -> radix2(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                case 3 -> radix3(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                case 4 -> radix4(xr, xi, yr, yi, m, s, twr[pass], twi[pass]);
                default -> radixOdd(xr, xi, yr, yi, p, m, s, pass);
            }
            float[] t = xr;
            xr = yr;
            yr = t;
            t = xi;
            xi = yi;
            yi = t;
            len = m;
            s *= p;
        }
        if (xr != re) {
            System.arraycopy(xr, 0, re, 0, n * lanes);
            System.arraycopy(xi, 0, im, 0, n * lanes);
        }
    }

    // ---------------------------------------------------------------- butterflies
    // x at [s (j + r m) + q], y at [s (p j + t) + q], q < s; twiddle (j, t) at [j (p-1) + t - 1].

    private static void radix2(float[] xr, float[] xi, float[] yr, float[] yi, int m, int s, float[] twr, float[] twi) {
        for (int j = 0; j < m; j++) {
            int a = s * j, b = s * (j + m), o0 = s * 2 * j, o1 = o0 + s;
            float cr = twr[j], ci = twi[j];
            for (int q = 0; q < s; q++) {
                float ar = xr[a + q], ai = xi[a + q], br = xr[b + q], bi = xi[b + q];
                yr[o0 + q] = ar + br;
                yi[o0 + q] = ai + bi;
                float dr = ar - br, di = ai - bi;
                yr[o1 + q] = dr * cr - di * ci;
                yi[o1 + q] = dr * ci + di * cr;
            }
        }
    }

    /** w3 = e^{-2 pi i/3} = -1/2 - i sqrt(3)/2: y1,2 = a0 - (a1 + a2)/2 -+ i sqrt(3)/2 (a1 - a2). */
    private static void radix3(float[] xr, float[] xi, float[] yr, float[] yi, int m, int s, float[] twr, float[] twi) {
        final float h = (float) (Math.sqrt(3) / 2);
        for (int j = 0; j < m; j++) {
            int a = s * j, b = s * (j + m), c = s * (j + 2 * m), o0 = s * 3 * j, o1 = o0 + s, o2 = o1 + s;
            float c1r = twr[2 * j], c1i = twi[2 * j], c2r = twr[2 * j + 1], c2i = twi[2 * j + 1];
            for (int q = 0; q < s; q++) {
                float a0r = xr[a + q], a0i = xi[a + q], a1r = xr[b + q], a1i = xi[b + q], a2r = xr[c + q], a2i = xi[c + q];
                float sr = a1r + a2r, si = a1i + a2i, dr = h * (a1r - a2r), di = h * (a1i - a2i);
                float mr = a0r - 0.5f * sr, mi = a0i - 0.5f * si;
                yr[o0 + q] = a0r + sr;
                yi[o0 + q] = a0i + si;
                float y1r = mr + di, y1i = mi - dr, y2r = mr - di, y2i = mi + dr;
                yr[o1 + q] = y1r * c1r - y1i * c1i;
                yi[o1 + q] = y1r * c1i + y1i * c1r;
                yr[o2 + q] = y2r * c2r - y2i * c2i;
                yi[o2 + q] = y2r * c2i + y2i * c2r;
            }
        }
    }

    /** w4 = -i: y0 = (a0 + a2) + (a1 + a3), y2 = (a0 + a2) - (a1 + a3), y1,3 = (a0 - a2) -+ i (a1 - a3). */
    private static void radix4(float[] xr, float[] xi, float[] yr, float[] yi, int m, int s, float[] twr, float[] twi) {
        for (int j = 0; j < m; j++) {
            int a = s * j, b = s * (j + m), c = s * (j + 2 * m), d = s * (j + 3 * m);
            int o0 = s * 4 * j, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
            float c1r = twr[3 * j], c1i = twi[3 * j], c2r = twr[3 * j + 1], c2i = twi[3 * j + 1];
            float c3r = twr[3 * j + 2], c3i = twi[3 * j + 2];
            for (int q = 0; q < s; q++) {
                float a0r = xr[a + q], a0i = xi[a + q], a1r = xr[b + q], a1i = xi[b + q];
                float a2r = xr[c + q], a2i = xi[c + q], a3r = xr[d + q], a3i = xi[d + q];
                float b0r = a0r + a2r, b0i = a0i + a2i, b1r = a0r - a2r, b1i = a0i - a2i;
                float b2r = a1r + a3r, b2i = a1i + a3i, b3r = a1r - a3r, b3i = a1i - a3i;
                yr[o0 + q] = b0r + b2r;
                yi[o0 + q] = b0i + b2i;
                float y1r = b1r + b3i, y1i = b1i - b3r, y2r = b0r - b2r, y2i = b0i - b2i, y3r = b1r - b3i, y3i = b1i + b3r;
                yr[o1 + q] = y1r * c1r - y1i * c1i;
                yi[o1 + q] = y1r * c1i + y1i * c1r;
                yr[o2 + q] = y2r * c2r - y2i * c2i;
                yi[o2 + q] = y2r * c2i + y2i * c2r;
                yr[o3 + q] = y3r * c3r - y3i * c3i;
                yi[o3 + q] = y3r * c3i + y3i * c3r;
            }
        }
    }

    /**
     * Any odd prime p: with sums {@code S_r = a_r + a_{p-r}}, differences {@code D_r = a_r - a_{p-r}}
     * (r = 1 .. (p-1)/2) and angles {@code 2 pi r t / p},
     * {@code y_t = A_t - i B_t}, {@code y_{p-t} = A_t + i B_t}, where
     * {@code A_t = a_0 + sum_r S_r cos}, {@code B_t = sum_r D_r sin}. Row updates over q.
     */
    private void radixOdd(float[] xr, float[] xi, float[] yr, float[] yi, int p, int m, int s, int pass) {
        float[] cs = cosP[pass], sn = sinP[pass], tr = twr[pass], ti = twi[pass];
        int half = (p - 1) / 2;
        for (int j = 0; j < m; j++) {
            int a0 = s * j, o = s * p * j;
            // scratch rows: S_r at (r - 1) s, D_r at (half + r - 1) s
            for (int r = 1; r <= half; r++) {
                int u = s * (j + r * m), v = s * (j + (p - r) * m), ps = (r - 1) * s, pd = (half + r - 1) * s;
                for (int q = 0; q < s; q++) {
                    float ur = xr[u + q], ui = xi[u + q], vr = xr[v + q], vi = xi[v + q];
                    sr[ps + q] = ur + vr;
                    si[ps + q] = ui + vi;
                    sr[pd + q] = ur - vr;
                    si[pd + q] = ui - vi;
                }
            }
            // y_0 = a_0 + sum_r S_r
            for (int q = 0; q < s; q++) {
                yr[o + q] = xr[a0 + q];
                yi[o + q] = xi[a0 + q];
            }
            for (int r = 1; r <= half; r++) {
                int ps = (r - 1) * s;
                for (int q = 0; q < s; q++) {
                    yr[o + q] += sr[ps + q];
                    yi[o + q] += si[ps + q];
                }
            }
            for (int t = 1; t <= half; t++) {
                int ot = o + t * s, ou = o + (p - t) * s; // A_t into row t, B_t into row p - t
                for (int q = 0; q < s; q++) {
                    yr[ot + q] = xr[a0 + q];
                    yi[ot + q] = xi[a0 + q];
                    yr[ou + q] = 0;
                    yi[ou + q] = 0;
                }
                for (int r = 1; r <= half; r++) {
                    float c = cs[r * p + t], sv = sn[r * p + t];
                    int ps = (r - 1) * s, pd = (half + r - 1) * s;
                    for (int q = 0; q < s; q++) {
                        yr[ot + q] += c * sr[ps + q];
                        yi[ot + q] += c * si[ps + q];
                        yr[ou + q] += sv * sr[pd + q];
                        yi[ou + q] += sv * si[pd + q];
                    }
                }
                // -i B = (B_i, -B_r): y_t = A - i B, y_{p-t} = A + i B; then the twiddles
                float c1r = tr[j * (p - 1) + t - 1], c1i = ti[j * (p - 1) + t - 1];
                float c2r = tr[j * (p - 1) + p - t - 1], c2i = ti[j * (p - 1) + p - t - 1];
                for (int q = 0; q < s; q++) {
                    float ar = yr[ot + q], ai = yi[ot + q], br = yr[ou + q], bi = yi[ou + q];
                    float y1r = ar + bi, y1i = ai - br, y2r = ar - bi, y2i = ai + br;
                    yr[ot + q] = y1r * c1r - y1i * c1i;
                    yi[ot + q] = y1r * c1i + y1i * c1r;
                    yr[ou + q] = y2r * c2r - y2i * c2i;
                    yi[ou + q] = y2r * c2i + y2i * c2r;
                }
            }
        }
    }

    // ---------------------------------------------------------------- Bluestein

    private void bluestein(float[] re, float[] im) {
        int l = conv.n, b = lanes;
        // a = x c* (n rows), zero padded to L rows
        for (int j = 0; j < n; j++) {
            float cr = chr[j], ci = chi[j];
            int o = j * b;
            for (int q = 0; q < b; q++) {
                float xr = re[o + q], xi = im[o + q];
                ar[o + q] = xr * cr - xi * ci;
                ai[o + q] = xr * ci + xi * cr;
            }
        }
        java.util.Arrays.fill(ar, n * b, l * b, 0f);
        java.util.Arrays.fill(ai, n * b, l * b, 0f);
        // a * c = IDFT(DFT(a) DFT(c)) / L (the 1/L is in bh)
        conv.forward(ar, ai);
        for (int k = 0; k < l; k++) {
            float cr = bhr[k], ci = bhi[k];
            int o = k * b;
            for (int q = 0; q < b; q++) {
                float xr = ar[o + q], xi = ai[o + q];
                ar[o + q] = xr * cr - xi * ci;
                ai[o + q] = xr * ci + xi * cr;
            }
        }
        conv.forward(ai, ar);
        // X = c* (a * c), first n rows
        for (int k = 0; k < n; k++) {
            float cr = chr[k], ci = chi[k];
            int o = k * b;
            for (int q = 0; q < b; q++) {
                float xr = ar[o + q], xi = ai[o + q];
                re[o + q] = xr * cr - xi * ci;
                im[o + q] = xr * ci + xi * cr;
            }
        }
    }
}
