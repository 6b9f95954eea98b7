package dev.rewind.tools;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.rewind.tokenizer.chat.Message;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversations as files: a JSON array of {@code {"role", "content", ...}} objects, the format
 * {@code rewind template --messages} and {@code rewind chat --messages} read and {@code /save} writes.
 * Bad files are refused in one line naming the file and the line and column (bad JSON) or the message.
 */
final class Conversations {

    private static final ObjectMapper JSON = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private Conversations() {
    }

    /** Reads a messages file. */
    static List<Message> read(Path file) throws IOException {
        return messages(readJson(file), file);
    }

    /** Writes a conversation as a messages file {@link #read} reads back to the same messages. */
    static void write(Path file, List<Message> messages) throws IOException {
        List<Map<String, Object>> array = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            o.putAll(m.fields());
            array.add(o);
        }
        Files.writeString(file, JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(array) + "\n");
    }

    /** A JSON file's tree, or one line naming the file and where the JSON breaks. */
    static JsonNode readJson(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new UserException(file + ": empty file, expected JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String position = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new UserException(file + ": bad JSON" + position + ": " + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }

    /** A value given on the command line: JSON if it parses as JSON, else the text itself. */
    static Object jsonOrText(String text) {
        try {
            return toJava(JSON.readTree(text));
        } catch (JsonProcessingException e) {
            return text;
        }
    }

    /** The messages file as messages: an array of objects with a string role. */
    private static List<Message> messages(JsonNode array, Path file) {
        if (!array.isArray()) {
            throw new UserException(file + ": expected a JSON array of messages, found " + array.getNodeType().name().toLowerCase());
        }
        List<Message> conversation = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode m = array.get(i);
            String which = file + ": message " + (i + 1);
            if (!m.isObject()) {
                throw new UserException(which + " is not a JSON object");
            }
            if (!m.path("role").isTextual()) {
                throw new UserException(which + " has no string \"role\"");
            }
            JsonNode content = m.get("content");
            if (content != null && !content.isTextual() && !content.isArray() && !content.isNull()) {
                throw new UserException(which + ": \"content\" must be a string, a list of parts or null");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = (Map<String, Object>) toJava(m);
            fields.remove("role");
            fields.remove("content");
            conversation.add(new Message(m.get("role").textValue(), content == null ? null : toJava(content), fields));
        }
        return conversation;
    }

    /** A JSON tree as the plain Java values the template engine takes. */
    static Object toJava(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(e -> map.put(e.getKey(), toJava(e.getValue())));
            return map;
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>(node.size());
            node.forEach(item -> list.add(toJava(item)));
            return list;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        return node.doubleValue();
    }
}
