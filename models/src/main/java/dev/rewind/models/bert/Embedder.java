package dev.rewind.models.bert;

import java.util.List;

/**
 * Sentence embeddings: texts to vectors whose cosine says how alike their meanings are; normally of unit
 * length, so the cosine is their dot product (a model folder whose sentence-transformers modules have no
 * {@code Normalize} gives its raw pooled vectors, as sentence-transformers does). The API the CLI ({@code rewind embed}), RAIN's similarity step and the server's
 * {@code /v1/embeddings} share. Implementations are safe to call from several threads (calls run one at
 * a time).
 */
public interface Embedder extends AutoCloseable {

    /**
     * The embeddings of a batch of texts.
     *
     * @param vectors one vector of {@link #dimension()} floats per text, in order (of unit length but for a
     *                model without a Normalize module)
     * @param tokens  the number of tokens each text was encoded as (special tokens included, after
     *                truncation to {@link #maxTokens()}): what a caller bills or reports as usage
     */
    record Embeddings(float[][] vectors, int[] tokens) {

        /** The sum of {@link #tokens}. */
        public long totalTokens() {
            long n = 0;
            for (int t : tokens) {
                n += t;
            }
            return n;
        }
    }

    /** The embeddings of {@code texts}, computed together. */
    Embeddings embed(List<String> texts);

    /** The length of every vector. */
    int dimension();

    /** The most tokens a text is encoded as; longer texts are truncated (their tail is not read). */
    int maxTokens();

    /** A short name of the model, e.g. {@code all-MiniLM-L6-v2}. */
    String name();

    @Override
    void close();
}
