package dev.rewind.align.rain;

import dev.rewind.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Where a judge prompt is read and which two token ids are compared there, found with the judge's
 * own tokenizer: {@code prompt + label} is tokenized for both labels, and the first position where
 * the two token lists differ is the readout — the logits after the tokens before it, compared at
 * the two tokens found there. For {@code ... The answer is: (} followed by {@code A} or {@code B}
 * this is the token after {@code (}: on LLaMA's vocabulary the ids 29909 and 29933 the official code
 * hard-codes, on any other vocabulary that vocabulary's own ids. A prompt ending in a space that the
 * tokenizer joins to the label (SentencePiece's {@code ▁Yes}) is read before that space, at the
 * label's first token with its space, so the comparison never depends on how the space was split.
 *
 * @param tokens the prompt's tokens up to the readout (BOS first where the vocabulary adds it)
 * @param first  the token id the first label starts with there
 * @param second the token id the second label starts with there
 */
public record LabelReadout(int[] tokens, int first, int second) {

    public LabelReadout {
        tokens = tokens.clone();
        if (first == second) {
            throw new IllegalArgumentException("the two labels start with the same token " + first);
        }
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** Tokens up to the readout. */
    public int length() {
        return tokens.length;
    }

    /** Token {@code i} of the prompt part (no copy). */
    public int token(int i) {
        return tokens[i];
    }

    /**
     * @throws IllegalArgumentException when the labels tokenize alike after the prompt, or one is a
     *                                  prefix of the other, so no token tells them apart
     */
    public static LabelReadout of(Tokenizer tokenizer, String prompt, String firstLabel, String secondLabel) {
        int[] a = tokenizer.encode(prompt + firstLabel, true, false);
        int[] b = tokenizer.encode(prompt + secondLabel, true, false);
        int k = Arrays.mismatch(a, b);
        if (k < 0 || k >= a.length || k >= b.length) {
            throw new IllegalArgumentException("the labels '" + firstLabel + "' and '" + secondLabel
                    + "' cannot be told apart by a token after the judge prompt");
        }
        if (k == 0) {
            throw new IllegalArgumentException("the judge prompt is empty before the labels '" + firstLabel + "' and '" + secondLabel + "'");
        }
        return new LabelReadout(Arrays.copyOf(a, k), a[k], b[k]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelReadout r && first == r.first && second == r.second && Arrays.equals(tokens, r.tokens);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + first * 7 + second;
    }

    @Override
    public String toString() {
        return "LabelReadout[" + tokens.length + " tokens, first=" + first + ", second=" + second + "]";
    }
}
