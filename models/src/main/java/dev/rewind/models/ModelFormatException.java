package dev.rewind.models;

import dev.rewind.engine.text.Escape;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A GGUF file that parses but does not describe a model Rewind can run: a missing or
 * misshapen tensor, a missing or out-of-range metadata key, an unsupported architecture or
 * tensor type. The message names the file and the key or tensor, in one line: {@link Escape#visible}
 * is applied to it, so text from the file cannot break it.
 */
public final class ModelFormatException extends IOException {

    public ModelFormatException(Path file, String detail) {
        super(Escape.visible(file + ": " + detail));
    }

    public ModelFormatException(Path file, String detail, Throwable cause) {
        super(Escape.visible(file + ": " + detail), cause);
    }
}
