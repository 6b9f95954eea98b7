package dev.rewind.align.rain;

import dev.rewind.tokenizer.TokenType;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Token lists to text as RAIN's official code reads them: {@code decode(skip_special_tokens=True)},
 * i.e. the tokenizer's decoding of the list without its control tokens (BOS, EOS).
 */
final class Texts {

    private final Tokenizer tokenizer;
    private final boolean[] control;

    Texts(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.control = new boolean[tokenizer.vocabularySize()];
        for (int id = 0; id < control.length; id++) {
            control[id] = tokenizer.tokenType(id) == TokenType.CONTROL;
        }
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The text of {@code tokens[from, to)} with control tokens left out. */
    String decode(int[] tokens, int from, int to) {
        int[] kept = new int[to - from];
        int n = 0;
        for (int i = from; i < to; i++) {
            int t = tokens[i];
            if (t < 0 || t >= control.length || !control[t]) {
                kept[n++] = t;
            }
        }
        return tokenizer.decode(n == kept.length ? kept : Arrays.copyOf(kept, n));
    }

    String decode(int[] tokens) {
        return decode(tokens, 0, tokens.length);
    }

    String decode(IntList tokens) {
        return decode(tokens.array(), 0, tokens.size());
    }

    /**
     * The text of a span as it reads inside a longer text: its pieces' bytes joined, leading space
     * kept (a whole-text decode drops the first piece's), control tokens left out.
     */
    String decodePiecewise(int[] tokens) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int t : tokens) {
            if (t >= 0 && t < control.length && !control[t]) {
                out.writeBytes(tokenizer.tokenBytes(t));
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Whether generating {@code token} ends a generation (EOS, EOT). */
    boolean isEnd(int token) {
        return tokenizer.isEndOfGeneration(token);
    }

    /** Whether any of {@code tokens[from, to)} ends a generation. */
    boolean containsEnd(int[] tokens, int from, int to) {
        for (int i = from; i < to; i++) {
            if (isEnd(tokens[i])) {
                return true;
            }
        }
        return false;
    }
}
