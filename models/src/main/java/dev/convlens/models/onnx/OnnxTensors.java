package dev.convlens.models.onnx;

import dev.convlens.models.onnx.proto.Onnx.StringStringEntryProto;
import dev.convlens.models.onnx.proto.Onnx.TensorProto;
import dev.convlens.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * ONNX {@code TensorProto} to convlens values, with every size taken from the file checked
 * before anything is allocated.
 *
 * <p>Data may come from {@code raw_data} (little-endian), the typed fields ({@code float_data},
 * {@code int64_data}, {@code int32_data}, {@code double_data}) or external data
 * ({@code data_location = EXTERNAL}); external files are resolved relative to the model's folder
 * and must stay inside it.
 *
 * <p>The element limit is {@code convlens.maxTensorElements} (default 2^28 = 256 Mi floats,
 * 1 GiB), or the value given to {@link #withMaxElements} (the CLI's {@code --max-tensor-mb}), and
 * never above what a Java array can hold. It is checked from the dims, before the payload is read
 * or anything allocated.
 */
public final class OnnxTensors {
    /** Default largest element count accepted from a file. */
    public static final long DEFAULT_MAX_ELEMENTS = 1L << 28;

    private OnnxTensors() {}

    private static final ThreadLocal<Long> LIMIT = new ThreadLocal<>();

    /**
     * The largest element count accepted from a file on this thread: the value given to
     * {@link #withMaxElements}, else {@code -Dconvlens.maxTensorElements}, else {@link #DEFAULT_MAX_ELEMENTS};
     * never above what a Java array holds.
     */
    public static long maxElements() {
        Long l = LIMIT.get();
        return Math.min(l != null ? l : Long.getLong("convlens.maxTensorElements", DEFAULT_MAX_ELEMENTS), Integer.MAX_VALUE - 8);
    }

    /** Runs {@code body} (e.g. {@code () -> OnnxImporter.load(f)}) with the element limit {@code max} on this thread. */
    public static <T> T withMaxElements(long max, java.util.function.Supplier<T> body) {
        if (max < 1) throw new IllegalArgumentException("OnnxTensors: the element limit must be positive, got " + max);
        Long old = LIMIT.get();
        LIMIT.set(max);
        try {
            return body.get();
        } finally {
            if (old == null) LIMIT.remove();
            else LIMIT.set(old);
        }
    }

    /** The dims as ints, refusing negative dims, products that overflow and tensors above the limit. */
    public static int[] shape(TensorProto t, Path file, String where) {
        int[] shape = new int[t.getDimsCount()];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = t.getDims(i);
            if (d < 0) throw new OnnxException(file, where + ": dimension " + i + " is negative (" + d + ")");
            if (d > 0 && n > Long.MAX_VALUE / d) {
                throw new OnnxException(file, where + ": dims " + t.getDimsList() + " overflow a 64-bit element count");
            }
            n *= d;
            if (n > maxElements()) {
                throw new OnnxException(file, where + ": dims " + t.getDimsList() + " give more than " + maxElements()
                        + " elements (" + (4 * maxElements() >> 20) + " MiB of floats: the limit, set by --max-tensor-mb or -Dconvlens.maxTensorElements)");
            }
            shape[i] = (int) d;
        }
        return shape;
    }

    private static int count(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** A FLOAT (or DOUBLE, converted) tensor. A scalar (no dims) becomes shape (1). */
    public static Tensor toTensor(TensorProto t, Path file, String where) {
        int[] shape = shape(t, file, where);
        int n = count(shape);
        if (n == 0) throw new OnnxException(file, where + ": empty tensor (dims " + t.getDimsList() + "); convlens tensors have no zero dims");
        // The payload's length is checked (bytes/requireCount) before the array is allocated.
        float[] v;
        switch (t.getDataType()) {
            case TensorProto.DataType.FLOAT_VALUE -> {
                ByteBuffer raw = bytes(t, file, where, 4L * n);
                if (raw == null) requireCount(t.getFloatDataCount(), n, file, where, "float_data");
                v = new float[n];
                if (raw != null) raw.asFloatBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getFloatData(i);
            }
            case TensorProto.DataType.DOUBLE_VALUE -> {
                ByteBuffer raw = bytes(t, file, where, 8L * n);
                if (raw == null) requireCount(t.getDoubleDataCount(), n, file, where, "double_data");
                v = new float[n];
                if (raw != null) for (int i = 0; i < n; i++) v[i] = (float) raw.getDouble(8 * i);
                else for (int i = 0; i < n; i++) v[i] = (float) t.getDoubleData(i);
            }
            default -> throw new OnnxException(file, where + ": data type " + typeName(t.getDataType())
                    + " where a float tensor was expected");
        }
        return Tensor.of(v, shape.length == 0 ? new int[] {1} : shape);
    }

    /** An INT64, INT32, INT8, UINT8 or BOOL tensor (shapes, axes, flags) as longs. */
    public static long[] toLongs(TensorProto t, Path file, String where) {
        int n = count(shape(t, file, where));
        // The payload's length is checked (bytes/requireCount) before the array is allocated.
        long[] v;
        switch (t.getDataType()) {
            case TensorProto.DataType.INT64_VALUE -> {
                ByteBuffer raw = bytes(t, file, where, 8L * n);
                if (raw == null) requireCount(t.getInt64DataCount(), n, file, where, "int64_data");
                v = new long[n];
                if (raw != null) raw.asLongBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getInt64Data(i);
            }
            case TensorProto.DataType.INT32_VALUE -> {
                ByteBuffer raw = bytes(t, file, where, 4L * n);
                if (raw == null) requireCount(t.getInt32DataCount(), n, file, where, "int32_data");
                v = new long[n];
                if (raw != null) for (int i = 0; i < n; i++) v[i] = raw.getInt(4 * i);
                else for (int i = 0; i < n; i++) v[i] = t.getInt32Data(i);
            }
            case TensorProto.DataType.BOOL_VALUE, TensorProto.DataType.UINT8_VALUE, TensorProto.DataType.INT8_VALUE -> {
                ByteBuffer raw = bytes(t, file, where, n);
                boolean signed = t.getDataType() == TensorProto.DataType.INT8_VALUE;
                if (raw == null) requireCount(t.getInt32DataCount(), n, file, where, "int32_data");
                v = new long[n];
                if (raw != null) for (int i = 0; i < n; i++) v[i] = signed ? raw.get(i) : raw.get(i) & 0xff;
                else for (int i = 0; i < n; i++) v[i] = t.getInt32Data(i);
            }
            default -> throw new OnnxException(file, where + ": data type " + typeName(t.getDataType())
                    + " where an integer tensor was expected");
        }
        return v;
    }

    /** The ONNX name of a data type number. */
    public static String typeName(int dataType) {
        TensorProto.DataType d = TensorProto.DataType.forNumber(dataType);
        return d == null ? "unknown(" + dataType + ")" : d.name();
    }

    private static void requireCount(int have, int want, Path file, String where, String field) {
        if (have != want) {
            throw new OnnxException(file, where + ": " + field + " holds " + have + " values but the dims need " + want);
        }
    }

    /** The little-endian payload from raw_data or external data, or null when the typed fields hold it. */
    private static ByteBuffer bytes(TensorProto t, Path file, String where, long want) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) return external(t, file, where, want);
        if (!t.hasRawData()) return null;
        long have = t.getRawData().size();
        if (have != want) {
            throw new OnnxException(file, where + ": raw_data has " + have + " bytes but dims " + t.getDimsList()
                    + " of " + typeName(t.getDataType()) + " need " + want);
        }
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer external(TensorProto t, Path file, String where, long want) {
        String location = null;
        long offset = 0, length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> { } // checksum and others: not needed to read
                }
            } catch (NumberFormatException ex) {
                throw new OnnxException(file, where + ": external_data " + e.getKey() + " is not a number: '" + e.getValue() + "'");
            }
        }
        if (location == null) throw new OnnxException(file, where + ": external data without a 'location'");
        if (file == null) throw new OnnxException(null, where + ": external data needs the model's folder, but the model came from memory");
        Path dir = file.toAbsolutePath().normalize().getParent();
        Path data;
        boolean absolute;
        try {
            absolute = Path.of(location).isAbsolute();
            data = dir.resolve(location).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new OnnxException(file, where + ": external data location '" + location + "' is not a valid path");
        }
        if (absolute || !data.startsWith(dir)) {
            throw new OnnxException(file, where + ": external data location '" + location
                    + "' points outside the model's folder " + dir + "; refused");
        }
        // Symbolic links: compare real paths, so that a link inside the folder cannot lead outside it.
        Path realDir, realData;
        try {
            realDir = dir.toRealPath();
            realData = data.toRealPath();
        } catch (IOException e) {
            throw new OnnxException(file, where + ": cannot read external data " + data + ": " + e, e);
        }
        if (!realData.startsWith(realDir)) {
            throw new OnnxException(file, where + ": external data location '" + location + "' resolves to " + realData
                    + ", outside the model's folder " + realDir + " (a symbolic link?); refused");
        }
        data = realData;
        if (length >= 0 && length != want) {
            throw new OnnxException(file, where + ": external data length " + length + " but dims " + t.getDimsList()
                    + " need " + want + " bytes");
        }
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
            long size = ch.size();
            if (offset < 0 || offset > size || size - offset < want) {
                throw new OnnxException(file, where + ": external data file " + data + " has " + size
                        + " bytes; offset " + offset + " + " + want + " bytes does not fit");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) break;
            }
            return buf.flip();
        } catch (IOException e) {
            throw new OnnxException(file, where + ": cannot read external data " + data + ": " + e.getMessage(), e);
        }
    }

    /** Writes a float tensor as a TensorProto with little-endian raw_data (for export and tests). */
    public static TensorProto fromTensor(String name, Tensor x) {
        ByteBuffer b = ByteBuffer.allocate(4 * x.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(x.data);
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (int d : x.shape()) t.addDims(d);
        return t.setRawData(com.google.protobuf.ByteString.copyFrom(b)).build();
    }

    /** Reads one serialized TensorProto file (the ONNX test-data format, {@code input_0.pb}). */
    public static TensorProto readProto(Path pb) {
        try {
            byte[] bytes = Files.readAllBytes(pb);
            return TensorProto.parseFrom(bytes);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new OnnxException(pb, "not a valid TensorProto: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new OnnxException(pb, "cannot read: " + e.getMessage(), e);
        }
    }
}
