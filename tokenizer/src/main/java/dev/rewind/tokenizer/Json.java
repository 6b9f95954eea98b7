package dev.rewind.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * A parsed JSON value, as {@link JsonReader} builds it. Numbers keep their text, so a value such as
 * {@code 1e30} in a config file costs nothing unless it is read as a number.
 */
sealed interface Json {

    /** An object; its fields keep the file's order. */
    record JsonObject(Map<String, Json> fields) implements Json {
    }

    /** An array. */
    record JsonArray(List<Json> elements) implements Json {
    }

    /** A string. */
    record JsonString(String value) implements Json {
    }

    /** A number, as written in the file. */
    record JsonNumber(String text) implements Json {
    }

    /** {@code true} or {@code false}. */
    record JsonBoolean(boolean value) implements Json {
    }

    /** {@code null}. */
    record JsonNull() implements Json {
    }

    /** What the value is, for error messages: "an object", "a string", … */
    static String kind(Json value) {
        return switch (value) {
            case JsonObject o -> "an object";
            case JsonArray a -> "an array";
            case JsonString s -> "a string";
            case JsonNumber n -> "a number";
            case JsonBoolean b -> "a boolean";
            case JsonNull n -> "null";
        };
    }
}
