package dev.rewind.models;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A GGUF file that parses but does not describe a model Rewind can run: a missing or
 * misshapen tensor, a missing or out-of-range metadata key, an unsupported architecture or
 * tensor type. The message names the file and the key or tensor.
 */
public final class ModelFormatException extends IOException {

    public ModelFormatException(Path file, String detail) {
        super(file + ": " + detail);
    }

    public ModelFormatException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
    }
}
