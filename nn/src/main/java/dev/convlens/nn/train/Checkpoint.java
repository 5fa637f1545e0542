package dev.convlens.nn.train;

import dev.convlens.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training checkpoint: named integers (epoch, seed, optimizer steps, dropout step counters),
 * named strings (optimizer, history) and named float tensors (parameters, optimizer state).
 *
 * <h2>File format</h2>
 * Big-endian, as {@link DataOutputStream} writes:
 * <pre>
 *   "CONVLENS-CKPT" int version(1)
 *   int n, n x (string key, long value)
 *   int n, n x (string key, string value)
 *   int n, n x (string key, int rank, rank x int dim, numel x float)
 *   32 bytes: SHA-256 of everything before
 * </pre>
 * (a string is an int byte count and its UTF-8 bytes). {@link #read} checks the digest before it
 * parses anything, so a truncated or corrupted file is reported as such, naming the file.
 *
 * <p>{@link #write} is atomic: the bytes go to a temporary file in the same folder, which is
 * fsynced, renamed over the target ({@code ATOMIC_MOVE}), and the folder is fsynced; a crash at any
 * point leaves either the old checkpoint or the new one, never a mix.
 */
public record Checkpoint(Map<String, Long> longs, Map<String, String> strings, Map<String, Tensor> tensors) {
    private static final byte[] MAGIC = "CONVLENS-CKPT".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1, DIGEST = 32;

    public Checkpoint {
        longs = new LinkedHashMap<>(longs);
        strings = new LinkedHashMap<>(strings);
        tensors = new LinkedHashMap<>(tensors);
    }

    public Checkpoint() {
        this(Map.of(), Map.of(), Map.of());
    }

    /** The integer {@code key}; an error naming {@code file} when it is missing. */
    public long getLong(String key, Path file) {
        Long v = longs.get(key);
        if (v == null) throw new IllegalArgumentException(file + ": checkpoint has no '" + key + "'");
        return v;
    }

    /** The checkpoint as bytes, digest included. */
    public byte[] toBytes() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(longs.size());
            for (Map.Entry<String, Long> e : longs.entrySet()) {
                str(out, e.getKey());
                out.writeLong(e.getValue());
            }
            out.writeInt(strings.size());
            for (Map.Entry<String, String> e : strings.entrySet()) {
                str(out, e.getKey());
                str(out, e.getValue());
            }
            out.writeInt(tensors.size());
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                str(out, e.getKey());
                int[] shape = e.getValue().shape();
                out.writeInt(shape.length);
                for (int d : shape) out.writeInt(d);
                ByteBuffer b = ByteBuffer.allocate(4 * e.getValue().size());
                b.asFloatBuffer().put(e.getValue().data);
                out.write(b.array());
            }
            out.flush();
            out.write(sha256(bytes.toByteArray(), bytes.size()));
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    /** Writes the checkpoint atomically (temporary file, fsync, rename, fsync of the folder). */
    public void write(Path file) {
        byte[] bytes = toBytes();
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException | UnsupportedOperationException e) {
                // some platforms cannot open a folder; the rename itself is still atomic
            }
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one to report
            }
            throw new UncheckedIOException(file + ": cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    /** Reads and verifies a checkpoint; a truncated or corrupted file is an error naming it. */
    public static Checkpoint read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read checkpoint: " + e.getMessage(), e);
        }
        return fromBytes(bytes, file);
    }

    /** Parses bytes written by {@link #toBytes}; {@code file} names them in errors. */
    public static Checkpoint fromBytes(byte[] bytes, Path file) {
        if (bytes.length < MAGIC.length + 4 + DIGEST || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IllegalArgumentException(file + ": not a convlens checkpoint (bad magic or too short: "
                    + bytes.length + " bytes)");
        }
        int body = bytes.length - DIGEST;
        if (!Arrays.equals(sha256(bytes, body), 0, DIGEST, bytes, body, bytes.length)) {
            throw new IllegalArgumentException(file + ": broken checkpoint: SHA-256 checksum mismatch (the file is "
                    + "truncated or corrupted); delete it to start over, or restore a good copy");
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, body));
            in.skipBytes(MAGIC.length);
            int version = in.readInt();
            if (version != VERSION) throw new IllegalArgumentException(file + ": checkpoint version " + version + " (convlens reads " + VERSION + ")");
            Map<String, Long> longs = new LinkedHashMap<>();
            for (int i = count(in, file); i > 0; i--) longs.put(str(in, file), in.readLong());
            Map<String, String> strings = new LinkedHashMap<>();
            for (int i = count(in, file); i > 0; i--) strings.put(str(in, file), str(in, file));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (int i = count(in, file); i > 0; i--) {
                String key = str(in, file);
                int rank = in.readInt();
                if (rank < 0 || rank > 8) throw new IllegalArgumentException(file + ": tensor '" + key + "' has rank " + rank);
                int[] shape = new int[rank];
                long n = 1;
                for (int d = 0; d < rank; d++) {
                    shape[d] = in.readInt();
                    n *= shape[d];
                    if (shape[d] < 0 || 4 * n > in.available()) {
                        throw new IllegalArgumentException(file + ": tensor '" + key + "' shape runs past the end of the file");
                    }
                }
                byte[] raw = new byte[(int) (4 * n)];
                in.readFully(raw);
                float[] data = new float[(int) n];
                ByteBuffer.wrap(raw).asFloatBuffer().get(data);
                tensors.put(key, Tensor.of(data, shape));
            }
            if (in.available() != 0) throw new IllegalArgumentException(file + ": " + in.available() + " unexpected bytes after the tensors");
            return new Checkpoint(longs, strings, tensors);
        } catch (EOFException e) {
            throw new IllegalArgumentException(file + ": checkpoint ends early", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int count(DataInputStream in, Path file) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) throw new IllegalArgumentException(file + ": bad entry count " + n);
        return n;
    }

    private static String str(DataInputStream in, Path file) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) throw new IllegalArgumentException(file + ": bad string length " + n);
        byte[] b = new byte[n];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] sha256(byte[] b, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b, 0, len);
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
