package dev.convlens.tensor.io;

import dev.convlens.tensor.Shapes;
import dev.convlens.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * NumPy's {@code .npy} format: one array per file, as {@code numpy.save} writes it.
 *
 * <h2>Layout</h2>
 * <pre>
 *   "\x93NUMPY"  major(1 byte) minor(1 byte)  header_len (uint16 LE for 1.0; uint32 LE for 2.0)
 *   header: ASCII dict, e.g. {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }
 *           padded with spaces and ended by '\n' so that the data starts at a multiple of 64
 *   data:   prod(shape) items, little-endian, row-major (C order)
 * </pre>
 * Reading accepts versions 1.0 and 2.0, C order only, and the dtypes {@code <f4} and {@code <f8}
 * (as a float32 {@link Tensor}; {@code <f8} is rounded to float), {@code <i4} and {@code <i8} (as
 * int or long arrays, for labels and indices). Writing produces version 1.0, {@code <f4} or
 * {@code <i4}. Every problem with a file's contents (bad magic, truncated header or data,
 * trailing bytes, unsupported dtype, Fortran order) is an {@link IllegalArgumentException} whose
 * message names the file and what was wrong; sizes are checked before anything is allocated.
 *
 * <p>Source: the format description in NumPy's {@code numpy/lib/format.py}.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Bytes converted per read or write call, so a large array never needs one huge buffer. */
    private static final int CHUNK = 1 << 20;

    private Npy() {}

    /** What a header says: the dtype descriptor and the shape. */
    public record Header(String descr, int[] shape) {
        /** Number of items, {@code prod(shape)} (1 for a 0-d array). */
        public int count() {
            return shape.length == 0 ? 1 : Shapes.numel("Npy", shape);
        }
    }

    // ---------------------------------------------------------------- read

    /** A float32 tensor from a {@code <f4} or {@code <f8} file (a 0-d array gives shape {@code ()}). */
    public static Tensor read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(file, ch);
            int n = h.count();
            float[] data;
            switch (h.descr()) {
                case "<f4": {
                    data = new float[n];
                    ByteBuffer buf = dataBuffer(file, ch, n, 4);
                    for (int off = 0; off < n; ) {
                        int len = Math.min(CHUNK / 4, n - off);
                        fill(file, ch, buf, len * 4);
                        buf.asFloatBuffer().get(data, off, len);
                        off += len;
                    }
                    break;
                }
                case "<f8": {
                    data = new float[n];
                    ByteBuffer buf = dataBuffer(file, ch, n, 8);
                    for (int off = 0; off < n; ) {
                        int len = Math.min(CHUNK / 8, n - off);
                        fill(file, ch, buf, len * 8);
                        for (int i = 0; i < len; i++) data[off + i] = (float) buf.getDouble(i * 8);
                        off += len;
                    }
                    break;
                }
                default:
                    throw bad(file, "dtype '" + h.descr() + "' is not a float dtype this reader supports"
                            + " (read() takes '<f4' or '<f8'; readInts/readLongs take '<i4' or '<i8')");
            }
            requireEnd(file, ch);
            return Tensor.of(data, h.shape());
        }
    }

    /** A long array from an {@code <i8} or {@code <i4} file, flattened in C order. */
    public static long[] readLongs(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(file, ch);
            int n = h.count();
            int item = intItemSize(file, h);
            long[] out = new long[n];
            ByteBuffer buf = dataBuffer(file, ch, n, item);
            for (int off = 0; off < n; ) {
                int len = Math.min(CHUNK / item, n - off);
                fill(file, ch, buf, len * item);
                for (int i = 0; i < len; i++) out[off + i] = item == 8 ? buf.getLong(i * 8) : buf.getInt(i * 4);
                off += len;
            }
            requireEnd(file, ch);
            return out;
        }
    }

    /** An int array from an {@code <i4} or {@code <i8} file (every value must fit in an int), flattened in C order. */
    public static int[] readInts(Path file) throws IOException {
        long[] v = readLongs(file);
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            if (v[i] != (int) v[i]) throw bad(file, "value " + v[i] + " at index " + i + " does not fit in an int");
            out[i] = (int) v[i];
        }
        return out;
    }

    /** The header of a file, without its data (for checking a shape or dtype first). */
    public static Header header(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch);
        }
    }

    // ---------------------------------------------------------------- write

    /** Writes {@code t} as a version 1.0 {@code <f4} file, replacing any file there. */
    public static void write(Path file, Tensor t) throws IOException {
        float[] data = t.data;
        try (FileChannel ch = openForWrite(file)) {
            writeHeader(ch, "<f4", t.shape());
            ByteBuffer buf = ByteBuffer.allocate(Math.min(CHUNK, data.length * 4)).order(ByteOrder.LITTLE_ENDIAN);
            for (int off = 0; off < data.length; ) {
                int len = Math.min(CHUNK / 4, data.length - off);
                buf.clear();
                buf.asFloatBuffer().put(data, off, len);
                buf.limit(len * 4);
                writeFully(ch, buf);
                off += len;
            }
        }
    }

    /** Writes {@code values} with {@code shape} (default: one dimension) as a version 1.0 {@code <i4} file. */
    public static void writeInts(Path file, int[] values, int... shape) throws IOException {
        int[] s = shape.length == 0 ? new int[] {values.length} : shape;
        int n = Shapes.numel("Npy.writeInts", s);
        Shapes.check(n == values.length, "Npy.writeInts",
                values.length + " values do not fill shape " + Shapes.str(s) + " (" + n + " items)");
        try (FileChannel ch = openForWrite(file)) {
            writeHeader(ch, "<i4", s);
            ByteBuffer buf = ByteBuffer.allocate(Math.min(CHUNK, n * 4)).order(ByteOrder.LITTLE_ENDIAN);
            for (int off = 0; off < n; ) {
                int len = Math.min(CHUNK / 4, n - off);
                buf.clear();
                buf.asIntBuffer().put(values, off, len);
                buf.limit(len * 4);
                writeFully(ch, buf);
                off += len;
            }
        }
    }

    // ---------------------------------------------------------------- header

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readPrefix(file, ch, pre, "the magic string and version");
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) throw bad(file, "not a .npy file (bad magic string; expected \\x93NUMPY)");
        }
        int major = pre.get(6) & 0xff, minor = pre.get(7) & 0xff;
        if ((major != 1 && major != 2) || minor != 0) {
            throw bad(file, "format version " + major + "." + minor + " is not supported (1.0 and 2.0 are)");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        readPrefix(file, ch, lenBuf, "the header length");
        long headerLen = major == 1 ? (lenBuf.getShort(0) & 0xffff) : (lenBuf.getInt(0) & 0xffffffffL);
        long left = ch.size() - ch.position();
        if (headerLen > left) {
            throw bad(file, "truncated header: it declares " + headerLen + " bytes but the file has " + left + " after the prefix");
        }
        if (headerLen > 1 << 20) throw bad(file, "header length " + headerLen + " is implausibly large");
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readPrefix(file, ch, hb, "the header");
        String text = new String(hb.array(), StandardCharsets.ISO_8859_1);
        return parseHeader(file, text);
    }

    /** Parses {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } (keys in any order). */
    static Header parseHeader(Path file, String text) {
        String s = text.strip();
        if (!s.startsWith("{") || !s.endsWith("}")) throw bad(file, "header is not a dict: " + quote(text));
        String descr = null;
        Boolean fortran = null;
        int[] shape = null;
        int i = 1;
        while (true) {
            i = skipSpace(file, s, i);
            if (s.charAt(i) == '}') break;
            int[] end = new int[1];
            String key = stringLiteral(file, s, i, end);
            i = skipSpace(file, s, end[0]);
            if (s.charAt(i) != ':') throw bad(file, "expected ':' after key '" + key + "' in header " + quote(text));
            i = skipSpace(file, s, i + 1);
            switch (key) {
                case "descr":
                    descr = stringLiteral(file, s, i, end);
                    i = end[0];
                    break;
                case "fortran_order":
                    if (s.startsWith("False", i)) {
                        fortran = false;
                        i += 5;
                    } else if (s.startsWith("True", i)) {
                        fortran = true;
                        i += 4;
                    } else {
                        throw bad(file, "fortran_order is neither True nor False in header " + quote(text));
                    }
                    break;
                case "shape": {
                    if (s.charAt(i) != '(') throw bad(file, "shape is not a tuple in header " + quote(text));
                    int close = s.indexOf(')', i);
                    if (close < 0) throw bad(file, "unterminated shape tuple in header " + quote(text));
                    String[] parts = s.substring(i + 1, close).split(",");
                    int[] dims = new int[parts.length];
                    int rank = 0;
                    for (String part : parts) {
                        String p = part.strip();
                        if (p.endsWith("L")) p = p.substring(0, p.length() - 1); // Python 2 longs
                        if (p.isEmpty()) continue;
                        long d;
                        try {
                            d = Long.parseLong(p);
                        } catch (NumberFormatException e) {
                            throw bad(file, "shape entry '" + p + "' is not an integer in header " + quote(text));
                        }
                        if (d < 0 || d > Integer.MAX_VALUE) throw bad(file, "shape entry " + d + " is out of range");
                        dims[rank++] = (int) d;
                    }
                    shape = Arrays.copyOf(dims, rank);
                    i = close + 1;
                    break;
                }
                default:
                    throw bad(file, "unexpected key '" + key + "' in header " + quote(text));
            }
            i = skipSpace(file, s, i);
            if (s.charAt(i) == ',') i++;
            else if (s.charAt(i) != '}') throw bad(file, "expected ',' or '}' in header " + quote(text));
        }
        if (descr == null || fortran == null || shape == null) {
            throw bad(file, "header lacks one of 'descr', 'fortran_order', 'shape': " + quote(text));
        }
        if (fortran) {
            throw bad(file, "fortran_order is True; only C-order (row-major) arrays are supported"
                    + " (save with numpy.ascontiguousarray)");
        }
        try {
            if (shape.length > 0) Shapes.numel("Npy", shape);
        } catch (IllegalArgumentException e) {
            throw bad(file, e.getMessage());
        }
        return new Header(descr, shape);
    }

    private static void writeHeader(FileChannel ch, String descr, int[] shape) throws IOException {
        StringBuilder dict = new StringBuilder("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.length; i++) {
            dict.append(shape[i]);
            if (shape.length == 1 || i < shape.length - 1) dict.append(shape.length == 1 ? "," : ", ");
        }
        dict.append("), }");
        int total = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        dict.append(" ".repeat(pad)).append('\n');
        byte[] h = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer buf = ByteBuffer.allocate(10 + h.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length).put(h).flip();
        writeFully(ch, buf);
    }

    // ---------------------------------------------------------------- helpers

    private static int intItemSize(Path file, Header h) {
        switch (h.descr()) {
            case "<i8":
                return 8;
            case "<i4":
                return 4;
            default:
                throw bad(file, "dtype '" + h.descr() + "' is not an integer dtype this reader supports ('<i4', '<i8')");
        }
    }

    /** Checks that exactly n items of itemSize bytes follow, then returns a reusable little-endian buffer. */
    private static ByteBuffer dataBuffer(Path file, FileChannel ch, int n, int itemSize) throws IOException {
        long need = (long) n * itemSize, have = ch.size() - ch.position();
        if (have < need) {
            throw bad(file, "truncated data: the shape needs " + n + " items (" + need + " bytes) but the file has "
                    + have + " bytes of data");
        }
        if (have > need) {
            throw bad(file, "data length mismatch: the shape needs " + need + " bytes but the file has " + have
                    + " (" + (have - need) + " extra)");
        }
        return ByteBuffer.allocate((int) Math.min(CHUNK, need)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void fill(Path file, FileChannel ch, ByteBuffer buf, int bytes) throws IOException {
        buf.clear();
        buf.limit(bytes);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) throw bad(file, "truncated data (file ended early)");
        }
        buf.flip();
    }

    private static void readPrefix(Path file, FileChannel ch, ByteBuffer buf, String what) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                throw bad(file, (buf.position() == 0 && ch.size() == 0 ? "empty file" : "truncated header")
                        + ": the file ends inside " + what);
            }
        }
    }

    private static void requireEnd(Path file, FileChannel ch) throws IOException {
        if (ch.position() != ch.size()) throw bad(file, "trailing bytes after the data");
    }

    private static FileChannel openForWrite(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static int skipSpace(Path file, String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        if (i >= s.length()) throw bad(file, "unterminated header " + quote(s));
        return i;
    }

    private static String stringLiteral(Path file, String s, int i, int[] end) {
        char q = s.charAt(i);
        if (q != '\'' && q != '"') throw bad(file, "expected a quoted string at position " + i + " of header " + quote(s));
        int close = s.indexOf(q, i + 1);
        if (close < 0) throw bad(file, "unterminated string in header " + quote(s));
        end[0] = close + 1;
        return s.substring(i + 1, close);
    }

    private static String quote(String text) {
        String t = text.strip();
        return "\"" + (t.length() > 200 ? t.substring(0, 200) + "..." : t) + "\"";
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException("Npy: " + file + ": " + what);
    }
}
