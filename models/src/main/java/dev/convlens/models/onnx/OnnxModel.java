package dev.convlens.models.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.convlens.models.onnx.proto.Onnx.ModelProto;
import dev.convlens.models.onnx.proto.Onnx.OperatorSetIdProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;

/**
 * A parsed ONNX file: the protobuf {@code ModelProto} (generated from the official
 * {@code onnx.proto}) plus the file it came from and the opset of the default domain.
 *
 * @param file  the model file (external data is resolved next to it), or null for bytes from memory
 * @param proto the parsed model
 * @param opset the version of the default ("" or "ai.onnx") operator set, or -1 when the model imports
 *              only other domains
 */
public record OnnxModel(Path file, ModelProto proto, long opset) {

    /** Reads and parses a model file; a malformed or truncated file gives an {@link OnnxException} with the byte offset. */
    public static OnnxModel read(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new OnnxException(file, "cannot read: " + e, e);
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new OnnxException(file, "is " + size + " bytes; protobuf files above 2 GiB must keep their "
                    + "weights in external data files");
        }
        ByteBuffer bytes;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, size); // stays valid after the channel closes
        } catch (IOException e) {
            throw new OnnxException(file, "cannot read: " + e, e);
        }
        return parse(file, bytes);
    }

    /** Parses model bytes; {@code file} is used for messages and external data only. */
    public static OnnxModel parse(Path file, byte[] bytes) {
        return parse(file, ByteBuffer.wrap(bytes));
    }

    /**
     * Parses model bytes without copying the tensors' raw data: the parsed {@code raw_data} fields
     * alias {@code bytes} (protobuf's aliasing; the caller must not change them while the model is
     * in use), so the weights exist once in the buffer and once
     * as the floats made from them. {@link #read} maps the file, so the buffer is off the Java heap
     * and a model's import needs about its weights' size in heap, not three times that.
     */
    public static OnnxModel parse(Path file, ByteBuffer bytes) {
        // a ByteString over the buffer gives a stream that may alias it (protobuf aliases only immutable input)
        CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
        in.enableAliasing(true);
        in.setRecursionLimit(100);
        ModelProto proto;
        try {
            proto = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
        } catch (IOException | RuntimeException e) {
            throw new OnnxException(file, "malformed ONNX model near byte offset " + in.getTotalBytesRead()
                    + " of " + bytes.limit() + ": " + e.getMessage(), e);
        }
        if (!proto.hasGraph()) {
            throw new OnnxException(file, "no graph in the model (is this an ONNX ModelProto? "
                    + bytes.limit() + " bytes, ir_version " + proto.getIrVersion() + ")");
        }
        long opset = -1;
        for (OperatorSetIdProto o : proto.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) opset = o.getVersion();
        }
        return new OnnxModel(file, proto, opset);
    }
}
