package dev.convlens.tensor.kernels;

/**
 * Plain loops that read like the formulas in {@link Kernels}: the specification every fast
 * kernel is tested against. Sums are accumulated in double, so the reference is at least as
 * accurate as any float kernel it checks. Single-threaded and slow on purpose.
 */
public final class ReferenceKernels implements Kernels {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void convForward(ConvGeom g, float[] x, float[] w, float[] b, float[] y) {
        int cg = g.cg(), kg = g.kg();
        for (int n = 0; n < g.n(); n++)
            for (int k = 0; k < g.k(); k++) {
                int grp = k / kg;
                for (int oy = 0; oy < g.oh(); oy++)
                    for (int ox = 0; ox < g.ow(); ox++) {
                        double acc = b == null ? 0 : b[k];
                        for (int ci = 0; ci < cg; ci++) {
                            int c = grp * cg + ci;
                            for (int r = 0; r < g.r(); r++) {
                                int iy = oy * g.strideH() - g.padTop() + r * g.dilH();
                                if (iy < 0 || iy >= g.h()) continue;
                                for (int s = 0; s < g.s(); s++) {
                                    int ix = ox * g.strideW() - g.padLeft() + s * g.dilW();
                                    if (ix < 0 || ix >= g.w()) continue;
                                    acc += (double) w[((k * cg + ci) * g.r() + r) * g.s() + s]
                                            * x[((n * g.c() + c) * g.h() + iy) * g.w() + ix];
                                }
                            }
                        }
                        y[((n * g.k() + k) * g.oh() + oy) * g.ow() + ox] = (float) acc;
                    }
            }
    }

    @Override
    public void convBackwardData(ConvGeom g, float[] dy, float[] w, float[] dx) {
        // dx[n,c,iy,ix] = sum over (k in c's group, r, s) with iy = oy*sh - pt + r*dh for an integer oy in range
        int cg = g.cg(), kg = g.kg();
        for (int n = 0; n < g.n(); n++)
            for (int c = 0; c < g.c(); c++) {
                int grp = c / cg, ci = c % cg;
                for (int iy = 0; iy < g.h(); iy++)
                    for (int ix = 0; ix < g.w(); ix++) {
                        double acc = 0;
                        for (int k = grp * kg; k < (grp + 1) * kg; k++)
                            for (int r = 0; r < g.r(); r++) {
                                int ty = iy + g.padTop() - r * g.dilH();
                                if (ty < 0 || ty % g.strideH() != 0 || ty / g.strideH() >= g.oh()) continue;
                                int oy = ty / g.strideH();
                                for (int s = 0; s < g.s(); s++) {
                                    int tx = ix + g.padLeft() - s * g.dilW();
                                    if (tx < 0 || tx % g.strideW() != 0 || tx / g.strideW() >= g.ow()) continue;
                                    int ox = tx / g.strideW();
                                    acc += (double) dy[((n * g.k() + k) * g.oh() + oy) * g.ow() + ox]
                                            * w[((k * cg + ci) * g.r() + r) * g.s() + s];
                                }
                            }
                        dx[((n * g.c() + c) * g.h() + iy) * g.w() + ix] = (float) acc;
                    }
            }
    }

    @Override
    public void convBackwardWeights(ConvGeom g, float[] x, float[] dy, float[] dw, float[] db) {
        int cg = g.cg(), kg = g.kg();
        for (int k = 0; k < g.k(); k++) {
            int grp = k / kg;
            if (db != null) {
                double acc = 0;
                for (int n = 0; n < g.n(); n++)
                    for (int o = 0; o < g.oh() * g.ow(); o++) acc += dy[(n * g.k() + k) * g.oh() * g.ow() + o];
                db[k] = (float) acc;
            }
            if (dw == null) continue;
            for (int ci = 0; ci < cg; ci++) {
                int c = grp * cg + ci;
                for (int r = 0; r < g.r(); r++)
                    for (int s = 0; s < g.s(); s++) {
                        double acc = 0;
                        for (int n = 0; n < g.n(); n++)
                            for (int oy = 0; oy < g.oh(); oy++) {
                                int iy = oy * g.strideH() - g.padTop() + r * g.dilH();
                                if (iy < 0 || iy >= g.h()) continue;
                                for (int ox = 0; ox < g.ow(); ox++) {
                                    int ix = ox * g.strideW() - g.padLeft() + s * g.dilW();
                                    if (ix < 0 || ix >= g.w()) continue;
                                    acc += (double) dy[((n * g.k() + k) * g.oh() + oy) * g.ow() + ox]
                                            * x[((n * g.c() + c) * g.h() + iy) * g.w() + ix];
                                }
                            }
                        dw[((k * cg + ci) * g.r() + r) * g.s() + s] = (float) acc;
                    }
            }
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int kk, float alpha,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < kk; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    acc += (double) av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = (float) (alpha * acc + (beta == 0 ? 0 : beta * c[ci]));
            }
    }
}
