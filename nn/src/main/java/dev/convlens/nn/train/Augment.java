package dev.convlens.nn.train;

import java.util.SplittableRandom;

/**
 * Training-time augmentation, as torchvision's {@code RandomCrop(size, padding=pad)} followed by
 * {@code RandomHorizontalFlip(0.5)} on the 8-bit image: the image is padded with {@code pad} zero
 * pixels on every side, a window of the original size is taken at a uniformly random offset
 * {@code (dy, dx)} in {@code [0, 2 pad]}, and the result is mirrored left-right with probability
 * 1/2 when {@code flip}.
 *
 * <p>The random numbers of image {@code index} in epoch {@code epoch} come from
 * {@code SplittableRandom(seed ^ mix(epoch, index))}, so they depend on nothing else: not on the
 * order of the batches, the thread that prepares them, or whether the run was resumed.
 *
 * @param pad  zero padding for the random crop (0: no crop)
 * @param flip random horizontal flip
 */
public record Augment(int pad, boolean flip) {
    public static final Augment NONE = new Augment(0, false);

    public Augment {
        if (pad < 0) throw new IllegalArgumentException("Augment: padding must be >= 0 but is " + pad);
    }

    public boolean none() {
        return pad == 0 && !flip;
    }

    /** The generator for image {@code index} of {@code epoch}. */
    static SplittableRandom random(long seed, int epoch, int index) {
        long z = seed ^ (0x9E3779B97F4A7C15L * (epoch + 1)) ^ (0xC2B2AE3D27D4EB4FL * (index + 1L));
        return new SplittableRandom(z);
    }

    /**
     * Writes the augmented image (c, h, w) of {@code src} at {@code srcOff} into {@code dst} at
     * {@code dstOff} (values still 0..255).
     */
    void apply(byte[] src, int srcOff, int c, int h, int w, long seed, int epoch, int index, int[] dst, int dstOff) {
        SplittableRandom r = random(seed, epoch, index);
        int dy = pad > 0 ? r.nextInt(2 * pad + 1) - pad : 0, dx = pad > 0 ? r.nextInt(2 * pad + 1) - pad : 0;
        boolean mirror = flip && r.nextInt(2) == 1;
        for (int ch = 0; ch < c; ch++) {
            int sp = srcOff + ch * h * w, dp = dstOff + ch * h * w;
            for (int y = 0; y < h; y++) {
                int sy = y + dy;
                for (int x = 0; x < w; x++) {
                    int sx = (mirror ? w - 1 - x : x) + dx;
                    dst[dp + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[sp + sy * w + sx] & 0xff : 0;
                }
            }
        }
    }
}
