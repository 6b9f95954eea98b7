package dev.rewind.align.decode;

import java.util.Objects;

/**
 * The outcome of one request.
 *
 * @param text   the answer: the continuation only, no end token, cut before a stop string
 * @param tokens the answer's token ids as generated (an end token included; with RAIN, the committed span)
 * @param usage  prompt and completion tokens
 * @param finish why it ended
 * @param report the method's own account (timings, RAIN's searches and cost, DeRa's λ, the upstream answer)
 */
public record Decoded(String text, int[] tokens, Usage usage, FinishReason finish, MethodReport report) {

    /** @throws NullPointerException if a component is null */
    public Decoded {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(usage, "usage");
        Objects.requireNonNull(finish, "finish");
        Objects.requireNonNull(report, "report");
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }
}
