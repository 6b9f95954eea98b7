package dev.rewind.tokenizer.chat;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation, as a chat template sees it: {@code message.role},
 * {@code message.content} and any other fields a template may read ({@code tool_calls},
 * {@code reasoning_content}, {@code tool_call_id}, {@code name}, ...).
 *
 * @param role    {@code system}, {@code user}, {@code assistant}, {@code tool}, or whatever the template knows
 * @param content a {@code String}; a {@code List} of content parts (maps such as
 *                {@code {"type": "text", "text": "..."}}); or null, which the template sees as {@code none}
 *                (as for an assistant message that only calls tools)
 * @param fields  the other fields, in order; values are strings, numbers, booleans, null, lists and maps
 *                with string keys; must not hold {@code role} or {@code content}
 */
public record Message(String role, Object content, Map<String, Object> fields) {

    public Message {
        Objects.requireNonNull(role, "role");
        if (content != null && !(content instanceof String) && !(content instanceof List<?>)) {
            throw new IllegalArgumentException("message content must be a string, a list of parts or null, got "
                    + content.getClass().getSimpleName());
        }
        Objects.requireNonNull(fields, "fields");
        if (fields.containsKey("role") || fields.containsKey("content")) {
            throw new IllegalArgumentException("message fields must not repeat 'role' or 'content'");
        }
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** A message with text content and no other fields. */
    public Message(String role, String content) {
        this(role, content, Map.of());
    }

    /** The message as a template sees it: role, content, then the other fields. */
    Map<String, Object> asMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", role);
        map.put("content", content);
        map.putAll(fields);
        return map;
    }
}
