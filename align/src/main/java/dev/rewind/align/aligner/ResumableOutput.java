package dev.rewind.align.aligner;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.align.batch.BatchIds;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.JsonlLines;
import dev.rewind.engine.text.Escape;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * A JSONL output file that a batch appends to one finished item at a time and that a restarted batch
 * resumes: the ids already in it are done and skipped, so every id appears once however often the batch
 * is interrupted.
 *
 * <p>Nothing is ever half-written for good: each line goes out in one write, newline included, and is
 * forced to disk before the next item starts; a last line without its newline (the process died inside
 * the write) is cut off when the file is opened again, and that item is redone. Ids compare by their
 * JSON text, so {@code 1} and {@code "1"} are different ids.
 */
public final class ResumableOutput implements AutoCloseable {

    /**
     * What opening found.
     *
     * @param done          complete lines already in the file
     * @param cutBytes      bytes of an unfinished last line that were removed
     * @param retriedErrors lines with an error that were removed to be done again
     */
    public record Resumed(int done, int cutBytes, int retriedErrors) {
    }

    private final FileChannel channel;
    private final Set<String> done;
    private final Resumed resumed;

    private ResumableOutput(FileChannel channel, Set<String> done, Resumed resumed) {
        this.channel = channel;
        this.done = done;
        this.resumed = resumed;
    }

    /** The longest output line a resumed batch reads back (an output line is one item: far below this). */
    static final int MAX_LINE_BYTES = 64 << 20;

    /**
     * Opens (or creates) the file for appending. The file is read one line at a time (memory holds one
     * line and the ids), so a large output resumes as cheaply as a small one.
     *
     * @param retryErrors drop the lines whose {@code error} is set (rewriting the file atomically), so
     *                    those ids are done again
     * @throws IOException if the file cannot be read or written, or a complete line is not a JSON object
     *                     with an id (the batch refuses to resume from a file it did not write)
     */
    public static ResumableOutput open(Path file, boolean retryErrors) throws IOException {
        ObjectMapper json = BatchInput.lineMapper(MAX_LINE_BYTES);
        int retried = 0;
        long completeEnd = 0;
        long size = 0;
        Set<String> done = new HashSet<>();
        Set<Integer> dropped = new HashSet<>();
        if (Files.exists(file)) {
            try (JsonlLines lines = JsonlLines.open(file, MAX_LINE_BYTES)) {
                for (JsonlLines.Line line = lines.next(); line != null && line.terminated(); line = lines.next()) {
                    completeEnd = line.offset() + line.length() + 1;
                    if (line.blank()) {
                        continue;
                    }
                    JsonNode node = readLine(file, json, line);
                    if (retryErrors && node.hasNonNull("error")) {
                        retried++;
                        dropped.add(line.number());
                        continue;
                    }
                    done.add(BatchIds.key(node.get("id")));
                }
            }
            size = Files.size(file);
            if (retried > 0) {
                rewrite(file, dropped, completeEnd);
            } else if (size > completeEnd) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(completeEnd);
                    ch.force(true);
                }
            }
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        return new ResumableOutput(channel, done, new Resumed(done.size(), Math.toIntExact(Math.min(Integer.MAX_VALUE, size - completeEnd)), retried));
    }

    private static JsonNode readLine(Path file, ObjectMapper json, JsonlLines.Line line) throws IOException {
        String where = Escape.visible(file.toString()) + " line " + line.number();
        if (line.tooLong()) {
            throw new IOException(where + " is longer than " + MAX_LINE_BYTES + " bytes, so the batch cannot resume from it");
        }
        JsonNode node;
        try {
            node = json.readTree(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(line.bytes())).toString());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(where + " is not UTF-8, so the batch cannot resume from it", e);
        } catch (JsonProcessingException e) {
            throw new IOException(where + " is not JSON, so the batch cannot resume from it: "
                    + Escape.excerpt(String.valueOf(e.getOriginalMessage()), 200), e);
        }
        if (node == null || !node.isObject() || !node.has("id")) {
            throw new IOException(where + " has no \"id\", so the batch cannot resume from it");
        }
        return node;
    }

    /** Copies the complete lines but the {@code dropped} ones to a new file, moved onto {@code file} atomically. */
    private static void rewrite(Path file, Set<Integer> dropped, long completeEnd) throws IOException {
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE);
                 JsonlLines lines = JsonlLines.open(file, MAX_LINE_BYTES)) {
                for (JsonlLines.Line line = lines.next(); line != null && line.offset() < completeEnd; line = lines.next()) {
                    if (dropped.contains(line.number()) || line.blank()) {
                        continue;
                    }
                    ByteBuffer buffer = ByteBuffer.allocate(line.bytes().length + 1).put(line.bytes()).put((byte) '\n').flip();
                    while (buffer.hasRemaining()) {
                        ch.write(buffer);
                    }
                }
                ch.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** What opening the file found. */
    public Resumed resumed() {
        return resumed;
    }

    /** Whether a line for {@code id} is already in the file. */
    public boolean isDone(JsonNode id) {
        return done.contains(BatchIds.key(id));
    }

    /**
     * Appends one line ({@code json} must not contain a line break; compact JSON never does) and forces
     * it to disk.
     */
    public void append(JsonNode id, String json) throws IOException {
        if (json.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("a JSONL line cannot contain a line break");
        }
        ByteBuffer buffer = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        channel.force(false);
        done.add(BatchIds.key(id));
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
