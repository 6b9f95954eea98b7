package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One line of a batch input file (JSONL, one object per line: {@code {"id", "question", "answer"}},
 * {@code answer} optional when an upstream answers): an item, or a line that cannot be one. Blank lines
 * are skipped. An object without {@code id} is given its 1-based line number as id.
 */
public sealed interface InputLine permits InputLine.Item, InputLine.Unreadable {

    /** The item's id, as it will appear in the output (the line number when the input has none). */
    JsonNode id();

    /**
     * A question to correct the answer of.
     *
     * @param id       its id, any JSON value (usually a string or a number)
     * @param question the question
     * @param answer   the upstream answer, when the input carries it
     */
    record Item(JsonNode id, String question, Optional<String> answer) implements InputLine {
        public Item {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(question, "question");
            Objects.requireNonNull(answer, "answer");
        }
    }

    /**
     * A line that is not a usable item.
     *
     * @param id      its id if one could be read, else the line number
     * @param line    1-based line number
     * @param problem what is wrong with it
     */
    record Unreadable(JsonNode id, int line, String problem) implements InputLine {
    }

    /**
     * Reads a whole JSONL file.
     *
     * @throws IOException if the file cannot be read
     */
    static List<InputLine> read(Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<InputLine> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String text = lines.get(i);
            if (text.isBlank()) {
                continue;
            }
            out.add(parse(json, text, i + 1));
        }
        return out;
    }

    private static InputLine parse(ObjectMapper json, String text, int lineNumber) {
        JsonNode node;
        try {
            node = json.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return new Unreadable(IntNode.valueOf(lineNumber), lineNumber, "line " + lineNumber + " is not JSON: "
                    + e.getOriginalMessage());
        }
        if (!node.isObject()) {
            return new Unreadable(IntNode.valueOf(lineNumber), lineNumber, "line " + lineNumber + " is not a JSON object");
        }
        JsonNode id = node.hasNonNull("id") ? node.get("id") : IntNode.valueOf(lineNumber);
        JsonNode question = node.get("question");
        if (question == null || !question.isTextual()) {
            return new Unreadable(id, lineNumber, "line " + lineNumber + " has no \"question\" string");
        }
        JsonNode answer = node.get("answer");
        if (answer != null && !answer.isNull() && !answer.isTextual()) {
            return new Unreadable(id, lineNumber, "line " + lineNumber + ": \"answer\" is not a string");
        }
        return new Item(id, question.asText(), answer == null || answer.isNull() ? Optional.empty() : Optional.of(answer.asText()));
    }
}
