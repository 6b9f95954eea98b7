package dev.rewind.models.bert;

import dev.rewind.engine.tensor.WeightMatrix;

import java.util.List;

/**
 * The weights of a BERT-family encoder, whatever file they came from. Matrices are in Rewind's layout
 * (one row per output, {@code cols} = input width); vectors are plain arrays.
 *
 * @param config         the shape
 * @param words          word embedding, {@code vocabularySize × hidden}
 * @param positions      absolute position embedding, {@code maxPositions × hidden}
 * @param tokenTypes     token-type embedding, {@code tokenTypes × hidden}
 * @param embeddingNorm  the LayerNorm after the three embeddings are summed
 * @param layers         the encoder layers, in order
 */
public record BertWeights(BertConfig config, WeightMatrix words, WeightMatrix positions, WeightMatrix tokenTypes,
                          Norm embeddingNorm, List<Layer> layers) {

    public BertWeights {
        layers = List.copyOf(layers);
    }

    /**
     * A LayerNorm's scale and shift.
     *
     * @param weight scale, {@code hidden} values
     * @param bias   shift, {@code hidden} values
     */
    public record Norm(float[] weight, float[] bias) {
    }

    /**
     * A matrix and its bias.
     *
     * @param weight {@code out × in}
     * @param bias   {@code out} values
     */
    public record Linear(WeightMatrix weight, float[] bias) {
    }

    /**
     * One post-norm encoder layer: {@code x = norm1(x + output(attention(query, key, value)))}, then
     * {@code x = norm2(x + down(gelu(up(x))))}.
     */
    public record Layer(Linear query, Linear key, Linear value, Linear output, Norm attentionNorm, Linear up,
                        Linear down, Norm outputNorm) {
    }
}
