package dev.rewind.engine.logits;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Work for one forward call: several sequences, each with its own new tokens (a long prompt's
 * prefill, or one token on each of k branches), and which positions' logits each wants. Every
 * sequence appears at most once.
 */
public final class Batch {

    /** Which of an entry's new positions need next-token logits. */
    public enum Wanted {
        /** None: the tokens only extend the cache. */
        NONE,
        /** Only the last new position: the usual case for generation. */
        LAST,
        /** Every new position: teacher forcing, scoring a text. */
        ALL,
        /**
         * Every new position's final normalised hidden state ({@link Logits#hidden}) and no logits: what an
         * embedding needs, without the output matrix's product (a model whose batch wants only hidden rows
         * skips it, and its {@link Logits#row} refuses those rows).
         */
        HIDDEN
    }

    /**
     * One sequence's part of a batch.
     *
     * @param sequence where the tokens are appended
     * @param tokens   the new token ids, at least one
     * @param wanted   which positions' logits to compute
     */
    public record Entry(TokenSequence sequence, int[] tokens, Wanted wanted) {
        public Entry {
            Objects.requireNonNull(sequence, "sequence");
            Objects.requireNonNull(wanted, "wanted");
            if (tokens.length == 0) {
                throw new IllegalArgumentException("a batch entry needs at least one token");
            }
            tokens = tokens.clone();
        }

        @Override
        public int[] tokens() {
            return tokens.clone();
        }

        /** The i-th new token (no copy). */
        public int token(int i) {
            return tokens[i];
        }

        public int size() {
            return tokens.length;
        }

        /** Logit rows this entry produces. */
        public int logitRows() {
            return switch (wanted) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL, HIDDEN -> tokens.length;
            };
        }
    }

    private final List<Entry> entries;
    private final int tokens;
    private final int logitRows;

    private Batch(List<Entry> entries) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("an empty batch");
        }
        for (int i = 0; i < entries.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (entries.get(i).sequence() == entries.get(j).sequence()) {
                    throw new IllegalArgumentException("a sequence appears twice in one batch (entries " + j + " and " + i + ")");
                }
            }
        }
        this.entries = List.copyOf(entries);
        this.tokens = entries.stream().mapToInt(Entry::size).sum();
        this.logitRows = entries.stream().mapToInt(Entry::logitRows).sum();
    }

    public static Batch of(List<Entry> entries) {
        return new Batch(entries);
    }

    /** One sequence, its tokens, the logits of its last token. */
    public static Batch single(TokenSequence sequence, int... tokens) {
        return new Batch(List.of(new Entry(sequence, tokens, Wanted.LAST)));
    }

    /** One new token on each sequence, the logits of each. */
    public static Batch step(List<? extends TokenSequence> sequences, int[] tokens) {
        if (sequences.size() != tokens.length) {
            throw new IllegalArgumentException(sequences.size() + " sequences but " + tokens.length + " tokens");
        }
        List<Entry> entries = new ArrayList<>(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            entries.add(new Entry(sequences.get(i), new int[]{tokens[i]}, Wanted.LAST));
        }
        return new Batch(entries);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** New tokens over all entries. */
    public int tokens() {
        return tokens;
    }

    /** Logit rows the batch produces, in entry order. */
    public int logitRows() {
        return logitRows;
    }
}
