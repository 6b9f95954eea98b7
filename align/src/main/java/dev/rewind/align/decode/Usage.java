package dev.rewind.align.decode;

/**
 * Token counts of one request.
 *
 * @param promptTokens     tokens of the prompt the answering model was fed (evaluated or reused from its cache)
 * @param completionTokens tokens generated for the answer (an end token that stopped it included)
 */
public record Usage(int promptTokens, int completionTokens) {

    /** @throws IllegalArgumentException if a count is negative */
    public Usage {
        if (promptTokens < 0 || completionTokens < 0) {
            throw new IllegalArgumentException("token counts must be >= 0, got " + promptTokens + " and " + completionTokens);
        }
    }

    /** Prompt and completion together. */
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
