package dev.rewind.tokenizer;

import java.util.PriorityQueue;

/**
 * The merge loop of SentencePiece BPE, as llama.cpp's SPM tokenizer runs it. The text is split into
 * characters, every adjacent pair whose concatenation is a vocabulary piece is queued by that piece's
 * score, and the best pair (highest score, then leftmost) is merged until none is left. Symbols are a
 * linked list over the text, so each merge costs O(log n). A final symbol that is not a piece (a single
 * character missing from the vocabulary) is emitted as its UTF-8 byte tokens.
 */
final class ScoreMerger {

    private final Vocabulary vocabulary;
    private final int[] byteFallback;

    ScoreMerger(Vocabulary vocabulary) {
        this.vocabulary = vocabulary;
        this.byteFallback = ByteTokens.fallbackTable(vocabulary);
    }

    /** A queued candidate merge of symbol {@code left} with its right neighbour {@code right}. */
    private record Candidate(int left, int right, float score, int length) {
    }

    /** Appends the tokens of {@code text} (spaces already escaped) to {@code out}. */
    void tokenize(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        Symbols symbols = Symbols.ofCodePoints(text);
        PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) -> {
            if (a.score != b.score) {
                return a.score > b.score ? -1 : 1;
            }
            return Integer.compare(a.left, b.left);
        });
        for (int i = 1; i < symbols.count(); i++) {
            offer(text, symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            // Skip a candidate whose symbols changed since it was queued: a merged-away symbol has
            // length 0, and a symbol that absorbed a neighbour is longer.
            if (symbols.length(c.left) == 0 || symbols.length(c.right) == 0
                    || symbols.length(c.left) + symbols.length(c.right) != c.length) {
                continue;
            }
            symbols.mergeWithNext(c.left);
            offer(text, symbols, symbols.prev(c.left), c.left, queue);
            offer(text, symbols, c.left, symbols.next(c.left), queue);
        }
        // llama.cpp also keeps a map from merged text back to its two halves to re-split a final symbol
        // that is not a piece. Merges only ever produce pieces, so such a symbol is a single character
        // and that map never applies: the character goes straight to byte fallback.
        for (int i = 0; i >= 0; i = symbols.next(i)) {
            String piece = symbols.text(text, i);
            int id = vocabulary.idOrNegative(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : Utf8.bytes(piece)) {
                    out.add(byteToken(b));
                }
            }
        }
    }

    private void offer(String text, Symbols symbols, int left, int right, PriorityQueue<Candidate> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int start = symbols.start(left);
        int length = symbols.length(left) + symbols.length(right);
        int id = vocabulary.idOrNegative(text.substring(start, start + length));
        if (id >= 0) {
            queue.add(new Candidate(left, right, vocabulary.score(id), length));
        }
    }

    private int byteToken(byte b) {
        int id = byteFallback[b & 0xFF];
        if (id >= 0) {
            return id;
        }
        // llama.cpp fails here (std::out_of_range); the unknown token is the closest honest answer.
        int unknown = vocabulary.specials().unknown();
        if (unknown >= 0) {
            return unknown;
        }
        throw new IllegalStateException(String.format(
                "the vocabulary has no byte token <0x%02X> and no unknown token to stand for it", b & 0xFF));
    }
}
