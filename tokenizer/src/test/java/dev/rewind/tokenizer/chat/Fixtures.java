package dev.rewind.tokenizer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/** The shared chat-template fixtures ({@code <rewind.shared>/hf}, {@code <rewind.shared>/chat-templates}), read with Jackson. */
final class Fixtures {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {
    }

    /** {@code <rewind.shared>/name}; a test failure (never a skip) when it is missing. */
    static Path shared(String name) {
        String property = System.getProperty("rewind.shared");
        Path root = property != null ? Path.of(property) : Path.of("..", "..", "shared");
        Path dir = root.resolve(name);
        if (!Files.isDirectory(dir)) {
            fail("the shared test data is missing: expected the folder " + dir.toAbsolutePath().normalize()
                    + " (run through Maven, which sets rewind.shared, or pass -Drewind.shared=/path/to/shared)");
        }
        return dir;
    }

    static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every line of a JSON Lines file. */
    static List<JsonNode> readJsonLines(Path file) {
        try {
            List<JsonNode> records = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    records.add(JSON.readTree(line));
                }
            }
            return records;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON value as the plain Java objects {@link ChatTemplate} takes. */
    static Object toJava(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(e -> map.put(e.getKey(), toJava(e.getValue())));
            return map;
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
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

    /** A JSON array of {@code {role, content, ...}} objects as messages. */
    @SuppressWarnings("unchecked")
    static List<Message> messages(JsonNode array) {
        List<Message> messages = new ArrayList<>();
        for (JsonNode m : array) {
            Map<String, Object> fields = (Map<String, Object>) toJava(m);
            String role = (String) fields.remove("role");
            Object content = fields.remove("content");
            messages.add(new Message(role, content, fields));
        }
        return messages;
    }
}
