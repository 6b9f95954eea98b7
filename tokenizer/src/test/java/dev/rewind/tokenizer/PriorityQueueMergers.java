package dev.rewind.tokenizer;

import java.util.PriorityQueue;

/**
 * The merge loops as they were before {@link CandidateHeap}: a {@link PriorityQueue} of candidate records
 * over the same linked symbols, kept here as the twin the array-heap loops of {@link RankMerger} and
 * {@link ScoreMerger} must agree with token for token.
 */
final class PriorityQueueMergers {

    private PriorityQueueMergers() {
    }

    private record Candidate(int left, int right, float priority, int length) {
    }

    private static PriorityQueue<Candidate> queue(boolean highestFirst) {
        return new PriorityQueue<>((a, b) -> {
            if (a.priority != b.priority) {
                return (a.priority < b.priority) == !highestFirst ? -1 : 1;
            }
            return Integer.compare(a.left, b.left);
        });
    }

    private static boolean stale(Symbols symbols, Candidate c) {
        return symbols.length(c.left) == 0 || symbols.length(c.right) == 0
                || symbols.length(c.left) + symbols.length(c.right) != c.length;
    }

    /** Byte-level BPE by merge rank (lowest first, then leftmost), as RankMerger. */
    static void rank(Vocabulary vocabulary, MergeRanks ranks, boolean ignoreMerges, String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges && vocabulary.idOrNegative(word) >= 0) {
            out.add(vocabulary.idOrNegative(word));
            return;
        }
        Symbols symbols = Symbols.ofChars(word);
        PriorityQueue<Candidate> queue = queue(false);
        java.util.function.BiConsumer<Integer, Integer> offer = (left, right) -> {
            if (left >= 0 && right >= 0) {
                int rank = ranks.rank(symbols.text(word, left), symbols.text(word, right));
                if (rank >= 0) {
                    queue.add(new Candidate(left, right, rank, symbols.length(left) + symbols.length(right)));
                }
            }
        };
        for (int i = 1; i < symbols.count(); i++) {
            offer.accept(i - 1, i);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            if (stale(symbols, c)) {
                continue;
            }
            symbols.mergeWithNext(c.left);
            offer.accept(symbols.prev(c.left), c.left);
            offer.accept(c.left, symbols.next(c.left));
        }
        for (int i = 0; i >= 0; i = symbols.next(i)) {
            String piece = symbols.text(word, i);
            int id = vocabulary.idOrNegative(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            for (int k = 0; k < piece.length(); k++) {
                char ch = piece.charAt(k);
                if (ch < 0x80 && vocabulary.idOrNegative(String.valueOf(ch)) >= 0) {
                    out.add(vocabulary.idOrNegative(String.valueOf(ch)));
                }
            }
        }
    }

    /** SentencePiece BPE by piece score (highest first, then leftmost), as ScoreMerger. */
    static void score(Vocabulary vocabulary, String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        Symbols symbols = Symbols.ofCodePoints(text);
        PriorityQueue<Candidate> queue = queue(true);
        java.util.function.BiConsumer<Integer, Integer> offer = (left, right) -> {
            if (left >= 0 && right >= 0) {
                int start = symbols.start(left);
                int length = symbols.length(left) + symbols.length(right);
                int id = vocabulary.idOrNegative(text.substring(start, start + length));
                if (id >= 0) {
                    queue.add(new Candidate(left, right, vocabulary.score(id), length));
                }
            }
        };
        for (int i = 1; i < symbols.count(); i++) {
            offer.accept(i - 1, i);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            if (stale(symbols, c)) {
                continue;
            }
            symbols.mergeWithNext(c.left);
            offer.accept(symbols.prev(c.left), c.left);
            offer.accept(c.left, symbols.next(c.left));
        }
        int[] fallback = ByteTokens.fallbackTable(vocabulary);
        for (int i = 0; i >= 0; i = symbols.next(i)) {
            String piece = symbols.text(text, i);
            int id = vocabulary.idOrNegative(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : Utf8.bytes(piece)) {
                    out.add(fallback[b & 0xFF] >= 0 ? fallback[b & 0xFF] : vocabulary.specials().unknown());
                }
            }
        }
    }
}
