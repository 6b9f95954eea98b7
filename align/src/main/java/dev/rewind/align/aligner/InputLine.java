package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.align.batch.BatchItem;

import java.util.Objects;
import java.util.Optional;

/**
 * One item of an Aligner batch (JSONL, one object per line: {@code {"id", "question", "answer"}},
 * {@code answer} optional when an upstream answers): a question, or a line that cannot be one. Lines
 * are read by {@link dev.rewind.align.batch.BatchInput}; ids follow {@link dev.rewind.align.batch.BatchIds}.
 */
public sealed interface InputLine permits InputLine.Item, InputLine.Unreadable {

    /** The item's id, as it will appear in the output. */
    JsonNode id();

    /**
     * A question to correct the answer of.
     *
     * @param id       its id (a string or an integer)
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
     * @param id      its id ({@code "line:N"} when the line's own could not be used)
     * @param line    1-based line number
     * @param problem what is wrong with it, naming the line
     */
    record Unreadable(JsonNode id, int line, String problem) implements InputLine {
    }

    /** The Aligner's view of a batch item: its question and answer, checked. */
    static InputLine of(BatchItem item) {
        return switch (item) {
            case BatchItem.Bad bad -> new Unreadable(bad.id(), bad.line(), bad.problem());
            case BatchItem.Ok ok -> {
                int n = ok.line();
                JsonNode question = ok.fields().get("question");
                if (question == null || !question.isTextual()) {
                    yield new Unreadable(ok.id(), n, "line " + n + " has no \"question\" string");
                }
                JsonNode answer = ok.fields().get("answer");
                if (answer != null && !answer.isNull() && !answer.isTextual()) {
                    yield new Unreadable(ok.id(), n, "line " + n + ": \"answer\" is not a string");
                }
                yield new Item(ok.id(), question.asText(),
                        answer == null || answer.isNull() ? Optional.empty() : Optional.of(answer.asText()));
            }
        };
    }
}
