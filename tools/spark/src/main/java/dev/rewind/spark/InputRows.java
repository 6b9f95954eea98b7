package dev.rewind.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.batch.BatchIds;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.engine.text.Escape;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The items of a job as rows: {@code line} (1-based, 0 for rows of a Dataset), {@code id} (the id's JSON
 * text: ids compare by it, so {@code 1} and {@code "1"} are two ids), {@code item} (the line's JSON
 * object) or {@code problem} (why the line is not an item). A line of a JSONL input becomes a row by
 * the CLI batches' rule ({@link BatchInput}, {@link BatchIds}): bad UTF-8 (with its byte offset), not JSON,
 * not an object, too long, or an id of another type or starting with {@code line:} is a problem row
 * under {@code "line:N"}. A repeated id is found over the whole input afterwards ({@link #repeatProblem}).
 */
public final class InputRows {

    /** The schema of item rows. */
    public static final StructType SCHEMA = new StructType(new StructField[]{
            DataTypes.createStructField("line", DataTypes.IntegerType, false),
            DataTypes.createStructField("id", DataTypes.StringType, false),
            DataTypes.createStructField("item", DataTypes.StringType, true),
            DataTypes.createStructField("problem", DataTypes.StringType, true)});

    private static final ObjectMapper LINES = BatchInput.lineMapper(BatchInput.DEFAULT_MAX_LINE_BYTES);

    private InputRows() {
    }

    /**
     * The row of one input line, or null for a blank line.
     *
     * @param line   1-based line number
     * @param offset byte offset of the line in its file
     * @param bytes  the line without its {@code \n}
     * @param length the line's length (more than {@code bytes} when only its beginning was kept)
     */
    public static Row parse(int line, long offset, byte[] bytes, long length) {
        if (blank(bytes) && length == bytes.length) {
            return null;
        }
        if (length > BatchInput.DEFAULT_MAX_LINE_BYTES) {
            return problem(line, "line " + line + " is " + length + " bytes long, more than the " + BatchInput.DEFAULT_MAX_LINE_BYTES
                    + " a batch line may have");
        }
        int from = line == 1 && bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF ? 3 : 0;
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, from, bytes.length - from);
        CharBuffer out = CharBuffer.allocate(bytes.length - from);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            int bad = in.position();
            return problem(line, String.format("line %d is not valid UTF-8: byte 0x%02X at byte offset %d of the file", line,
                    bytes[bad] & 0xFF, offset + bad));
        }
        JsonNode node;
        try {
            node = LINES.readTree(out.flip().toString());
        } catch (JsonProcessingException e) {
            return problem(line, "line " + line + " is not JSON: " + Escape.excerpt(String.valueOf(e.getOriginalMessage()), 200));
        }
        if (node == null || !node.isObject()) {
            return problem(line, "line " + line + " is not a JSON object");
        }
        return switch (new BatchIds().assign(node.get("id"), line)) {
            case BatchIds.Result.Given g -> RowFactory.create(line, BatchIds.key(g.id()), node.toString(), null);
            case BatchIds.Result.Refused f -> RowFactory.create(line, BatchIds.key(f.id()), null, f.problem());
        };
    }

    /** A problem row under the line's own id. */
    public static Row problem(int line, String problem) {
        return RowFactory.create(line, BatchIds.key(BatchIds.lineId(line)), null, problem);
    }

    /** The CLI's words for a line whose id an earlier line already has. */
    public static String repeatProblem(int line, String idJson, int firstLine) {
        return "line " + line + " repeats the id " + Escape.excerpt(idJson, 60) + " of line " + firstLine;
    }

    /** The batch item of a row. */
    public static BatchItem item(Row row, ObjectMapper json) {
        try {
            int line = row.getInt(0);
            JsonNode id = json.readTree(row.getString(1));
            String problem = row.isNullAt(3) ? null : row.getString(3);
            if (problem != null) {
                return new BatchItem.Bad(id, line, problem);
            }
            return new BatchItem.Ok(id, line, (ObjectNode) json.readTree(row.getString(2)));
        } catch (IOException e) {
            throw new UncheckedIOException("an item row that is not the job's own: " + e.getMessage(), e);
        }
    }

    private static boolean blank(byte[] b) {
        for (byte x : b) {
            if (x != ' ' && x != '\t' && x != '\r') {
                return false;
            }
        }
        return true;
    }
}
