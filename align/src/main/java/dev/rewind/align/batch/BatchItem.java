package dev.rewind.align.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Objects;

/**
 * One item of a batch input file: a line's JSON object under its id, or a line that cannot be an item,
 * with what is wrong with it. Either way it is one line of the output, so nothing in the input is lost.
 */
public sealed interface BatchItem permits BatchItem.Ok, BatchItem.Bad {

    /** The id the item's output line carries (see {@link BatchIds}). */
    JsonNode id();

    /** The 1-based line of the input it came from. */
    int line();

    /**
     * A line holding a JSON object with a usable id.
     *
     * @param fields the object (the command reads its own fields from it)
     */
    record Ok(JsonNode id, int line, ObjectNode fields) implements BatchItem {
        public Ok {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(fields, "fields");
        }
    }

    /**
     * A line that is not an item: not UTF-8, not JSON, not an object, too long, or with an id that is
     * not allowed or repeats an earlier line's.
     *
     * @param problem one line naming the input line (and the byte offset where that helps)
     */
    record Bad(JsonNode id, int line, String problem) implements BatchItem {
        public Bad {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(problem, "problem");
        }
    }
}
