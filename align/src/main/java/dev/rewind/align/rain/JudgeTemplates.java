package dev.rewind.align.rain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Judge templates from a JSON file, so users can judge other properties. Two forms:
 * <pre>
 * {"kind": "two-orders", "instruction": "...few-shot...",
 *  "good_first_options": "Options:\n(A) ...good...\n(B) ...bad...\nThe answer is: (",
 *  "good_second_options": "Options:\n(A) ...bad...\n(B) ...good...\nThe answer is: (",
 *  "labels": ["A", "B"]}
 * {"kind": "yes-no", "before": "[INST] ...\n\n", "after": "\nIs the answer truthful? [/INST] ", "yes": "Yes", "no": "No"}
 * </pre>
 * {@code labels} defaults to A and B. Texts are used byte for byte.
 */
public final class JudgeTemplates {

    private JudgeTemplates() {
    }

    /**
     * @throws IOException naming the file and the missing or malformed field
     */
    public static JudgeTemplate read(Path file) throws IOException {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IOException(file + " is not a JSON judge template: " + e.getMessage(), e);
        }
        if (json == null || !json.isObject()) {
            throw new IOException(file + " must hold one JSON object");
        }
        String kind = text(file, json, "kind");
        try {
            return switch (kind) {
                case "two-orders" -> {
                    List<String> labels = List.of("A", "B");
                    JsonNode l = json.get("labels");
                    if (l != null) {
                        if (!l.isArray() || l.size() != 2 || !l.get(0).isTextual() || !l.get(1).isTextual()) {
                            throw new IOException(file + ": \"labels\" must be an array of two strings");
                        }
                        labels = List.of(l.get(0).asText(), l.get(1).asText());
                    }
                    yield new JudgeTemplate.TwoOrders(text(file, json, "instruction"), text(file, json, "good_first_options"),
                            text(file, json, "good_second_options"), labels.get(0), labels.get(1));
                }
                case "yes-no" -> new JudgeTemplate.YesNo(text(file, json, "before"), text(file, json, "after"),
                        text(file, json, "yes"), text(file, json, "no"));
                default -> throw new IOException(file + ": \"kind\" must be \"two-orders\" or \"yes-no\", not \"" + kind + "\"");
            };
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static String text(Path file, JsonNode json, String field) throws IOException {
        JsonNode v = json.get(field);
        if (v == null || !v.isTextual()) {
            throw new IOException(file + ": the string field \"" + field + "\" is missing");
        }
        return v.asText();
    }
}
