package dev.rewind.align.rain;

import java.util.Arrays;

/**
 * A proposed child: a span of tokens and its probability (before normalising among siblings).
 *
 * @param tokens      the span
 * @param probability product of its tokens' top-k probabilities (the greedy span's clamped, §1.5)
 */
record Candidate(int[] tokens, double probability) {

    Candidate {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Candidate c && Arrays.equals(tokens, c.tokens) && probability == c.probability;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "Candidate" + Arrays.toString(tokens) + "@" + probability;
    }
}
