package dev.rewind.tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A JSON value together with where it was read from (the file and its path in it), so that every typed read
 * fails with a {@link TokenizerException} like {@code tokenizer.json: model.merges[12]: expected a string,
 * found a number}. The path is only formatted when an error is raised.
 *
 * @param value  the value
 * @param file   the file, as it should appear in messages
 * @param parent the value this one was read from, or null at the top level
 * @param step   the key (String) or index (Integer) of this value in its parent, or null at the top level
 */
record JsonCursor(Json value, String file, JsonCursor parent, Object step) {

    /** The top-level value of {@code file}. */
    static JsonCursor root(Json value, String file) {
        return new JsonCursor(value, file, null, null);
    }

    /** The path of this value, e.g. {@code model.merges[12]}. */
    String path() {
        Deque<Object> steps = new ArrayDeque<>();
        for (JsonCursor c = this; c.parent != null; c = c.parent) {
            steps.push(c.step);
        }
        return JsonPath.of(steps);
    }

    /** An error about this value: the file, the path and the problem, on one line. */
    TokenizerException error(String problem) {
        return new TokenizerException(file + ": " + path() + ": " + problem);
    }

    boolean isNull() {
        return value instanceof Json.JsonNull;
    }

    boolean isString() {
        return value instanceof Json.JsonString;
    }

    boolean isArray() {
        return value instanceof Json.JsonArray;
    }

    boolean isObject() {
        return value instanceof Json.JsonObject;
    }

    /** The field {@code key} of this object, which must be present (it may be null). */
    JsonCursor get(String key) {
        return find(key).orElseThrow(() -> new TokenizerException(
                file + ": " + JsonPath.child(parent == null ? "" : path(), key) + ": missing"));
    }

    /** The field {@code key} of this object, unless it is absent or null. */
    Optional<JsonCursor> find(String key) {
        Json field = fields().get(key);
        return field == null || field instanceof Json.JsonNull
                ? Optional.empty() : Optional.of(new JsonCursor(field, file, this, key));
    }

    /** The string field {@code key}, unless absent or null. */
    Optional<String> optString(String key) {
        return find(key).map(JsonCursor::string);
    }

    /** The boolean field {@code key}, or {@code otherwise} if absent or null. */
    boolean bool(String key, boolean otherwise) {
        return find(key).map(JsonCursor::bool).orElse(otherwise);
    }

    /** This object's fields in file order. */
    List<JsonCursor> fieldValues() {
        List<JsonCursor> out = new ArrayList<>(fields().size());
        fields().forEach((k, v) -> out.add(new JsonCursor(v, file, this, k)));
        return out;
    }

    /** The key of this value in its parent object. */
    String key() {
        return (String) step;
    }

    Map<String, Json> fields() {
        if (value instanceof Json.JsonObject(Map<String, Json> fields)) {
            return fields;
        }
        throw error("expected an object, found " + Json.kind(value));
    }

    /** The elements of this array. */
    List<JsonCursor> elements() {
        if (!(value instanceof Json.JsonArray(List<Json> elements))) {
            throw error("expected an array, found " + Json.kind(value));
        }
        List<JsonCursor> out = new ArrayList<>(elements.size());
        for (int i = 0; i < elements.size(); i++) {
            out.add(new JsonCursor(elements.get(i), file, this, i));
        }
        return out;
    }

    /** The number of elements of this array. */
    int size() {
        if (value instanceof Json.JsonArray(List<Json> elements)) {
            return elements.size();
        }
        throw error("expected an array, found " + Json.kind(value));
    }

    String string() {
        if (value instanceof Json.JsonString(String s)) {
            return s;
        }
        throw error("expected a string, found " + Json.kind(value));
    }

    boolean bool() {
        if (value instanceof Json.JsonBoolean(boolean b)) {
            return b;
        }
        throw error("expected true or false, found " + Json.kind(value));
    }

    /** This number as an int in {@code [min, max]}. */
    int integer(int min, int max) {
        if (!(value instanceof Json.JsonNumber(String text))) {
            throw error("expected an integer, found " + Json.kind(value));
        }
        long v;
        try {
            v = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw error("expected an integer, found " + text);
        }
        if (v < min || v > max) {
            throw error(text + " is outside [" + min + ", " + max + "]");
        }
        return (int) v;
    }

    /** This number as a double. */
    double number() {
        if (value instanceof Json.JsonNumber(String text)) {
            return Double.parseDouble(text);
        }
        throw error("expected a number, found " + Json.kind(value));
    }
}
