package dev.rewind.tokenizer;

import java.util.PriorityQueue;

/**
 * The merge loop of byte-level BPE for one pre-tokenized word, as llama.cpp runs it: the word's
 * characters (already byte-encoded) start as symbols, every adjacent pair that has a merge rule is
 * queued by rank, and the best pair (lowest rank, then leftmost) is merged until none is left.
 */
final class RankMerger {

    private final Vocabulary vocabulary;
    private final MergeRanks ranks;
    private final boolean ignoreMerges;

    /**
     * @param ignoreMerges a word that is itself a piece becomes that token without merging (Llama 3)
     */
    RankMerger(Vocabulary vocabulary, MergeRanks ranks, boolean ignoreMerges) {
        this.vocabulary = vocabulary;
        this.ranks = ranks;
        this.ignoreMerges = ignoreMerges;
    }

    private record Candidate(int left, int right, int rank, int length) {
    }

    /** Appends the tokens of the byte-encoded {@code word} to {@code out}. */
    void tokenize(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            int id = vocabulary.idOrNegative(word);
            if (id >= 0) {
                out.add(id);
                return;
            }
        }
        Symbols symbols = Symbols.ofChars(word);
        PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) ->
                a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < symbols.count(); i++) {
            offer(word, symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            // Symbols only grow, so a changed pair shows in its total length (or an emptied symbol).
            if (symbols.length(c.left) == 0 || symbols.length(c.right) == 0
                    || symbols.length(c.left) + symbols.length(c.right) != c.length) {
                continue;
            }
            symbols.mergeWithNext(c.left);
            offer(word, symbols, symbols.prev(c.left), c.left, queue);
            offer(word, symbols, c.left, symbols.next(c.left), queue);
        }
        for (int i = 0; i >= 0; i = symbols.next(i)) {
            String piece = symbols.text(word, i);
            int id = vocabulary.idOrNegative(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // llama.cpp looks up each UTF-8 byte of the piece as a one-byte piece and drops bytes it
            // cannot find; only ASCII characters can be one-byte pieces.
            for (int k = 0; k < piece.length(); k++) {
                char ch = piece.charAt(k);
                if (ch < 0x80) {
                    int single = vocabulary.idOrNegative(String.valueOf(ch));
                    if (single >= 0) {
                        out.add(single);
                    }
                }
            }
        }
    }

    private void offer(String word, Symbols symbols, int left, int right, PriorityQueue<Candidate> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int rank = ranks.rank(symbols.text(word, left), symbols.text(word, right));
        if (rank >= 0) {
            queue.add(new Candidate(left, right, rank, symbols.length(left) + symbols.length(right)));
        }
    }
}
