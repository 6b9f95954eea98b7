package dev.rewind.engine.gguf;

import dev.rewind.engine.text.Escape;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A GGUF file that cannot be read: names the file, the byte offset where reading failed,
 * and what was wrong there, in one line ({@link Escape#visible} is applied to the whole message, so a
 * name from the file cannot break it).
 */
public final class GgufFormatException extends IOException {

    /** What was wrong, for callers (and tests) that act on the kind of failure. */
    public enum Problem {
        BAD_MAGIC, UNSUPPORTED_VERSION, TRUNCATED, LENGTH_PAST_END, BAD_VALUE_TYPE, BAD_VALUE,
        UNKNOWN_TENSOR_TYPE, TOO_MANY_DIMENSIONS, BAD_SHAPE, SIZE_OVERFLOW, BAD_ALIGNMENT,
        TENSOR_DATA_PAST_END, OVERLAPPING_TENSOR_DATA, DUPLICATE_NAME
    }

    private final Path file;
    private final long offset;
    private final Problem problem;

    public GgufFormatException(Path file, long offset, Problem problem, String detail) {
        super(Escape.visible(file + ": " + detail + " (at byte offset " + offset + ")"));
        this.file = file;
        this.offset = offset;
        this.problem = problem;
    }

    public Path file() {
        return file;
    }

    /** Byte offset in the file where the problem was found. */
    public long offset() {
        return offset;
    }

    public Problem problem() {
        return problem;
    }
}
