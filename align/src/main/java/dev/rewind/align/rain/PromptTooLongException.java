package dev.rewind.align.rain;

/** The prompt leaves no room for an answer within the max length (and the context). */
public final class PromptTooLongException extends IllegalArgumentException {

    private final int promptTokens;
    private final int maxLength;

    public PromptTooLongException(int promptTokens, int maxLength, int longestSpan, int context) {
        super("the prompt has " + promptTokens + " tokens; with the longest span (" + longestSpan + ") it leaves no room in "
                + maxLength + " (the max length, within the context of " + context + ")");
        this.promptTokens = promptTokens;
        this.maxLength = maxLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int maxLength() {
        return maxLength;
    }
}
