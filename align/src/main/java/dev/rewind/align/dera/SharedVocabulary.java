package dev.rewind.align.dera;

/**
 * What two (or more) models have in common once {@link VocabularyCheck} accepted them.
 *
 * @param tokens      ids {@code [0, tokens)} mean the same token in every model: these are mixed
 * @param logitsWidth the widest model's logits row; ids {@code [tokens, logitsWidth)} are padding that
 *                    only some models have, and are masked (−∞)
 */
public record SharedVocabulary(int tokens, int logitsWidth) {

    /** @throws IllegalArgumentException if {@code tokens} is not positive or exceeds the width */
    public SharedVocabulary {
        if (tokens <= 0 || tokens > logitsWidth) {
            throw new IllegalArgumentException("a shared vocabulary of " + tokens + " tokens in rows of " + logitsWidth);
        }
    }

    /** How many ids are masked as padding. */
    public int maskedIds() {
        return logitsWidth - tokens;
    }
}
