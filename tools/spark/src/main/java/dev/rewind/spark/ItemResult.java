package dev.rewind.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Objects;

/**
 * One item's result.
 *
 * @param id     the item's id (as the input gave it, or {@code "line:N"})
 * @param line   the result line, the fields of the CLI batch's JSONL line for the item
 * @param failed whether the line carries an {@code error}
 * @param tokens tokens the method evaluated for the item (forward tokens of every model it ran)
 */
public record ItemResult(JsonNode id, ObjectNode line, boolean failed, long tokens) {
    public ItemResult {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(line, "line");
    }
}
