package dev.rewind.align.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.rewind.engine.text.Escape;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The id rule of batch inputs, which cannot make two items share an id:
 * <ul>
 *   <li>a line's {@code "id"}, when it is a string or an integer, is the item's id, kept as it is in the
 *       output; ids compare by their JSON text, so {@code 1} and {@code "1"} are two ids;</li>
 *   <li>a line without {@code "id"} (or with {@code "id": null}), and a line that cannot be read, gets
 *       the string {@code "line:N"}, N its 1-based line number; ids from the file may not start with
 *       {@code "line:"}, so no explicit id can equal one;</li>
 *   <li>a line whose id is of another type (a fraction, a bool, an object, an array), starts with
 *       {@code "line:"}, or repeats the id of an earlier line becomes an error item under its own
 *       {@code "line:N"}: it is reported, never silently skipped.</li>
 * </ul>
 * One instance follows one pass over an input, in line order, and remembers the ids it has given.
 */
public final class BatchIds {

    /** The prefix of the ids given to lines without one. */
    public static final String LINE_PREFIX = "line:";

    private final Map<String, Integer> firstLine = new HashMap<>();

    /** The id of a line that has none, or whose own id cannot be used. */
    public static JsonNode lineId(int line) {
        return TextNode.valueOf(LINE_PREFIX + line);
    }

    /** The key ids are compared by (their JSON text): the same for an input line and its output line. */
    public static String key(JsonNode id) {
        return id.toString();
    }

    /**
     * The id of the item on {@code line} whose {@code "id"} field is {@code field} (null when absent), or
     * why it cannot have one.
     */
    public Result assign(JsonNode field, int line) {
        if (field == null || field.isNull()) {
            return remember(lineId(line), line);
        }
        if (!(field.isTextual() || field.isIntegralNumber())) {
            return new Result.Refused(lineId(line), "line " + line + ": \"id\" must be a string or an integer, not "
                    + Escape.excerpt(field.toString(), 60));
        }
        if (field.isTextual() && field.asText().startsWith(LINE_PREFIX)) {
            return new Result.Refused(lineId(line), "line " + line + ": the id " + Escape.excerpt(field.toString(), 60)
                    + " is reserved (ids starting with \"" + LINE_PREFIX + "\" are given to lines without an id)");
        }
        return remember(field, line);
    }

    private Result remember(JsonNode id, int line) {
        Integer earlier = firstLine.putIfAbsent(key(id), line);
        if (earlier != null) {
            return new Result.Refused(lineId(line), "line " + line + " repeats the id " + Escape.excerpt(id.toString(), 60)
                    + " of line " + earlier);
        }
        return new Result.Given(id);
    }

    /** The line an id was first given to. */
    public Optional<Integer> lineOf(JsonNode id) {
        return Optional.ofNullable(firstLine.get(key(id)));
    }

    /** What {@link #assign} decided. */
    public sealed interface Result permits Result.Given, Result.Refused {
        JsonNode id();

        /** The line's own id. */
        record Given(JsonNode id) implements Result {
        }

        /** The line is an error item under {@code id} (its {@code "line:N"}). */
        record Refused(JsonNode id, String problem) implements Result {
        }
    }
}
