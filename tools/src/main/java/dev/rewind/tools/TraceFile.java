package dev.rewind.tools;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.rewind.align.aligner.ResumableOutput;
import dev.rewind.align.batch.BatchIds;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.JsonlLines;

import java.io.Closeable;
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
 * The trace file of a {@code rain} batch, kept consistent with its output file across interruptions:
 * a prompt's trace line ({@code {"id": ..., "trace": ...}}) is written before its result line, each in
 * one write. Resuming keeps exactly the trace lines of the prompts the output holds, once each: a trace
 * whose result line never made it (the process died in between), a repeat, and an unfinished last line
 * are removed (the file rewritten atomically), so every traced id is there once and no line is half.
 */
final class TraceFile implements Closeable {

    /** The most bytes of a trace line read to find its id (which comes first in the lines written here). */
    private static final int ID_PREFIX_BYTES = 1 << 20;

    private final FileChannel channel;

    private TraceFile(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Opens the trace of a batch writing to {@code output} (null: stdout, nothing to resume): a fresh
     * file unless the output already holds results, else the existing traces of those results.
     */
    static TraceFile open(Path trace, ResumableOutput output) throws IOException {
        if (output == null || output.resumed().done() == 0 || !Files.exists(trace)) {
            return new TraceFile(FileChannel.open(trace, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING));
        }
        keepTracesOf(trace, output);
        return new TraceFile(FileChannel.open(trace, StandardOpenOption.WRITE, StandardOpenOption.APPEND));
    }

    private static void keepTracesOf(Path trace, ResumableOutput output) throws IOException {
        ObjectMapper json = BatchInput.lineMapper(ID_PREFIX_BYTES);
        Path temp = Files.createTempFile(trace.toAbsolutePath().getParent(), trace.getFileName().toString(), ".tmp");
        try {
            boolean changed = false;
            Set<String> kept = new HashSet<>();
            try (FileChannel source = FileChannel.open(trace, StandardOpenOption.READ);
                 FileChannel target = FileChannel.open(temp, StandardOpenOption.WRITE);
                 JsonlLines lines = JsonlLines.open(trace, ID_PREFIX_BYTES)) {
                for (JsonlLines.Line line = lines.next(); line != null; line = lines.next()) {
                    JsonNode id = line.terminated() && !line.blank() ? idOf(json, line.bytes()) : null;
                    if (id == null || !output.isDone(id) || !kept.add(BatchIds.key(id))) {
                        changed = true;
                        continue;
                    }
                    long length = line.length() + 1; // with its newline
                    for (long done = 0; done < length; ) {
                        done += source.transferTo(line.offset() + done, length - done, target);
                    }
                }
                target.force(true);
            }
            if (changed) {
                Files.move(temp, trace, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** The value of the first field, {@code "id"}, of a trace line's beginning, or null when it has none. */
    private static JsonNode idOf(ObjectMapper json, byte[] prefix) {
        try (JsonParser p = json.createParser(prefix)) {
            if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME || !"id".equals(p.currentName())) {
                return null;
            }
            return switch (p.nextToken()) {
                case VALUE_STRING -> TextNode.valueOf(p.getText());
                case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                    case INT -> IntNode.valueOf(p.getIntValue());
                    case LONG -> LongNode.valueOf(p.getLongValue());
                    default -> BigIntegerNode.valueOf(p.getBigIntegerValue());
                };
                case null, default -> null;
            };
        } catch (IOException e) {
            return null;
        }
    }

    /** Appends one line (compact JSON, no line break) in one write. */
    void append(String jsonLine) throws IOException {
        if (jsonLine.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("a JSONL line cannot contain a line break");
        }
        ByteBuffer buffer = ByteBuffer.wrap((jsonLine + "\n").getBytes(StandardCharsets.UTF_8));
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
