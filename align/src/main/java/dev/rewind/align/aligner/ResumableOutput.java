package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
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

    /**
     * Opens (or creates) the file for appending.
     *
     * @param retryErrors drop the lines whose {@code error} is set (rewriting the file atomically), so
     *                    those ids are done again
     * @throws IOException if the file cannot be read or written, or a complete line is not a JSON object with an id
     */
    public static ResumableOutput open(Path file, boolean retryErrors) throws IOException {
        ObjectMapper json = new ObjectMapper();
        int cut = 0;
        int retried = 0;
        Set<String> done = new HashSet<>();
        if (Files.exists(file)) {
            byte[] bytes = Files.readAllBytes(file);
            int end = bytes.length;
            while (end > 0 && bytes[end - 1] != '\n') {
                end--;
            }
            cut = bytes.length - end;
            String text = new String(bytes, 0, end, StandardCharsets.UTF_8);
            List<String> kept = new ArrayList<>();
            int lineNumber = 0;
            for (String line : text.split("\n", -1)) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = json.readTree(line);
                } catch (IOException e) {
                    throw new IOException(file + " line " + lineNumber + " is not JSON, so the batch cannot resume from it: "
                            + e.getMessage(), e);
                }
                if (!node.isObject() || !node.has("id")) {
                    throw new IOException(file + " line " + lineNumber + " has no \"id\", so the batch cannot resume from it");
                }
                if (retryErrors && node.hasNonNull("error")) {
                    retried++;
                    continue;
                }
                kept.add(line);
                done.add(node.get("id").toString());
            }
            if (retried > 0) {
                rewrite(file, kept);
            } else if (cut > 0) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(end);
                    ch.force(true);
                }
            }
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        return new ResumableOutput(channel, done, new Resumed(done.size(), cut, retried));
    }

    private static void rewrite(Path file, List<String> lines) throws IOException {
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
        try {
            StringBuilder sb = new StringBuilder();
            for (String line : lines) {
                sb.append(line).append('\n');
            }
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
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
        return done.contains(id.toString());
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
        done.add(id.toString());
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
