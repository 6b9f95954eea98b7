package dev.rewind.tokenizer;

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

    /**
     * The heap priority of a score: smaller for a higher score, in the order of the floats themselves
     * (-0 and +0 are one score, as they compare equal; NaN scores are refused when the vocabulary is read).
     */
    static int priority(float score) {
        int bits = Float.floatToIntBits(score == 0 ? 0f : score);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed int order = float order
        return ~ordered; // highest score first
    }

    /**
     * Appends the tokens of {@code text} (spaces already escaped) to {@code out} and returns how many queued
     * candidates the merge loop examined (at most 3 per character: every merge queues at most two).
     */
    int tokenize(String text, IntList out) {
        if (text.isEmpty()) {
            return 0;
        }
        Symbols symbols = Symbols.ofCodePoints(text);
        // Candidates by score (highest first), then leftmost, each with the combined length of its pair when queued.
        CandidateHeap queue = new CandidateHeap(symbols.count());
        for (int i = 1; i < symbols.count(); i++) {
            offer(text, symbols, i - 1, i, queue);
        }
        int popped = 0;
        while (!queue.isEmpty()) {
            popped++;
            int left = CandidateHeap.left(queue.topKey());
            int length = queue.topLength();
            queue.pop();
            // Skip a candidate whose symbols changed since it was queued: a merged-away symbol has
            // length 0, and a symbol that absorbed a neighbour is longer.
            int right = symbols.next(left);
            if (symbols.length(left) == 0 || right < 0 || symbols.length(left) + symbols.length(right) != length) {
                continue;
            }
            symbols.mergeWithNext(left);
            offer(text, symbols, symbols.prev(left), left, queue);
            offer(text, symbols, left, symbols.next(left), queue);
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
        return popped;
    }

    private void offer(String text, Symbols symbols, int left, int right, CandidateHeap queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int start = symbols.start(left);
        int length = symbols.length(left) + symbols.length(right);
        int id = vocabulary.idOrNegative(text.substring(start, start + length));
        if (id >= 0) {
            queue.add(CandidateHeap.key(priority(vocabulary.score(id)), left), length);
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
