package dev.rewind.engine.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or sharded folder) that cannot be read. The message is one line naming the
 * file, the tensor when there is one, the byte offset and what is wrong there.
 */
public final class SafetensorsFormatException extends IOException {

    private final Path file;
    private final long offset;

    /**
     * @param file   the file
     * @param tensor the tensor concerned, or null
     * @param offset byte offset in the file where the problem is
     * @param detail what is wrong
     */
    public SafetensorsFormatException(Path file, String tensor, long offset, String detail) {
        super(file + ": " + (tensor == null ? "" : "tensor '" + tensor + "': ") + detail + " (at byte offset " + offset + ")");
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset in the file where the problem was found. */
    public long offset() {
        return offset;
    }
}
