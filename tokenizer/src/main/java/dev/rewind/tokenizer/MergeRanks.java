package dev.rewind.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The ranks of byte-level BPE merges ({@code tokenizer.ggml.merges}): lower ranks merge first. */
final class MergeRanks {

    /** A pair of adjacent pieces. */
    private record Pair(String left, String right) {
    }

    private final Map<Pair, Integer> ranks;

    /**
     * Each merge is "left right", split at the first space after the first character; a merge listed
     * twice keeps its first rank, as in llama.cpp.
     */
    MergeRanks(List<String> merges) {
        ranks = HashMap.newHashMap(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            int space = merge.indexOf(' ', 1);
            if (space > 0) {
                ranks.putIfAbsent(new Pair(merge.substring(0, space), merge.substring(space + 1)), rank);
            }
        }
    }

    /** The rank of merging {@code left} with {@code right}, or -1 if they do not merge. */
    int rank(String left, String right) {
        Integer rank = ranks.get(new Pair(left, right));
        return rank == null ? -1 : rank;
    }

    int size() {
        return ranks.size();
    }
}
