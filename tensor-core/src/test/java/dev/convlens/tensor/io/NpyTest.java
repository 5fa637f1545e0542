package dev.convlens.tensor.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.convlens.tensor.Tensor;
import dev.convlens.tensor.testing.Oracle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The .npy reader and writer: round trips, files written by NumPy, and clear errors for broken files. */
class NpyTest {
    @TempDir
    Path dir;

    @Test
    void floatRoundTripKeepsShapeAndBits() throws IOException {
        Tensor t = Tensor.uniform(7, -3, 3, 2, 3, 4, 5);
        t.data[0] = Float.NaN;
        t.data[1] = Float.NEGATIVE_INFINITY;
        t.data[2] = -0.0f;
        t.data[3] = Float.MIN_VALUE;
        Path f = dir.resolve("t.npy");
        Npy.write(f, t);
        Tensor back = Npy.read(f);
        assertArrayEquals(t.shape(), back.shape());
        for (int i = 0; i < t.size(); i++) {
            assertEquals(Float.floatToRawIntBits(t.data[i]), Float.floatToRawIntBits(back.data[i]), "index " + i);
        }
    }

    @Test
    void headerIsNumpyVersion1AlignedTo64() throws IOException {
        Path f = dir.resolve("v.npy");
        Npy.write(f, Tensor.zeros(7));
        byte[] bytes = Files.readAllBytes(f);
        int headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
        assertEquals(0, (10 + headerLen) % 64, "data must start at a multiple of 64");
        String header = new String(bytes, 10, headerLen, StandardCharsets.ISO_8859_1);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", header.strip());
        assertEquals('\n', header.charAt(header.length() - 1));
        assertEquals(10 + headerLen + 7 * 4, bytes.length);
    }

    @Test
    void largeArrayCrossesTheChunkSize() throws IOException {
        Tensor t = Tensor.uniform(3, -1, 1, 3, 300_001); // > 1 MiB of data: several chunks
        Path f = dir.resolve("big.npy");
        Npy.write(f, t);
        assertArrayEquals(t.data, Npy.read(f).data);
    }

    @Test
    void scalarRoundTrip() throws IOException {
        Path f = dir.resolve("s.npy");
        Npy.write(f, Tensor.of(new float[] {2.5f}));
        Tensor s = Npy.read(f);
        assertEquals(0, s.rank());
        assertEquals(2.5f, s.get(0));
    }

