package dev.rewind.align.batch;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The lines of a file as bytes, one at a time, each with its 1-based number and the byte offset where
 * it starts; a line is everything up to a {@code \n} (kept out of the line), or up to the end of the
 * file. Nothing is decoded here, and memory stays bounded: a line longer than the limit comes back as
 * {@link Line#tooLong()} with its length and only its first bytes (as many as the limit), the rest
 * skipped, never held.
 */
public final class JsonlLines implements Closeable {

    /**
     * One line.
     *
     * @param number     1-based line number
     * @param offset     byte offset of its first byte in the file
     * @param bytes      its bytes without the {@code \n}; for a line longer than the limit, its first bytes
     * @param length     its length in bytes (without the {@code \n}), also when too long
     * @param terminated whether a {@code \n} ended it (the last line of a file may end without one)
     * @param blank      whether it holds nothing but spaces, tabs and carriage returns
     */
    public record Line(int number, long offset, byte[] bytes, long length, boolean terminated, boolean blank) {
        /** Whether the line is longer than the limit (its bytes are then only its beginning). */
        public boolean tooLong() {
            return length > bytes.length;
        }
    }

    private final InputStream in;
    private final int maxLineBytes;
    private final ByteArrayOutputStream current = new ByteArrayOutputStream();
    private long position;
    private int number;
    private boolean ended;

    private JsonlLines(InputStream in, int maxLineBytes) {
        if (maxLineBytes < 1) {
            throw new IllegalArgumentException("the line limit must be >= 1, got " + maxLineBytes);
        }
        this.in = in;
        this.maxLineBytes = maxLineBytes;
    }

    /** Reads {@code file}; lines longer than {@code maxLineBytes} are reported, not held. */
    public static JsonlLines open(Path file, int maxLineBytes) throws IOException {
        return new JsonlLines(new BufferedInputStream(Files.newInputStream(file), 1 << 16), maxLineBytes);
    }

    /** Reads {@code in} (for tests and in-memory input). */
    public static JsonlLines of(InputStream in, int maxLineBytes) {
        return new JsonlLines(new BufferedInputStream(in, 1 << 16), maxLineBytes);
    }

    /** The longest line whose bytes are kept. */
    public int maxLineBytes() {
        return maxLineBytes;
    }

    /** The next line, or {@code null} at the end of the input (an empty file has no line). */
    public Line next() throws IOException {
        if (ended) {
            return null;
        }
        current.reset();
        long start = position;
        long length = 0;
        boolean blank = true;
        while (true) {
            int b = in.read();
            if (b < 0) {
                ended = true;
                if (length == 0) {
                    return null;
                }
                return line(start, length, false, blank);
            }
            position++;
            if (b == '\n') {
                return line(start, length, true, blank);
            }
            length++;
            blank &= b == ' ' || b == '\t' || b == '\r';
            if (length <= maxLineBytes) {
                current.write(b);
            }
        }
    }

    private Line line(long start, long length, boolean terminated, boolean blank) {
        return new Line(++number, start, current.toByteArray(), length, terminated, blank);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
