package dev.rewind.align.dera;

import dev.rewind.tokenizer.Tokenizer;

import java.util.Objects;

/**
 * One model's side of a vocabulary comparison.
 *
 * @param name        how messages call it (usually the file name)
 * @param tokenizer   its tokenizer
 * @param logitsWidth entries of its logits rows (the output matrix's rows); may exceed the
 *                    tokenizer's size when the matrix is padded
 */
public record VocabularySide(String name, Tokenizer tokenizer, int logitsWidth) {

    /** @throws IllegalArgumentException if the logits are narrower than the tokenizer's vocabulary */
    public VocabularySide {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tokenizer, "tokenizer");
        if (logitsWidth < tokenizer.vocabularySize()) {
            throw new IllegalArgumentException(name + " has " + logitsWidth + " logits per row but "
                    + tokenizer.vocabularySize() + " tokens");
        }
    }
}
