package dev.convlens.models.onnx;

import java.nio.file.Path;

/**
 * A model file that convlens cannot read: malformed, truncated, unsupported or unsafe. The
 * message always names the file and the place in it (byte offset, node, initializer or field).
 */
public final class OnnxException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The file at fault, or null when the model came from memory. */
    public final Path file;

    public OnnxException(Path file, String message) {
        super((file == null ? "<memory>" : file.toString()) + ": " + message);
        this.file = file;
    }

    public OnnxException(Path file, String message, Throwable cause) {
        super((file == null ? "<memory>" : file.toString()) + ": " + message, cause);
        this.file = file;
    }
}