    @Test
    void intRoundTrip() throws IOException {
        Path f = dir.resolve("i.npy");
        int[] v = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 42, 7};
        Npy.writeInts(f, v, 2, 3);
        assertArrayEquals(v, Npy.readInts(f));
        assertArrayEquals(new int[] {2, 3}, Npy.header(f).shape());
        assertArrayEquals(Arrays.stream(v).asLongStream().toArray(), Npy.readLongs(f));
        Path g = dir.resolve("flat.npy");
        Npy.writeInts(g, new int[] {5, 6});
        assertArrayEquals(new int[] {2}, Npy.header(g).shape());
    }

    @Test
    void version2HeaderAndFloat64AndInt64AreRead() throws IOException {
        Path f = dir.resolve("v2.npy");
        write(f, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", 8, b -> {
            for (double d : new double[] {1.5, -2.25, 1e-3, 3e38}) b.putDouble(d);
        });
        Tensor t = Npy.read(f);
        assertArrayEquals(new int[] {2, 2}, t.shape());
        assertArrayEquals(new float[] {1.5f, -2.25f, 1e-3f, 3e38f}, t.data);

        Path g = dir.resolve("labels.npy");
        write(g, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", 8, b -> {
            b.putLong(3);
            b.putLong(-1);
            b.putLong(1L << 40);
        });
        assertArrayEquals(new long[] {3, -1, 1L << 40}, Npy.readLongs(g));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.readInts(g));
        assertMessage(e, g, "does not fit in an int");
    }

    @Test
    void badFilesGiveMessagesNamingTheFileAndTheProblem() throws IOException {
        Path good = dir.resolve("good.npy");
        Npy.write(good, Tensor.uniform(1, -1, 1, 4, 5));
        byte[] bytes = Files.readAllBytes(good);

        Path magic = dir.resolve("magic.npy");
        byte[] m = bytes.clone();
        m[1] = 'X';
        Files.write(magic, m);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(magic)), magic, "bad magic");

        Path shortHeader = dir.resolve("short-header.npy");
        Files.write(shortHeader, Arrays.copyOf(bytes, 40));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(shortHeader)), shortHeader,
                "truncated header");

        Path tiny = dir.resolve("tiny.npy");
        Files.write(tiny, Arrays.copyOf(bytes, 5));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(tiny)), tiny, "truncated header");

        Path shortData = dir.resolve("short-data.npy");
        Files.write(shortData, Arrays.copyOf(bytes, bytes.length - 3));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(shortData)), shortData,
                "truncated data");

        Path extra = dir.resolve("extra.npy");
        Files.write(extra, Arrays.copyOf(bytes, bytes.length + 4));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(extra)), extra, "extra");

        Path fortran = dir.resolve("fortran.npy");
        write(fortran, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 4, b -> {
            for (int i = 0; i < 4; i++) b.putFloat(i);
        });
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(fortran)), fortran,
                "fortran_order");

        Path bigEndian = dir.resolve("big-endian.npy");
        write(bigEndian, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 4, b -> {
            b.putFloat(1);
            b.putFloat(2);
        });
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(bigEndian)), bigEndian,
                "dtype '>f4'");

        Path floatsAsInts = dir.resolve("floats.npy");
        Files.write(floatsAsInts, bytes);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.readInts(floatsAsInts)), floatsAsInts,
                "dtype '<f4'");

        Path huge = dir.resolve("huge.npy");
        write(huge, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", 4, b -> {});
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(huge)), huge, "2^31");

        Path garbled = dir.resolve("garbled.npy");
        write(garbled, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 4, b -> {});
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(garbled)), garbled,
                "not an integer");

        Path version = dir.resolve("v3.npy");
        write(version, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, b -> b.putFloat(1));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Npy.read(version)), version, "version 3.0");
    }

    /** A file written by NumPy itself (only where the oracle's Python is present). */
    @Test
    void readsWhatNumpyWritesAndNumpyReadsWhatWeWrite() throws Exception {
        Oracle oracle = Oracle.get();
        oracle.require();
        Path fromNumpy = dir.resolve("np.npy"), ints = dir.resolve("np-i4.npy"), ours = dir.resolve("ours.npy");
        Npy.write(ours, Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        String script = "import numpy as np, sys\n"
                + "np.save(sys.argv[1], (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8 - 1))\n"
                + "np.save(sys.argv[2], np.array([[3, -4], [5, 6]], dtype='<i4'))\n"
                + "a = np.load(sys.argv[3])\n"
                + "assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)\n"
                + "assert (a == np.arange(1, 7, dtype=np.float32).reshape(2, 3)).all(), a\n";
        Process p = new ProcessBuilder(oracle.python().toString(), "-c", script,
                fromNumpy.toString(), ints.toString(), ours.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, "numpy script failed: " + out);
        Tensor t = Npy.read(fromNumpy);
        assertArrayEquals(new int[] {2, 3, 4}, t.shape());
        for (int i = 0; i < 24; i++) assertEquals(i / 8f - 1, t.data[i]);
        assertArrayEquals(new int[] {3, -4, 5, 6}, Npy.readInts(ints));
    }

    // ---------------------------------------------------------------- helpers

    interface Filler {
        void fill(ByteBuffer b);
    }

    /** Writes a file with the given version and raw header (padded like NumPy) and data. */
    private static void write(Path f, int major, String dict, int itemSize, Filler data) throws IOException {
        int prefix = major == 1 ? 10 : 12;
        int pad = (64 - (prefix + dict.length() + 1) % 64) % 64;
        byte[] h = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(prefix + h.length + 64 * itemSize).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) h.length);
        else b.putInt(h.length);
        b.put(h);
        data.fill(b);
        Files.write(f, Arrays.copyOf(b.array(), b.position()));
    }

    private static void assertMessage(IllegalArgumentException e, Path f, String what) {
        String m = e.getMessage();
        assertTrue(m.contains(f.toString()), "message should name the file: " + m);
        assertTrue(m.contains(what), "message should say '" + what + "': " + m);
    }
}
