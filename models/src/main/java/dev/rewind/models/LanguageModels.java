package dev.rewind.models;

/** Checks shared by every architecture's forward step. */
final class LanguageModels {

    private LanguageModels() {
    }

    /** Rejects a token outside the vocabulary or a position outside the state's context. */
    static void checkStep(TransformerConfig c, ModelState s, int token, int position) {
        if (token < 0 || token >= c.vocabularySize()) {
            throw new IllegalArgumentException("token id " + token + " outside the vocabulary of " + c.vocabularySize());
        }
        if (position < 0 || position >= s.capacity()) {
            throw new IllegalArgumentException("position " + position + " outside the context of " + s.capacity());
        }
    }
}
