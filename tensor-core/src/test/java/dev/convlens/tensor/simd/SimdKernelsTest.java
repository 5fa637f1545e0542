package dev.convlens.tensor.simd;

import static dev.convlens.tensor.testing.KernelChecks.assertClose;
import static dev.convlens.tensor.testing.KernelChecks.geom;
import static dev.convlens.tensor.testing.KernelChecks.nans;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.kernels.Backend;
import dev.convlens.tensor.kernels.ConvGeom;
import dev.convlens.tensor.kernels.Kernels;
import dev.convlens.tensor.kernels.ReferenceKernels;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every SIMD kernel against {@link ReferenceKernels} on awkward shapes: prime channel counts,
 * spatial sizes that are no multiple of the vector length, stride, dilation, asymmetric pads,
 * groups, depthwise, 1x1 and 7x7, batch > 1, depths above one K block, with 1 and 2 threads.
 * Outputs are pre-filled with NaN, so an element the kernel forgets to write fails the test.
 */
class SimdKernelsTest {

    final Kernels ref = new ReferenceKernels();

    /** name, n, c, h, w, k, r, s, strideH, strideW, padTop, padLeft, padBottom, padRight, dilH, dilW, groups. */
    static Stream<Arguments> convs() {
        int[][] shapes = {
                {2, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},     // 3x3 pad 1, primes
                {3, 5, 13, 13, 7, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, 1},   // stride 2, asymmetric pads
                {2, 7, 17, 5, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},   // dilation 2
                {2, 6, 13, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},  // groups 2
                {2, 7, 13, 13, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 7},   // depthwise, stride 2
                {3, 13, 7, 9, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},    // 1x1 (no im2col)
                {2, 5, 13, 13, 7, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},   // 1x1 stride 2 (downsample)
                {2, 3, 17, 17, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},   // 7x7 stride 2 pad 3 (conv1)
                {1, 37, 13, 13, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // depth 333: two K blocks
                {2, 5, 17, 17, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 289 pixels: two pixel blocks
                {1, 3, 7, 9, 263, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // kg 263: two K blocks in backward-data
                {1, 7, 5, 5, 300, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},   // 1x1 with kg 300
                {1, 5, 19, 19, 11, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1},  // 342 pixels: packed weights, asymmetric pads
                {2, 7, 15, 20, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},   // 1x1 over 300 pixels: packed weights
                {1, 117, 5, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // depth 1053: 33 dw column panels, two chunks
                {2, 4, 11, 13, 5, 3, 2, 3, 3, 1, 2, 0, 1, 1, 1, 1},   // stride 3, 3x2 kernel, pads cut by the stride
                {2, 37, 23, 21, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // Winograd: 132 tiles per image, odd output sizes, K % MR != 0; backward-data F(4x4, 3x3): 36 tiles
                {1, 300, 30, 30, 9, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1}, // Winograd: C in two K blocks, asymmetric pads
                {1, 2, 23, 19, 6, 5, 5, 2, 2, 2, 1, 2, 3, 1, 1, 1},   // backward-data in 6 strips of 2 output rows (2 channels)
                {1, 3, 21, 21, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1},   // the same, dilation 2
                {2, 17, 38, 13, 270, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // Winograd on a tall narrow map: 133 tiles, rows of 7 padded to 16, K 270; backward-data F(4x4, 3x3), C in two K blocks
                {1, 300, 38, 13, 9, 3, 3, 1, 1, 0, 1, 2, 1, 1, 1, 1}, // Winograd on a tall narrow map, C in two K blocks, asymmetric pads
                {2, 6, 40, 37, 5, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},   // 5x5 pad 2 (AlexNet's conv2): rows longer than a panel, two border columns each side
                {1, 40, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // layer4-like 7x7: a panel spans five output rows, depth 360 in two K blocks; backward-data F(4x4, 3x3) by the call's rule (4 tiles)
                {2, 5, 16, 22, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},   // stride 2 over even sizes (phase planes), 176 pixels
                {1, 40, 14, 14, 33, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, // layer4.0-like: phase planes, two panels (few-panels path)
                {3, 4, 20, 20, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 6 K blocks of backward-weights over 4 runs (2 threads: split sum)
                {1, 3, 130, 129, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}, // conv1-like over 65-pixel rows: col2im into dx's phase planes, strips, odd width
                {2, 9, 128, 134, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, // the same, 3x3 pad 1, no strips (18 channel pairs), 4 ragged panels per row
                {3, 40, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 7x7 maps in a batch: forward panels across images; backward-weights' K block over 3 images (1 thread); backward-data F(4x4, 3x3), a chunk across images
                {3, 232, 5, 6, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 30 pixels, depth 2088: backward-weights' K block over 3 images on 2 threads too
                {3, 40, 9, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},    // stride 2, 25 pixels: backward-weights' runs (row) across images
                {2, 3, 67, 61, 5, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1, 1}, // 11x11 stride 4 pad 2 (AlexNet's conv1): output rows of 14, shorter than a vector
                {1, 3, 100, 141, 6, 11, 11, 4, 4, 2, 1, 3, 2, 1, 1, 1}, // the same over rows of 34 (three vectors), asymmetric pads
                {5, 37, 24, 30, 21, 3, 3, 1, 1, 1, 2, 1, 0, 1, 1, 1},  // backward-weights on shifted grids: 5 images in 4 runs (2 threads), channel tails, asymmetric pads
                {2, 33, 21, 40, 9, 5, 3, 1, 1, 2, 1, 2, 1, 1, 1, 1},   // the same, a 5x3 kernel: rows of 42 cells (a whole block of 16 pixels, then one overlapping it)
                {3, 3, 70, 75, 37, 7, 7, 2, 2, 3, 2, 3, 4, 1, 1, 1},  // backward-weights with a row's taps in the lanes (conv1-like): 3 images in 2 or 3 runs, 2 k blocks (the second of 5), asymmetric pads
                {2, 3, 150, 140, 9, 11, 11, 4, 4, 2, 2, 2, 1, 1, 1, 1}, // the same, 11x11 stride 4 (AlexNet's conv1): two tap panels a row (11 of 16 lanes), rows of 34
                {2, 3, 24, 30, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 3x3 stride 1 with 3 input channels (VGG's conv1_1): forward direct (too few channels for Winograd), backward-data Winograd F(2x2, 3x3) (20 channels, under F(4x4)'s 32), backward-weights im2col (too few for shifted grids)
                {2, 3, 40, 64, 19, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},  // forward reading B in place from padded phase planes (conv1-like, output rows of 32): panels inside rows, k % MR != 0
                {1, 5, 33, 31, 9, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 1},   // the same over odd sizes, asymmetric pads, rows of 16: every panel across two rows, a last half panel
        };
        String[] names = {"3x3 pad 1", "stride 2 asym pads", "dilation 2", "groups 2", "depthwise s2",
                "1x1", "1x1 stride 2", "7x7 stride 2", "depth 333", "289 pixels", "kg 263", "1x1 kg 300", "342 pixels", "1x1 300 pixels", "depth 1053", "stride 3", "winograd", "winograd C 300",
                "strips", "strips dilated", "winograd tall", "winograd tall C 300", "5x5 pad 2", "7x7 map", "stride 2 even", "stride 2 few panels", "split sum",
                "phased col2im", "phased col2im no strips", "7x7 batch", "30 px batch, depth 2088", "stride 2 batch",
                "11x11 stride 4", "11x11 stride 4 wide rows", "shifted grids", "shifted grids 5x3", "row taps", "row taps 11x11", "3 channels 3x3",
                "in place 7x7 stride 2", "in place odd sizes"};
        Stream.Builder<Arguments> out = Stream.builder();
        for (int threads = 1; threads <= 2; threads++)
            for (int i = 0; i < shapes.length; i++) out.add(Arguments.of(names[i], shapes[i], threads));
        return out.build();
    }



    @ParameterizedTest(name = "{0}, {2} threads")
    @MethodSource("convs")
    void convolutionMatchesReference(String name, int[] shape, int threads) {
        ConvGeom g = geom(shape);
        Kernels simd = SimdKernels.create(threads);
        int xn = g.n() * g.c() * g.h() * g.w(), wn = g.k() * g.cg() * g.r() * g.s(), yn = g.n() * g.k() * g.oh() * g.ow();
        float[] x = Tensor.uniform(1, -1, 1, xn).data, w = Tensor.uniform(2, -1, 1, wn).data;
        float[] b = Tensor.uniform(3, -1, 1, g.k()).data, dy = Tensor.uniform(4, -1, 1, yn).data;

        float[] yRef = new float[yn], y = nans(yn);
        ref.convForward(g, x, w, b, yRef);
        simd.convForward(g, x, w, b, y);
        assertClose(name + " forward", yRef, y);
        ref.convForward(g, x, w, null, yRef);
        simd.convForward(g, x, w, null, y);
        assertClose(name + " forward without bias", yRef, y);

        // the fused epilogue (batch norm in inference and ReLU): scale of both signs, so both sides of the kink occur
        float[] scale = Tensor.uniform(5, -2, 2, g.k()).data, shift = Tensor.uniform(6, -1, 1, g.k()).data;
        float[] res = Tensor.uniform(7, -1, 1, yn).data;
        for (boolean relu : new boolean[] {false, true})
            for (float[] r : new float[][] {null, res}) {
                String what = name + " forward affine relu=" + relu + (r == null ? "" : " with residual");
                ref.convForwardAffine(g, x, w, b, scale, shift, r, relu, yRef);
                y = nans(yn);
                simd.convForwardAffine(g, x, w, b, scale, shift, r, relu, y);
                assertClose(what, yRef, y);
                if (relu) for (float v : y) assertTrue(v >= 0f, what + ": negative value after the fused ReLU");
            }
        ref.convForwardAffine(g, x, w, null, null, null, null, true, yRef);
        y = nans(yn);
        simd.convForwardAffine(g, x, w, null, null, null, null, true, y);
        assertClose(name + " forward relu only", yRef, y);

        float[] dxRef = new float[xn], dx = nans(xn);
        ref.convBackwardData(g, dy, w, dxRef);
        simd.convBackwardData(g, dy, w, dx);
        assertClose(name + " backward-data", dxRef, dx);

        float[] dwRef = new float[wn], dbRef = new float[g.k()], dw = nans(wn), db = nans(g.k());
        ref.convBackwardWeights(g, x, dy, dwRef, dbRef);
        simd.convBackwardWeights(g, x, dy, dw, db);
        assertClose(name + " backward-weights dw", dwRef, dw);
        assertClose(name + " backward-weights db", dbRef, db);
        float[] dwOnly = nans(wn), dbOnly = nans(g.k());
        simd.convBackwardWeights(g, x, dy, dwOnly, null);
        assertClose(name + " weights only", dwRef, dwOnly);
        simd.convBackwardWeights(g, x, dy, null, dbOnly);
        assertClose(name + " bias only", dbRef, dbOnly);
    }

    /**
     * An image alone (few column panels: col(x) packed whole, output channels split over threads) and
     * the same image inside a batch of 5 (column strips per image, or panels across images) give the
     * same bits: all paths sum over the same K blocks in the same order; Winograd's chunks are per image.
     */
    @ParameterizedTest(name = "{0} threads")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void forwardBitsDoNotDependOnTheBatchAroundAnImage(int threads) {
        sameBitsAloneAndInABatch(threads, 11, 11, 83);   // direct: 4 panels alone (col(x) packed whole), panels across images in the batch, depth 333
        sameBitsAloneAndInABatch(threads, 7, 7, 83);     // 49 pixels: panels of the batch cut 17/15, 2/30, ...
        sameBitsAloneAndInABatch(threads, 6, 9, 83);     // 54 pixels (rows of 9): cuts inside output rows
        sameBitsAloneAndInABatch(threads, 8, 8, 83);     // 64 pixels: whole panels, so the batch takes the column strips
        sameBitsAloneAndInABatch(threads, 28, 7, 7, 83); // depth 252: a single K block
        sameBitsAloneAndInABatch(threads, 23, 23, 83);   // Winograd: 144 tiles per image
        sameBitsAloneAndInABatch(threads, 38, 13, 150);  // Winograd on a tall narrow map (133 tiles, rows of 7)
        sameBitsAloneAndInABatch(threads, 5, 32, 32, 19, 2); // stride 2, 16x16 out: alone 8 panels (few-panels path, B packed), in the batch B read in place
        int saved = SimdKernels.winoChunkFloats;
        try {
            SimdKernels.winoChunkFloats = 16 * 83 * 16 * 3;    // chunks of 3 rows of tiles: 4 per image
            sameBitsAloneAndInABatch(threads, 23, 23, 83);
            sameBitsAloneAndInABatch(threads, 34, 17, 83);   // rows of 9 tiles padded to 16: chunks of 3 rows
        } finally {
            SimdKernels.winoChunkFloats = saved;
        }
    }

    /**
     * Backward-data as Winograd F(4x4, 3x3) cuts the batch's tiles into chunks of whole column panels,
     * across rows of tiles and images (3 images of 36 tiles; chunks of 1, 2 (the default here) and 5
     * panels): the bits must not depend on where the cuts fall. And an image's bits do not depend on
     * the images around it while the rule is per image (36 tiles an image; 23x23 maps).
     */
    @ParameterizedTest(name = "{0} threads")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void winogradBackwardDataBitsDoNotDependOnTheChunks(int threads) {
        Kernels simd = SimdKernels.create(threads);
        ConvGeom g = geom(new int[] {3, 37, 23, 23, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
        int xn = 37 * 23 * 23, yn = 41 * 23 * 23;
        float[] dy = Tensor.uniform(31, -1, 1, 3 * yn).data, w = Tensor.uniform(32, -1, 1, 41 * 37 * 9).data;
        float[] dx = nans(3 * xn);
        simd.convBackwardData(g, dy, w, dx);
        int saved = SimdKernels.winoChunkFloats;
        try {
            for (int panels : new int[] {1, 5}) {
                SimdKernels.winoChunkFloats = 36 * 41 * 32 * panels;
                float[] again = nans(3 * xn);
                simd.convBackwardData(g, dy, w, again);
                assertTrue(Arrays.equals(dx, again), "backward-data in chunks of " + panels + " panels: other bits");
            }
        } finally {
            SimdKernels.winoChunkFloats = saved;
        }
        ConvGeom one = geom(new int[] {1, 37, 23, 23, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
        float[] alone = nans(xn);
        simd.convBackwardData(one, Arrays.copyOfRange(dy, yn, 2 * yn), w, alone);
        assertTrue(Arrays.equals(Arrays.copyOfRange(dx, xn, 2 * xn), alone), "the middle image alone: other bits than in the batch");
    }

    /**
     * The padded phase planes of the forward that reads B in place are one workspace, reused by every shape:
     * each call writes all of its borders. A larger call over NaN leaves NaN all through the buffer, then
     * each shape must read zeros where its borders lie: conv1-like (two rows and columns before, one after),
     * and odd sizes with asymmetric pads (a last odd row and column with no partner).
     */
    @ParameterizedTest(name = "{0} threads")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void paddedPhasePlanesAreClearedForEachShape(int threads) {
        Kernels simd = SimdKernels.create(threads);
        ConvGeom big = geom(new int[] {2, 3, 80, 96, 5, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1});
        float[] nanX = new float[big.n() * big.c() * big.h() * big.w()];
        Arrays.fill(nanX, Float.NaN);
        float[] bigW = Tensor.uniform(2, -1, 1, big.k() * big.c() * 49).data, bigY = new float[big.n() * big.k() * big.oh() * big.ow()];
        int[][] shapes = {{2, 3, 40, 64, 19, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}, {1, 5, 33, 32, 9, 3, 3, 2, 2, 0, 1, 2, 0, 1, 1, 1},
                {1, 5, 33, 31, 9, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 1}};
        for (int[] shape : shapes) {
            simd.convForward(big, nanX, bigW, null, bigY);
            ConvGeom g = geom(shape);
            float[] x = Tensor.uniform(1, -1, 1, g.n() * g.c() * g.h() * g.w()).data;
            float[] w = Tensor.uniform(2, -1, 1, g.k() * g.c() * g.r() * g.s()).data;
            float[] yRef = new float[g.n() * g.k() * g.oh() * g.ow()], y = nans(yRef.length);
            ref.convForward(g, x, w, null, yRef);
            simd.convForward(g, x, w, null, y);
            assertClose(g.h() + "x" + g.w() + " after a NaN input", yRef, y);
        }
    }

    private void sameBitsAloneAndInABatch(int threads, int h, int wd, int k) {
        sameBitsAloneAndInABatch(threads, 37, h, wd, k);
    }

    private void sameBitsAloneAndInABatch(int threads, int c, int h, int wd, int k) {
        sameBitsAloneAndInABatch(threads, c, h, wd, k, 1);
    }

    /** A 3x3 convolution with pad 1 and the given stride. */
    private void sameBitsAloneAndInABatch(int threads, int c, int h, int wd, int k, int stride) {
        Kernels simd = SimdKernels.create(threads);
        ConvGeom one = geom(new int[] {1, c, h, wd, k, 3, 3, stride, stride, 1, 1, 1, 1, 1, 1, 1});
        ConvGeom five = geom(new int[] {5, c, h, wd, k, 3, 3, stride, stride, 1, 1, 1, 1, 1, 1, 1});
        int xn = c * h * wd, yn = k * one.oh() * one.ow();
        float[] x5 = Tensor.uniform(21, -1, 1, 5 * xn).data, w = Tensor.uniform(22, -1, 1, k * c * 9).data;
        float[] b = Tensor.uniform(23, -1, 1, k).data, scale = Tensor.uniform(24, -2, 2, k).data;
        float[] shift = Tensor.uniform(25, -1, 1, k).data, res5 = Tensor.uniform(26, -1, 1, 5 * yn).data;
        float[] y5 = nans(5 * yn), y1 = nans(yn);
        simd.convForwardAffine(five, x5, w, b, scale, shift, res5, true, y5);
        simd.convForwardAffine(one, Arrays.copyOfRange(x5, 2 * xn, 3 * xn), w, b, scale, shift,
                Arrays.copyOfRange(res5, 2 * yn, 3 * yn), true, y1);
        assertTrue(Arrays.equals(Arrays.copyOfRange(y5, 2 * yn, 3 * yn), y1), h + "x" + wd
                + ": image 2 alone differs from image 2 in the batch");
        float[] yRef = new float[5 * yn];
        ref.convForwardAffine(five, x5, w, b, scale, shift, res5, true, yRef);
        assertClose(h + "x" + wd + " batch of 5", yRef, y5);
    }

    /**
     * transA, transB, m, n, k, threads: small, one K block, several K blocks, enough work to split, enough B
     * panels to pack A; a fully connected layer at a small batch (B^T's rows read in place when transB);
     * a shallow depth with a large C (all of B packed once, C swept by whole row panels: a fully
     * connected layer's weight gradient).
     */
    static Stream<Arguments> gemms() {
        Stream.Builder<Arguments> out = Stream.builder();
        int[][] sizes = {{3, 5, 7}, {13, 37, 300}, {70, 101, 263}, {20, 520, 40}, {1, 1000, 517}, {1, 2100, 70}, {1, 7, 3},
                {13, 2048, 1100}, {32, 1024, 2100}, {1030, 1100, 16}, {1001, 1050, 37}};
        for (int[] s : sizes)
            for (int threads = 1; threads <= 2; threads++)
                for (int t = 0; t < 4; t++) out.add(Arguments.of(t / 2 == 1, t % 2 == 1, s[0], s[1], s[2], threads));
        return out.build();
    }

    @ParameterizedTest(name = "transA={0} transB={1} m={2} n={3} k={4}, {5} threads")
    @MethodSource("gemms")
    void gemmMatchesReference(boolean ta, boolean tb, int m, int n, int k, int threads) {
        Kernels simd = SimdKernels.create(threads);
        int aOff = 3, bOff = 5, cOff = 7;
        int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 3, ldc = n + 4;
        float[] a = Tensor.uniform(11, -1, 1, aOff + (ta ? k : m) * lda).data;
        float[] b = Tensor.uniform(12, -1, 1, bOff + (tb ? n : k) * ldb).data;
        float[] c0 = Tensor.uniform(13, -1, 1, cOff + m * ldc).data;
        String what = "gemm " + (ta ? "T" : "N") + (tb ? "T" : "N") + " " + m + "x" + n + "x" + k;

        float[] cRef = c0.clone(), c = c0.clone();
        ref.gemm(ta, tb, m, n, k, 0.7f, a, aOff, lda, b, bOff, ldb, -0.3f, cRef, cOff, ldc);
        simd.gemm(ta, tb, m, n, k, 0.7f, a, aOff, lda, b, bOff, ldb, -0.3f, c, cOff, ldc);
        assertClose(what + " alpha 0.7 beta -0.3", cRef, c);

        // beta = 0: C is not read, so NaN in C (outside and inside the matrix) must not survive inside it
        float[] cNan = nans(c0.length);
        ref.gemm(ta, tb, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, cRef, cOff, ldc);
        simd.gemm(ta, tb, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, cNan, cOff, ldc);
        float[] inRef = new float[m * n], in = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                inRef[i * n + j] = cRef[cOff + i * ldc + j];
                in[i * n + j] = cNan[cOff + i * ldc + j];
            }
        assertClose(what + " beta 0 over NaN", inRef, in);
        // the padding between rows (j >= n) and before cOff is left alone
        for (int i = 0; i < cOff; i++) assertTrue(Float.isNaN(cNan[i]), what + ": wrote before cOff");
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc && cOff + i * ldc + j < cNan.length; j++)
                assertTrue(Float.isNaN(cNan[cOff + i * ldc + j]), what + ": wrote past column n");
    }

    /**
     * The shallow path (a large C from a depth of at most one K block) sums each element as the
     * blocked path does: rows of a large product have the bits of the same rows computed as a small one.
     */
    @ParameterizedTest(name = "transA={0} transB={1}, {2} threads")
    @org.junit.jupiter.params.provider.CsvSource({"true,false,1", "true,false,2", "false,true,2", "false,false,2"})
    void shallowGemmHasTheBitsOfTheBlockedPath(boolean ta, boolean tb, int threads) {
        Kernels simd = SimdKernels.create(threads);
        int m = 1030, n = 1100, k = 16, rows = 13;          // m*n reaches the shallow path, rows*n does not
        int lda = ta ? m : k, ldb = tb ? k : n;
        float[] a = Tensor.uniform(21, -1, 1, m * k).data, b = Tensor.uniform(22, -1, 1, k * n).data;
        float[] c0 = Tensor.uniform(23, -1, 1, m * n).data, c = c0.clone();
        simd.gemm(ta, tb, m, n, k, 0.7f, a, 0, lda, b, 0, ldb, -0.3f, c, 0, n);
        for (int i0 : new int[] {0, 517, m - rows}) {
            float[] part = java.util.Arrays.copyOfRange(c0, i0 * n, (i0 + rows) * n);
            // rows i0.. of A: (rows, k) from row i0 on, or its columns i0.. when A is stored transposed
            simd.gemm(ta, tb, rows, n, k, 0.7f, a, ta ? i0 : i0 * k, lda, b, 0, ldb, -0.3f, part, 0, n);
            for (int i = 0; i < rows * n; i++)
                assertEquals(Float.floatToRawIntBits(part[i]), Float.floatToRawIntBits(c[i0 * n + i]),
                        "row " + (i0 + i / n) + " column " + i % n);
        }
    }

    /** One row of A stored as a column (transA, lda 1): the one-row path reads it as a vector too. */
    @ParameterizedTest(name = "transB={0}, {1} threads")
    @org.junit.jupiter.params.provider.CsvSource({"true,1", "true,2", "false,1", "false,2"})
    void oneRowGemmWithATransposedMatchesReference(boolean tb, int threads) {
        Kernels simd = SimdKernels.create(threads);
        int n = 1500, k = 300, ldb = tb ? k : n;
        float[] a = Tensor.uniform(31, -1, 1, k).data, b = Tensor.uniform(32, -1, 1, n * k).data;
        float[] cRef = Tensor.uniform(33, -1, 1, n).data, c = cRef.clone();
        ref.gemm(true, tb, 1, n, k, 1.3f, a, 0, 1, b, 0, ldb, 0.5f, cRef, 0, n);
        simd.gemm(true, tb, 1, n, k, 1.3f, a, 0, 1, b, 0, ldb, 0.5f, c, 0, n);
        assertClose("gemm 1x" + n + "x" + k + " transA lda 1", cRef, c);
    }

    @Test
    void backendSelectsSimdWhenTheModuleIsPresent() {
        assertTrue(Backend.vectorApiPresent(), "tests run with --add-modules jdk.incubator.vector");
        Kernels k = Backend.select("simd", 2);
        SimdKernels simd = assertInstanceOf(SimdKernels.class, k);
        assertEquals(2, simd.threads());
        assertEquals("simd(2 threads)", k.name());
    }

    /**
     * n, c, hw: planes of 37, 1500 and 600 floats (whole vectors and a tail of 5, 12 and 8 of the 16
     * partials), hw 1 (all tail), and two shapes large enough to be split over the threads, into ranges
     * of one channel and of three or four.
     */
    static Stream<Arguments> batchNorms() {
        return Stream.of(Arguments.of(3, 13, 37), Arguments.of(2, 5, 1), Arguments.of(4, 7, 1500), Arguments.of(2, 29, 600));
    }

    /**
     * Batch norm, training and inference, forward and backward, with and without gamma and beta, gives
     * the reference's bits exactly at 1, 2 and 3 threads: each channel's sums run in the reference's
     * order (a plane's 16 partials in two vectors of doubles), and the maps to y and dx (in vectors of
     * doubles) are its expressions lane by lane.
     */
    @ParameterizedTest(name = "n={0} c={1} hw={2}")
    @MethodSource("batchNorms")
    void batchNormIsBitIdentical(int n, int c, int hw) {
        Tensor x = Tensor.uniform(5, -2, 3, n, c, hw), dy = Tensor.uniform(6, -1, 1, n, c, hw);
        for (boolean affine : new boolean[] {true, false}) {
            float[] gamma = affine ? Tensor.uniform(7, 0.5f, 1.5f, c).data : null, beta = affine ? Tensor.uniform(8, -1, 1, c).data : null;
            BatchNormRun want = BatchNormRun.of(ref, n, c, hw, x.data, dy.data, gamma, beta);
            for (int threads = 1; threads <= 3; threads++) {
                BatchNormRun got = BatchNormRun.of(SimdKernels.create(threads), n, c, hw, x.data, dy.data, gamma, beta);
                want.assertSameBits(got, threads + " threads" + (affine ? "" : ", no gamma and beta"));
            }
        }
    }

    /**
     * The sums' order shows in their bits: in every plane a value of 2^40 and its negative meet in one
     * partial (in x, in dy, and in dy*xhat), the first in the vectors' part and the second in the plane's tail, so that the small
     * values added between them are rounded away, and an element added to another partial (or the
     * partials reduced in another order) moves the mean and the gradient sums by far more than a float's
     * rounding. (Sums of floats of one scale are often exact in double whatever their order, and the
     * squares' sum, all of one sign, cannot be probed this way.) Planes of 37 and 600 floats: two and
     * 37 vectors, tails of 5 and 8.
     */
    @Test
    void batchNormSumsRunInTheReferencesOrder() {
        float big = 0x1p40f;
        for (int hw : new int[] {37, 600}) {
            int n = 3, c = 5;
            float[] x = Tensor.uniform(13, -1, 1, n * c * hw).data, dy = Tensor.uniform(14, -1, 1, n * c * hw).data;
            for (int o = 0; o < x.length; o += hw) {
                x[o + (hw - 1) % 16] = big;       // partial (hw-1) % 16, in the vectors' part
                x[o + hw - 1] = -big;             // the same partial, in the tail
                dy[o + (hw - 2) % 16] = big;      // and dy * xhat: +-2^40 times one xhat
                dy[o + hw - 2] = -big;
                x[o + (hw - 2) % 16] = x[o + hw - 2] = 0.5f;
                dy[o + (hw - 1) % 16] = dy[o + hw - 1] = 0;   // so x's +-2^40 (xhat ~ +-7) add nothing to dy * xhat
            }
            float[] gamma = Tensor.uniform(16, 0.5f, 1.5f, c).data, beta = Tensor.uniform(17, -1, 1, c).data;
            BatchNormRun want = BatchNormRun.of(ref, n, c, hw, x, dy, gamma, beta);
            for (int threads = 1; threads <= 2; threads++)
                want.assertSameBits(BatchNormRun.of(SimdKernels.create(threads), n, c, hw, x, dy, gamma, beta), "hw " + hw + ", " + threads + " threads");
        }
    }

    /**
     * Batch norm with the ReLU after it ({@code batchNormReluTrainForward}, {@code batchNormReluTrainBackward}):
     * the SIMD layer's one-pass forms give the bits of the reference's two kernels each (batch norm then
     * ReLU; the ReLU's gradient then batch norm's backward) at 1, 2 and 3 threads, with gamma and beta
     * and without.
     */
    @ParameterizedTest(name = "n={0} c={1} hw={2}")
    @MethodSource("batchNorms")
    void batchNormReluIsTheTwoKernels(int n, int c, int hw) {
        int len = n * c * hw;
        float[] x = Tensor.uniform(21, -2, 3, len).data, dy = Tensor.uniform(22, -1, 1, len).data;
        for (boolean affine : new boolean[] {true, false}) {
            float[] gamma = affine ? Tensor.uniform(23, 0.5f, 1.5f, c).data : null, beta = affine ? Tensor.uniform(24, -1, 1, c).data : null;
            float[][] want = batchNormRelu(ref, n, c, hw, x, dy, gamma, beta);
            for (int threads = 1; threads <= 3; threads++) {
                float[][] got = batchNormRelu(SimdKernels.create(threads), n, c, hw, x, dy, gamma, beta);
                String[] names = {"y", "mean", "invStd", "var", "dx", "dgamma", "dbeta"};
                for (int i = 0; i < names.length; i++)
                    assertTrue(Arrays.equals(want[i], got[i]), "batch norm + ReLU " + names[i] + ", " + threads + " threads" + (affine ? "" : ", no gamma and beta"));
            }
        }
    }

    /** y, mean, invStd, var, dx, dgamma, dbeta of the fused pair on one input. */
    private static float[][] batchNormRelu(Kernels k, int n, int c, int hw, float[] x, float[] dy, float[] gamma, float[] beta) {
        float[][] r = {nans(x.length), nans(c), nans(c), nans(c), nans(x.length), nans(c), nans(c)};
        k.batchNormReluTrainForward(n, c, hw, 1e-5f, x, gamma, beta, r[0], r[1], r[2], r[3]);
        k.batchNormReluTrainBackward(n, c, hw, x, gamma, r[0], dy, r[1], r[2], r[4], r[5], r[6]);
        return r;
    }

    /** The same bits once C2 has compiled the batch-norm loops (vector casts and all). */
    @Test
    void batchNormKeepsItsBitsWhenCompiled() {
        int n = 2, c = 3, hw = 2 * Gemm.VL + 5;
        Tensor x = Tensor.uniform(9, -2, 3, n, c, hw), dy = Tensor.uniform(10, -1, 1, n, c, hw);
        float[] gamma = Tensor.uniform(11, 0.5f, 1.5f, c).data, beta = Tensor.uniform(12, -1, 1, c).data;
        BatchNormRun want = BatchNormRun.of(ref, n, c, hw, x.data, dy.data, gamma, beta);
        Kernels simd = SimdKernels.create(1);
        BatchNormRun got = null;
        for (int call = 0; call < COMPILE_CALLS / 4; call++) got = BatchNormRun.of(simd, n, c, hw, x.data, dy.data, gamma, beta);
        want.assertSameBits(got, "after " + COMPILE_CALLS / 4 + " calls");
    }

    /** Every output of the four batch-norm kernels on one input. */
    record BatchNormRun(float[] y, float[] mean, float[] invStd, float[] var, float[] dx, float[] dgamma, float[] dbeta,
                        float[] yInf, float[] dxInf, float[] dgammaInf, float[] dbetaInf) {
        static BatchNormRun of(Kernels k, int n, int c, int hw, float[] x, float[] dy, float[] gamma, float[] beta) {
            int len = n * c * hw;
            BatchNormRun r = new BatchNormRun(nans(len), nans(c), nans(c), nans(c), nans(len), nans(c), nans(c),
                    nans(len), nans(len), nans(c), nans(c));
            k.batchNormTrainForward(n, c, hw, 1e-5f, x, gamma, beta, r.y, r.mean, r.invStd, r.var);
            k.batchNormTrainBackward(n, c, hw, x, gamma, dy, r.mean, r.invStd, r.dx, r.dgamma, r.dbeta);
            // inference with running statistics unlike the batch's: the mean shifted, the variance scaled
            float[] runMean = r.mean.clone(), runVar = r.var.clone();
            for (int ch = 0; ch < c; ch++) {
                runMean[ch] += 0.1f * ch;
                runVar[ch] *= 1.5f;
            }
            k.batchNormInferenceForward(n, c, hw, 1e-5f, x, gamma, beta, runMean, runVar, r.yInf);
            k.batchNormInferenceBackward(n, c, hw, 1e-5f, x, gamma, runMean, runVar, dy, r.dxInf, r.dgammaInf, r.dbetaInf);
            return r;
        }

        void assertSameBits(BatchNormRun o, String at) {
            String[] names = {"y", "mean", "invStd", "var", "dx", "dgamma", "dbeta", "inference y", "inference dx",
                    "inference dgamma", "inference dbeta"};
            float[][] a = {y, mean, invStd, var, dx, dgamma, dbeta, yInf, dxInf, dgammaInf, dbetaInf};
            float[][] b = {o.y, o.mean, o.invStd, o.var, o.dx, o.dgamma, o.dbeta, o.yInf, o.dxInf, o.dgammaInf, o.dbetaInf};
            for (int i = 0; i < a.length; i++) assertTrue(Arrays.equals(a[i], b[i]), "batch norm " + names[i] + ", " + at);
        }
    }

    /**
     * Lengths for the elementwise kernels: empty, shorter than a vector, a vector and a tail, and
     * 100,003 floats (split into ranges over the threads, the last one ragged).
     */
    static Stream<Arguments> elementwiseLengths() {
        Stream.Builder<Arguments> out = Stream.builder();
        for (int len : new int[] {0, 5, 3 * Gemm.VL + 7, 100_003})
            for (int threads = 1; threads <= 3; threads++) out.add(Arguments.of(len, threads));
        return out.build();
    }

    /**
     * allFinite agrees with the reference on finite arrays (the largest and smallest floats, both
     * zeros) and on each of NaN, +Inf and -Inf placed alone at the start, in the middle, in the last
     * whole vector and in the tail, so every range and both the vector and the scalar parts see one.
     */
    @ParameterizedTest(name = "length {0}, {1} threads")
    @MethodSource("elementwiseLengths")
    void allFiniteMatchesReference(int len, int threads) {
        Kernels simd = SimdKernels.create(threads);
        float[] x = Tensor.uniform(31, -1, 1, Math.max(len, 1)).data;
        x = Arrays.copyOf(x, len);
        for (int i = 0; i < len; i += 7) x[i] = new float[] {Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -0f}[(i / 7) % 4];
        assertTrue(simd.allFinite(x), "all finite, length " + len);
        assertTrue(ref.allFinite(x));
        int tail = len - len % Gemm.VL;
        for (int at : new int[] {0, len / 2, Math.max(0, tail - 1), len - 1}) {
            if (at < 0 || at >= len) continue;
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float keep = x[at];
                x[at] = bad;
                assertEquals(ref.allFinite(x), simd.allFinite(x), bad + " at " + at + " of " + len);
                assertTrue(!simd.allFinite(x), bad + " at " + at + " of " + len);
                x[at] = keep;
            }
        }
    }

    /** The special floats every elementwise test meets: both zeros, NaNs of both signs and a payload, infinities, subnormals. */
    static final float[] SPECIALS = {0f, -0f, Float.NaN, Float.intBitsToFloat(0xffc00000), Float.intBitsToFloat(0x7fc12345),
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE};

    /** Uniform values in [-1, 1) with every special float sprinkled in (at primes, so they meet every lane and the tail). */
    static float[] withSpecials(long seed, int len) {
        float[] a = Tensor.uniform(seed, -1, 1, Math.max(len, 1)).data;
        a = Arrays.copyOf(a, len);
        for (int i = 0, j = (int) seed % 7; j < len; i++, j += 13) a[j] = SPECIALS[i % SPECIALS.length];
        return a;
    }

    /** Bit for bit ({@code floatToRawIntBits}): a NaN must even keep its sign and payload. */
    static void assertSameBits(String what, float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++)
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i]))
                assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                        what + " at " + i + ": expected " + expected[i] + ", got " + actual[i]);
    }

    /**
     * ReLU forward, its backward under the four mask combinations and add give the reference's bits
     * exactly: ReLU only copies or zeroes (so a NaN keeps its payload, -0.0 becomes +0.0 forward and
     * passes unchanged backward), and a sum is one IEEE addition either way (its NaN is compared as
     * a NaN: Java does not define which payload a sum of NaNs carries).
     */
    @ParameterizedTest(name = "length {0}, {1} threads")
    @MethodSource("elementwiseLengths")
    void elementwiseKernelsAreBitIdentical(int len, int threads) {
        Kernels simd = SimdKernels.create(threads);
        float[] x = withSpecials(41, len), dy = withSpecials(42, len);
        float[] yRef = new float[len], y = nans(len);
        ref.reluForward(x, yRef);
        simd.reluForward(x, y);
        assertSameBits("relu forward", yRef, y);
        for (int masks = 0; masks < 4; masks++) {
            boolean fm = (masks & 1) != 0, sm = (masks & 2) != 0;
            float[] dxRef = new float[len], dx = nans(len);
            ref.reluBackward(x, dy, dxRef, fm, sm);
            simd.reluBackward(x, dy, dx, fm, sm);
            assertSameBits("relu backward forwardMask=" + fm + " signalMask=" + sm, dxRef, dx);
        }
        float[] sRef = new float[len], s = nans(len);
        ref.add(x, dy, sRef);
        simd.add(x, dy, s);
        assertTrue(Arrays.equals(sRef, s), "add (NaN compared as NaN, -0.0 as itself)");
        float[] arRef = new float[len], ar = nans(len), xa = x.clone(), dya = dy.clone();
        for (int i = 3; i < len; i += 5) xa[i] = dya[i] = -0f;   // sums of -0.0 (the only sum the ReLU must turn from -0.0 to +0.0)
        ref.addRelu(xa, dya, arRef);                          // the default: add, then the ReLU in place
        simd.addRelu(xa, dya, ar);
        assertTrue(Arrays.equals(arRef, ar), "add + relu (NaN compared as NaN, -0.0 as itself)");
        for (float v : ar) assertTrue(Float.isNaN(v) || Float.floatToRawIntBits(v) != Float.floatToRawIntBits(-0f) && v >= 0f, "add + relu: " + v);
        // in place (y the same array as x), as an op may call it
        float[] inPlace = x.clone();
        simd.reluForward(inPlace, inPlace);
        assertSameBits("relu forward in place", yRef, inPlace);
    }

    /**
     * The SGD update split over the threads gives the reference loop's bits, for each of its forms:
     * no momentum (no buffer), the first momentum step (buffer set), later steps (buffer blended,
     * dampened), Nesterov, with and without weight decay; parameters, gradients and buffer carry the
     * special floats.
     */
    @ParameterizedTest(name = "length {0}, {1} threads")
    @MethodSource("elementwiseLengths")
    void sgdUpdateIsBitIdentical(int len, int threads) {
        Kernels simd = SimdKernels.create(threads);
        float[] p0 = withSpecials(43, len), g = withSpecials(44, len), b0 = withSpecials(45, len);
        for (int form = 0; form < 5; form++) {
            boolean momentum = form > 0, first = form == 1, nesterov = form == 4;
            float mu = momentum ? 0.9f : 0f, keep = form == 3 ? 0.75f : 1f, wd = form % 2 == 0 ? 1e-2f : 0f;
            float[] pRef = p0.clone(), p = p0.clone();
            float[] bRef = momentum ? b0.clone() : null, b = momentum ? b0.clone() : null;
            ref.sgdUpdate(pRef, g, bRef, first, 0.05f, mu, keep, wd, nesterov);
            simd.sgdUpdate(p, g, b, first, 0.05f, mu, keep, wd, nesterov);
            assertSameBits("sgd form " + form + " parameters", pRef, p);
            if (momentum) assertSameBits("sgd form " + form + " buffer", bRef, b);
            if (len == 100_003) assertNotEquals(Arrays.hashCode(p0), Arrays.hashCode(p), "the update changed the parameters");
        }
    }

    /**
     * The same bits once C2 has compiled the vector loops (the intrinsics replace the Java fallback the
     * interpreter runs): a few thousand calls on a short array with every special float.
     */
    @Test
    void elementwiseKernelsKeepTheirBitsWhenCompiled() {
        Kernels simd = SimdKernels.create(1);
        int len = 4 * Gemm.VL + 3;
        float[] x = withSpecials(43, len), dy = withSpecials(44, len);
        float[] yRef = new float[len], dxRef = new float[len], sRef = new float[len];
        ref.reluForward(x, yRef);
        ref.reluBackward(x, dy, dxRef, true, true);
        ref.add(x, dy, sRef);
        float[] arRef = new float[len], ar = new float[len];
        ref.addRelu(x, dy, arRef);
        float[] y = new float[len], dx = new float[len], s = new float[len];
        for (int call = 0; call < COMPILE_CALLS; call++) {
            simd.reluForward(x, y);
            simd.reluBackward(x, dy, dx, true, true);
            simd.add(x, dy, s);
            simd.addRelu(x, dy, ar);
        }
        assertTrue(Arrays.equals(arRef, ar), "add + relu after " + COMPILE_CALLS + " calls");
        assertSameBits("relu forward after " + COMPILE_CALLS + " calls", yRef, y);
        assertSameBits("relu backward (guided) after " + COMPILE_CALLS + " calls", dxRef, dx);
        assertTrue(Arrays.equals(sRef, s), "add after " + COMPILE_CALLS + " calls");
    }

    /** Calls that get a small kernel compiled by C2 (tiered threshold ~15,000 invocations; ~20 ms here). */
    static final int COMPILE_CALLS = 30_000;

    /**
     * Max-pool forward split over planes: the reference's values and switches at 1-3 threads, with
     * ties and NaNs, and with windows of -inf only (where the stem pool's -inf padding column must
     * not keep the place), on the stem pool's shapes, padded stride-1 pools, rows shorter than a
     * vector (AlexNet's) and 2x2 stride-2 windows (VGG's).
     */
    @Test
    void maxPoolForwardSplitOverPlanesIsBitIdentical() {
        for (dev.convlens.tensor.kernels.PoolGeom g : List.of(
                dev.convlens.tensor.kernels.PoolGeom.of("test", 3, 13, 37, 29, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 3, 13, 37, 29, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false),
                // rows wide enough for the stem pool's vectors (36 and 33 outputs), odd and even widths
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 5, 21, 71, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 5, 20, 66, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                // ResNet-18's stem rows (56 outputs: 3 vectors and an overlapping fourth)
                dev.convlens.tensor.kernels.PoolGeom.of("test", 1, 3, 12, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                // no padding; padding on the left and bottom only (the first window's -inf column, the last row's window cut short)
                dev.convlens.tensor.kernels.PoolGeom.of("test", 1, 3, 15, 71, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 1, 3, 14, 70, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, false),
                // rows shorter than a vector: AlexNet's second and third pools (13 and 6 outputs), and 7 with padding
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 5, 27, 27, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 7, 13, 13, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 3, 3, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 3, 3, 14, 14, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, false),
                // 2x2 stride 2 (VGG's pools): rows of 33 (two vectors, overlapping), 14 and 17 (odd width), and padded
                dev.convlens.tensor.kernels.PoolGeom.of("test", 1, 3, 8, 66, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 5, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 2, 3, 15, 35, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false),
                dev.convlens.tensor.kernels.PoolGeom.of("test", 1, 3, 11, 40, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, false))) {
            // ties and NaNs; then windows of -inf and -MAX_VALUE only (every third value, and the first
            // two rows and columns of each plane)
            for (boolean minusInf : new boolean[] {false, true}) {
                float[] x = Tensor.uniform(53, -4, 4, g.n() * g.c() * g.h() * g.w()).data;
                for (int i = 0; i < x.length; i++) {
                    int col = i % g.w(), row = i / g.w() % g.h();
                    x[i] = i % 97 == 0 ? Float.NaN : Math.round(x[i]);
                    if (minusInf && (i % 3 == 0 || col < 2 || row < 2)) x[i] = i % 2 == 0 ? Float.NEGATIVE_INFINITY : -Float.MAX_VALUE;
                }
                int yn = g.n() * g.c() * g.oh() * g.ow();
                float[] yRef = new float[yn];
                int[] swRef = new int[yn];
                ref.maxPoolForward(g, x, yRef, swRef);
                for (int threads = 1; threads <= 3; threads++) {
                    float[] y = nans(yn);
                    int[] sw = new int[yn];
                    SimdKernels.create(threads).maxPoolForward(g, x, y, sw);
                    assertTrue(Arrays.equals(yRef, y) && Arrays.equals(swRef, sw),
                            g + ", " + threads + " threads" + (minusInf ? ", -inf windows" : ""));
                }
            }
        }
    }

    /**
     * Max-pool backward split over (n, c) planes gives the reference's bits at 1, 2 and 3 threads:
     * ResNet's stem pool (3x3 stride 2 pad 1: overlapping windows, so dx elements receive several
     * dy, added in the same order), a plane count that does not divide evenly, dx large enough to be
     * split; and switches that leave their plane (not what the forward writes, but allowed) take the
     * reference loop, still the same bits.
     */
    @Test
    void maxPoolBackwardSplitOverPlanesIsBitIdentical() {
        dev.convlens.tensor.kernels.PoolGeom g = dev.convlens.tensor.kernels.PoolGeom.of("test", 3, 13, 37, 29, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false);
        int xn = 3 * 13 * 37 * 29, yn = 3 * 13 * g.oh() * g.ow();
        // a coarse grid of values, so windows tie and the first-max rule picks among equals
        float[] x = Tensor.uniform(51, -4, 4, xn).data;
        for (int i = 0; i < xn; i++) x[i] = Math.round(x[i]);
        float[] dy = withSpecials(52, yn), y = new float[yn];
        int[] switches = new int[yn];
        ref.maxPoolForward(g, x, y, switches);
        float[] dxRef = new float[xn];
        ref.maxPoolBackward(g, dy, switches, dxRef);
        int[] crossing = switches.clone();
        crossing[yn / 2] = 5;                         // an output of a middle plane scatters into plane 0
        crossing[yn - 1] = 0;
        float[] dxCrossRef = new float[xn];
        ref.maxPoolBackward(g, dy, crossing, dxCrossRef);
        for (int threads = 1; threads <= 3; threads++) {
            Kernels simd = SimdKernels.create(threads);
            float[] dx = nans(xn);
            simd.maxPoolBackward(g, dy, switches, dx);
            assertTrue(Arrays.equals(dxRef, dx), threads + " threads");
            float[] dxCross = nans(xn);
            simd.maxPoolBackward(g, dy, crossing, dxCross);
            assertTrue(Arrays.equals(dxCrossRef, dxCross), threads + " threads, switches leaving their plane");
        }
    }
}
