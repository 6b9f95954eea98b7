package dev.rewind.tokenizer;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * The token table of a tokenizer: piece strings, scores, types, the special tokens and the flags that
 * say how text is framed. Immutable.
 */
public final class Vocabulary {

    private final String[] pieces;
    private final float[] scores;
    private final TokenType[] types;
    private final int[] attributes;
    private final Map<String, Integer> ids;
    private final SpecialTokens specials;
    private final FramingRules framing;
    private final int[] endOfGeneration;
    private final int[] specialCandidates;

    /**
     * @param attributes per-token {@link TokenAttributes}; this array is owned by the vocabulary
     * @param endOfGeneration ids that end generation, sorted
     */
    Vocabulary(List<String> pieces, float[] scores, TokenType[] types, int[] attributes,
               SpecialTokens specials, FramingRules framing, int[] endOfGeneration) {
        this.pieces = pieces.toArray(String[]::new);
        this.scores = scores;
        this.types = types;
        this.attributes = attributes;
        this.specials = specials;
        this.framing = framing;
        this.endOfGeneration = endOfGeneration;
        this.ids = HashMap.newHashMap(this.pieces.length);
        for (int i = 0; i < this.pieces.length; i++) {
            // As llama.cpp at the reference commit: a repeated piece maps to its last id.
            this.ids.put(this.pieces[i], i);
        }
        // llama.cpp's special-token cache: longest text first, so that a longer special token wins over
        // one that is its prefix. Ties keep id order (llama.cpp's sort is not stable; ties are harmless
        // unless two equally long special texts overlap in the input).
        this.specialCandidates = IntStream.range(0, this.pieces.length)
                .filter(i -> TokenAttributes.has(attributes[i], TokenAttributes.SPECIAL_CANDIDATE))
                .filter(i -> !this.pieces[i].isEmpty())
                .boxed()
                .sorted(Comparator.comparingInt((Integer i) -> -Utf8.bytes(this.pieces[i]).length))
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** The number of tokens. */
    public int size() {
        return pieces.length;
    }

    /** The raw piece string of token {@code id}. */
    public String piece(int id) {
        return pieces[id];
    }

    /** The score of token {@code id} (0 when the vocabulary has no scores). */
    public float score(int id) {
        return scores[id];
    }

    /** The type of token {@code id} as stored in the vocabulary. */
    public TokenType type(int id) {
        return types[id];
    }

    /** The id of the token whose piece is exactly {@code piece}. */
    public OptionalInt id(String piece) {
        Integer id = ids.get(piece);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** The special token ids. */
    public SpecialTokens specials() {
        return specials;
    }

    /** Whether BOS/EOS are added and whether a space is put in front of the text. */
    public FramingRules framing() {
        return framing;
    }

    /** Whether {@code id} ends generation (EOS, EOT, EOM and tokens whose text marks an end of turn). */
    public boolean isEndOfGeneration(int id) {
        return Arrays.binarySearch(endOfGeneration, id) >= 0;
    }

    /** The id of {@code piece}, or -1; the lookup the tokenizers use on their hot path. */
    int idOrNegative(String piece) {
        Integer id = ids.get(piece);
        return id == null ? -1 : id;
    }

    int attributes(int id) {
        return attributes[id];
    }

    /** Special-token candidates, longest text first. */
    int[] specialCandidates() {
        return specialCandidates;
    }

    static OptionalInt optional(int id) {
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }
}
