package dev.rewind.models;

/**
 * The hyper-parameters of a decoder-only transformer, read from GGUF metadata.
 *
 * @param architecture  {@code general.architecture}
 * @param dim           embedding width
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads (fewer than {@code heads} for grouped-query attention)
 * @param headDim       width of one head
 * @param ffnDim        hidden width of the feed-forward network
 * @param vocabularySize rows of the embedding and output matrices
 * @param contextLength the context length the model was trained for (the default cache size)
 * @param rmsEps        RMSNorm epsilon
 * @param rope          rotary position embedding parameters
 */
public record TransformerConfig(String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                                int ffnDim, int vocabularySize, int contextLength, float rmsEps, Rope rope) {

    /** Width of the key and value rows: KV heads × head dimension. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Width of the concatenated query heads. */
    public int qDim() {
        return heads * headDim;
    }

    /** Query heads that share one KV head. */
    public int groupSize() {
        return heads / kvHeads;
    }
}
