package dev.convlens.nn.train;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al.; gzip-compressed when the name ends in
 * {@code .gz}): a big-endian header {@code 0x00 0x00 type rank}, {@code rank} int32 dimensions,
 * then the values. convlens reads unsigned bytes ({@code type 0x08}): images (rank 3: n, rows,
 * cols) and labels (rank 1: n). Every error names the file: a bad magic number, a truncated file
 * (or gzip stream), sizes that do not match.
 */
public final class Idx {
    private static final int UBYTE = 0x08;
    /** Refuse headers that promise more than this many values (a corrupt header, not a dataset). */
    private static final long MAX_VALUES = Integer.MAX_VALUE - 8;

    private Idx() {}

    /** Fashion-MNIST's class names, in label order. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress",
            "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Where Debian's dataset-fashion-mnist installs the files. */
    public static final Path FASHION_MNIST_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    /** The raw array of an IDX file: its dimensions and its bytes. */
    public record Array(int[] dims, byte[] data) {}

    /** Reads an unsigned-byte IDX file. */
    public static Array read(Path file) {
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(new BufferedInputStream(raw, 1 << 16), 1 << 16)
                     : new BufferedInputStream(raw, 1 << 16)) {
            DataInputStream d = new DataInputStream(in);
            int magic = d.readInt();
            int type = (magic >>> 8) & 0xff, rank = magic & 0xff;
            if ((magic >>> 16) != 0 || rank < 1 || rank > 4) {
                throw new IllegalArgumentException(file + ": not an IDX file (bad magic number 0x"
                        + String.format("%08x", magic) + "; expected 0x0000TTRR)");
            }
            if (type != UBYTE) {
                throw new IllegalArgumentException(file + ": IDX value type 0x" + Integer.toHexString(type)
                        + " is not supported (only unsigned bytes, 0x08)");
            }
            int[] dims = new int[rank];
            long n = 1;
            for (int i = 0; i < rank; i++) {
                dims[i] = d.readInt();
                if (dims[i] < 0) throw new IllegalArgumentException(file + ": IDX dimension " + i + " is negative (" + dims[i] + ")");
                n *= dims[i];
                if (n > MAX_VALUES) throw new IllegalArgumentException(file + ": IDX header promises more than 2^31 values");
            }
            byte[] data = new byte[(int) n];
            try {
                d.readFully(data);
            } catch (EOFException e) {
                throw new IllegalArgumentException(file + ": truncated: the header promises " + n + " values", e);
            }
            return new Array(dims, data);
        } catch (EOFException e) {
            throw new IllegalArgumentException(file + ": truncated (ends inside the header or the gzip stream)", e);
        } catch (ZipException e) {
            throw new IllegalArgumentException(file + ": corrupt gzip data: " + e.getMessage(), e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("Unexpected end of ZLIB input stream")) {
                throw new IllegalArgumentException(file + ": truncated gzip stream", e);
            }
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** An images file (n, rows, cols) and a labels file (n) as one grayscale dataset. */
    public static Dataset load(Path images, Path labels, List<String> classes) {
        Array im = read(images), lb = read(labels);
        if (im.dims().length != 3) throw new IllegalArgumentException(images + ": IDX images must have rank 3 (n, rows, cols), not " + im.dims().length);
        if (lb.dims().length != 1) throw new IllegalArgumentException(labels + ": IDX labels must have rank 1, not " + lb.dims().length);
        if (im.dims()[0] != lb.dims()[0]) {
            throw new IllegalArgumentException(images + " has " + im.dims()[0] + " images but " + labels + " has "
                    + lb.dims()[0] + " labels");
        }
        int[] l = new int[lb.dims()[0]];
        for (int i = 0; i < l.length; i++) {
            l[i] = lb.data()[i] & 0xff;
            if (l[i] >= classes.size()) {
                throw new IllegalArgumentException(labels + ": label " + l[i] + " at index " + i + " but there are only "
                        + classes.size() + " classes");
            }
        }
        return new Dataset(im.data(), l, 1, im.dims()[1], im.dims()[2], classes);
    }

    /** Fashion-MNIST's train (60,000) or test (10,000) set from {@code dir} ({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz). */
    public static Dataset fashionMnist(Path dir, boolean train) {
        String p = train ? "train" : "t10k";
        Path images = dir.resolve(p + "-images-idx3-ubyte.gz"), labels = dir.resolve(p + "-labels-idx1-ubyte.gz");
        for (Path f : List.of(images, labels)) {
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException(f + ": no such file (Fashion-MNIST; on Debian: apt-get install dataset-fashion-mnist)");
            }
        }
        return load(images, labels, FASHION_MNIST_CLASSES);
    }
}
