package dev.rewind.tokenizer;

import java.util.Arrays;
import java.util.Map;

/**
 * The BPE model of a {@code tokenizer.json}, as the Hugging Face tokenizers library runs it on one word: each
 * character becomes its token (or, if the vocabulary has none, its UTF-8 bytes as {@code <0xNN>} tokens when
 * {@code byte_fallback} is on, else the unknown token, consecutive ones fused when {@code fuse_unk} is on, else
 * nothing); then the pair of neighbours with the lowest merge rank (the leftmost on a tie) is merged, again and
 * again, until no neighbours have a merge. With {@code ignore_merges}, a word that is itself in the vocabulary
 * is that token. Merges are looked up by token id, so a merge costs O(log n) and a word of n characters
 * O(n log n).
 */
final class HfBpe {

    private final Map<String, Integer> vocab;
    private final int[] bmpIds;
    private final MergeTable merges;
    private final int unknown;
    private final boolean fuseUnknown;
    private final int[] byteIds;
    private final boolean ignoreMerges;

    /**
     * @param vocab        the model's vocabulary, piece to id
     * @param merges       the merges by id
     * @param unknown      the unknown token's id, or -1
     * @param fuseUnknown  consecutive unknown characters become one unknown token
     * @param byteFallback characters without a token become their {@code <0xNN>} byte tokens
     * @param ignoreMerges a word that is in the vocabulary becomes its token directly
     */
    HfBpe(Map<String, Integer> vocab, MergeTable merges, int unknown, boolean fuseUnknown, boolean byteFallback,
          boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.unknown = unknown;
        this.fuseUnknown = fuseUnknown;
        this.ignoreMerges = ignoreMerges;
        this.bmpIds = new int[1 << 16];
        Arrays.fill(bmpIds, -1);
        vocab.forEach((piece, id) -> {
            if (piece.length() == 1) {
                bmpIds[piece.charAt(0)] = id;
            }
        });
        if (byteFallback) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) {
                byteIds[b] = vocab.getOrDefault(ByteTokens.pieceOf(b), -1);
            }
        } else {
            byteIds = null;
        }
    }

    /** Appends the tokens of {@code word} to {@code out}. */
    void tokenize(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        int[] ids = initialSymbols(word);
        int count = ids.length;
        int[] prev = new int[count];
        int[] next = new int[count];
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
        LongHeap queue = new LongHeap();
        for (int i = 0; i + 1 < count; i++) {
            offer(queue, ids, i, i + 1);
        }
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            int right = next[pos];
            // Skip a queued pair that no longer exists: its left symbol was merged away, or either side changed.
            if (ids[pos] < 0 || right < 0 || merges.rank(ids[pos], ids[right]) != rank) {
                continue;
            }
            ids[pos] = merges.merged(ids[pos], ids[right]);
            ids[right] = -1;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                offer(queue, ids, prev[pos], pos);
            }
            if (next[pos] >= 0) {
                offer(queue, ids, pos, next[pos]);
            }
        }
        for (int i = 0; i >= 0 && i < count; i = next[i]) {
            out.add(ids[i]);
        }
    }

    private void offer(LongHeap queue, int[] ids, int left, int right) {
        int rank = merges.rank(ids[left], ids[right]);
        if (rank >= 0) {
            queue.push(((long) rank << 32) | left);
        }
    }

    /** The starting symbols of {@code word}: one token per character, byte tokens or unknown tokens. */
    private int[] initialSymbols(String word) {
        IntList symbols = new IntList(word.length());
        boolean pendingUnknown = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int length = Character.charCount(cp);
            int id = cp < bmpIds.length ? bmpIds[cp] : vocab.getOrDefault(word.substring(i, i + length), -1);
            i += length;
            if (id >= 0) {
                pendingUnknown = false;
                symbols.add(id);
                continue;
            }
            if (byteIds != null && addBytes(cp, symbols)) {
                pendingUnknown = false;
                continue;
            }
            if (unknown >= 0 && !(fuseUnknown && pendingUnknown)) {
                symbols.add(unknown);
                pendingUnknown = true;
            }
        }
        return symbols.toArray();
    }

    /** Adds the byte tokens of {@code cp}'s UTF-8 form if the vocabulary has all of them. */
    private boolean addBytes(int cp, IntList symbols) {
        byte[] bytes = Utf8.bytes(Character.toString(cp));
        for (byte b : bytes) {
            if (byteIds[b & 0xFF] < 0) {
                return false;
            }
        }
        for (byte b : bytes) {
            symbols.add(byteIds[b & 0xFF]);
        }
        return true;
    }
}
