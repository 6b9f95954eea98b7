package dev.rewind.align.batch;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.text.Escape;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A JSONL batch input read one line at a time, as bytes: each non-blank line becomes one
 * {@link BatchItem}, and a line that cannot be an item — bad UTF-8, bad JSON, not an object, longer
 * than the limit, an id {@link BatchIds} refuses — becomes a {@link BatchItem.Bad} naming its line
 * (and, for bad UTF-8, the byte offset), never an exception that stops the batch. Only a failure to
 * read the file itself is an {@link IOException}. Memory is bounded by the line limit and the ids seen.
 */
public final class BatchInput implements Closeable {

    /** The longest line read by default: 16 MiB, far more than any prompt a context can hold. */
    public static final int DEFAULT_MAX_LINE_BYTES = 16 << 20;

    /** Parses one line: strict JSON, nothing after the value, no duplicate keys, bounded nesting and numbers. */
    public static ObjectMapper lineMapper(int maxLineBytes) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxDocumentLength(maxLineBytes)
                        .maxStringLength(maxLineBytes)
                        .maxNestingDepth(100)
                        .maxNumberLength(100)
                        .build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        return JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    private final Path file;
    private final JsonlLines lines;
    private final int items;
    private final ObjectMapper json;
    private final BatchIds ids = new BatchIds();

    private BatchInput(Path file, JsonlLines lines, int items, int maxLineBytes) {
        this.file = file;
        this.lines = lines;
        this.items = items;
        this.json = lineMapper(maxLineBytes);
    }

    /** Opens {@code file}, counting its items first (a pass over the bytes, nothing parsed). */
    public static BatchInput open(Path file) throws IOException {
        return open(file, DEFAULT_MAX_LINE_BYTES);
    }

    /**
     * {@link #open(Path)} with another line limit. A regular file is counted first; a pipe (e.g.
     * {@code --input <(command)}) can be read only once, so its count is unknown.
     */
    public static BatchInput open(Path file, int maxLineBytes) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException(Escape.visible(file + " is a directory, not a JSONL file"));
        }
        int count = UNKNOWN;
        if (Files.isRegularFile(file)) {
            count = 0;
            try (JsonlLines counting = JsonlLines.open(file, 1)) {
                for (JsonlLines.Line line = counting.next(); line != null; line = counting.next()) {
                    count += line.blank() ? 0 : 1;
                }
            }
        }
        return new BatchInput(file, JsonlLines.open(file, maxLineBytes), count, maxLineBytes);
    }

    /** {@link #items()} of an input that could not be counted (a pipe). */
    public static final int UNKNOWN = -1;

    /** The input file. */
    public Path file() {
        return file;
    }

    /** How many items the file holds (its non-blank lines), or {@link #UNKNOWN} for a pipe. */
    public int items() {
        return items;
    }

    /** The next item, or {@code null} after the last. */
    public BatchItem next() throws IOException {
        for (JsonlLines.Line line = lines.next(); line != null; line = lines.next()) {
            if (line.blank()) {
                continue;
            }
            return item(line);
        }
        return null;
    }

    private BatchItem item(JsonlLines.Line line) {
        int n = line.number();
        if (line.tooLong()) {
            return refused(n, "line " + n + " is " + line.length() + " bytes long, more than the " + lines.maxLineBytes()
                    + " a batch line may have");
        }
        byte[] bytes = line.bytes();
        int from = n == 1 && startsWithBom(bytes) ? 3 : 0;
        Decoded text = decode(bytes, from);
        if (text.text() == null) {
            return refused(n, String.format("line %d is not valid UTF-8: byte 0x%02X at byte offset %d of the file", n,
                    bytes[text.badIndex()] & 0xFF, line.offset() + text.badIndex()));
        }
        JsonNode node;
        try {
            node = json.readTree(text.text());
        } catch (JsonProcessingException e) {
            return refused(n, "line " + n + " is not JSON: " + Escape.excerpt(String.valueOf(e.getOriginalMessage()), 200));
        }
        if (node == null || !node.isObject()) {
            return refused(n, "line " + n + " is not a JSON object");
        }
        ObjectNode object = (ObjectNode) node;
        return switch (ids.assign(object.get("id"), n)) {
            case BatchIds.Result.Given g -> new BatchItem.Ok(g.id(), n, object);
            case BatchIds.Result.Refused r -> new BatchItem.Bad(r.id(), n, r.problem());
        };
    }

    private BatchItem refused(int line, String problem) {
        // A line that cannot be read keeps its line id: remembered, so the rule's bookkeeping stays one pass.
        return switch (ids.assign(null, line)) {
            case BatchIds.Result.Given g -> new BatchItem.Bad(g.id(), line, problem);
            case BatchIds.Result.Refused r -> new BatchItem.Bad(r.id(), line, problem);
        };
    }

    private static boolean startsWithBom(byte[] b) {
        return b.length >= 3 && (b[0] & 0xFF) == 0xEF && (b[1] & 0xFF) == 0xBB && (b[2] & 0xFF) == 0xBF;
    }

    /** The text of {@code bytes[from ..]} decoded strictly, or the index of the first byte that is not UTF-8. */
    private record Decoded(String text, int badIndex) {
    }

    private static Decoded decode(byte[] bytes, int from) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, from, bytes.length - from);
        CharBuffer out = CharBuffer.allocate(bytes.length - from);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        return r.isError() ? new Decoded(null, in.position()) : new Decoded(out.flip().toString(), -1);
    }

    @Override
    public void close() throws IOException {
        lines.close();
    }
}
