package dev.rewind.tokenizer;

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

    /**
     * Appends the tokens of the byte-encoded {@code word} to {@code out} and returns how many queued
     * candidates the merge loop examined (at most 3 per character: every merge queues at most two).
     */
    int tokenize(String word, IntList out) {
        if (word.isEmpty()) {
            return 0;
        }
        if (ignoreMerges) {
            int id = vocabulary.idOrNegative(word);
            if (id >= 0) {
                out.add(id);
                return 0;
            }
        }
        Symbols symbols = Symbols.ofChars(word);
        // Candidates by rank, then leftmost; each remembers the combined length of its pair when queued.
        CandidateHeap queue = new CandidateHeap(symbols.count());
        for (int i = 1; i < symbols.count(); i++) {
            offer(word, symbols, i - 1, i, queue);
        }
        int popped = 0;
        while (!queue.isEmpty()) {
            popped++;
            int left = CandidateHeap.left(queue.topKey());
            int length = queue.topLength();
            queue.pop();
            // Symbols only grow, so a changed pair shows in its total length (or an emptied symbol).
            int right = symbols.next(left);
            if (symbols.length(left) == 0 || right < 0 || symbols.length(left) + symbols.length(right) != length) {
                continue;
            }
            symbols.mergeWithNext(left);
            offer(word, symbols, symbols.prev(left), left, queue);
            offer(word, symbols, left, symbols.next(left), queue);
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
        return popped;
    }

    private void offer(String word, Symbols symbols, int left, int right, CandidateHeap queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int rank = ranks.rank(symbols.text(word, left), symbols.text(word, right));
        if (rank >= 0) {
            queue.add(CandidateHeap.key(rank, left), symbols.length(left) + symbols.length(right));
        }
    }
}
