package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.generate.GenerationContext;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of one batch item: one line of the output file.
 *
 * @param id              the item's id
 * @param question        the question
 * @param answer          the upstream answer, whole (empty when there is none)
 * @param source          where the answer came from: {@code input}, a model file name, or an endpoint URL
 * @param correction      the Aligner's correction (empty when the item failed before or during it)
 * @param seconds         wall time for the item: upstream and Aligner
 * @param upstreamSeconds the upstream's share of it (0 when the answer came with the input)
 * @param error           what went wrong, when something did
 */
public record AlignedItem(JsonNode id, String question, Optional<String> answer, String source,
                          Optional<Correction> correction, double seconds, double upstreamSeconds, Optional<String> error) {

    /** @throws NullPointerException if a component is null (absent values are empty Optionals) */
    public AlignedItem {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(question, "question");
        Objects.requireNonNull(answer, "answer");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(correction, "correction");
        Objects.requireNonNull(error, "error");
    }

    /** Whether the answer was cut to fit the Aligner's context. */
    public boolean truncated() {
        return correction.map(Correction::truncated).orElse(false);
    }

    /**
     * The output line: {@code id}, {@code question}, {@code answer} (the upstream's, whole),
     * {@code corrected}, {@code truncated}, {@code seconds}, {@code upstream_seconds}, {@code source},
     * {@code error} (null when none), and for a correction {@code answer_chars_used} (when truncated),
     * {@code prompt_tokens}, {@code tokens}, {@code stop}, plus {@code steps} with top logits when they
     * were recorded.
     */
    public ObjectNode toJson(ObjectMapper mapper) {
        ObjectNode o = mapper.createObjectNode();
        o.set("id", id);
        o.put("question", question);
        putOrNull(o, "answer", answer);
        putOrNull(o, "corrected", correction.map(Correction::text));
        o.put("truncated", truncated());
        o.put("seconds", seconds);
        o.put("upstream_seconds", upstreamSeconds);
        o.put("source", source);
        putOrNull(o, "error", error);
        correction.ifPresent(c -> {
            GenerationContext.Result r = c.result();
            if (c.truncated()) {
                o.put("answer_chars_used", c.answerUsed().length());
            }
            o.put("prompt_tokens", r.promptTokens().length);
            o.put("tokens", r.tokens().length);
            o.put("stop", r.stop().name().toLowerCase());
            if (!r.steps().isEmpty() && r.steps().getFirst().topIds() != null) {
                ArrayNode steps = o.putArray("steps");
                for (GenerationContext.Step step : r.steps()) {
                    ObjectNode s = steps.addObject();
                    s.put("id", step.token());
                    ArrayNode top = s.putArray("top_logits");
                    for (int i = 0; i < step.topIds().length; i++) {
                        top.addArray().add(step.topIds()[i]).add(step.topLogits()[i]);
                    }
                }
            }
        });
        return o;
    }

    private static void putOrNull(ObjectNode o, String field, Optional<String> value) {
        if (value.isPresent()) {
            o.put(field, value.get());
        } else {
            o.putNull(field);
        }
    }
}
