package dev.rewind.models.bert;

/**
 * The shape of a BERT-family encoder.
 *
 * @param vocabularySize      rows of the word embedding
 * @param hidden              the model width
 * @param layers              encoder layers
 * @param heads               attention heads ({@code hidden / heads} is the head size)
 * @param intermediate        the feed-forward width
 * @param maxPositions        rows of the absolute position embedding: the longest input, special tokens included
 * @param tokenTypes          rows of the token-type (segment) embedding
 * @param layerNormEpsilon    the epsilon of every LayerNorm
 */
public record BertConfig(int vocabularySize, int hidden, int layers, int heads, int intermediate, int maxPositions,
                         int tokenTypes, float layerNormEpsilon) {

    /** @throws IllegalArgumentException if a size is not positive or the width is not a multiple of the heads */
    public BertConfig {
        if (vocabularySize < 1 || hidden < 1 || layers < 1 || heads < 1 || intermediate < 1 || maxPositions < 2
                || tokenTypes < 1) {
            throw new IllegalArgumentException("BERT sizes must be positive: " + this);
        }
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("width " + hidden + " is not a multiple of the " + heads + " heads");
        }
        if (!(layerNormEpsilon > 0 && layerNormEpsilon < 1)) {
            throw new IllegalArgumentException("LayerNorm epsilon " + layerNormEpsilon + " is not in (0, 1)");
        }
    }

    /** The width of one attention head. */
    public int headSize() {
        return hidden / heads;
    }
}
