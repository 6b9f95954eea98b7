package dev.rewind.align.rain;

import java.util.ArrayList;
import java.util.List;

/**
 * Sentence embeddings for RAIN's similarity update and dynamic node addition: texts with similar
 * meaning get vectors with a cosine near 1. The paper uses the MiniLM sentence encoder
 * ({@code all-MiniLM-L6-v2}), which {@link EncoderEmbedder} runs (the default of {@code rewind rain});
 * {@link HiddenStateEmbedder} is the older substitute that pools a language model's hidden states.
 */
public interface Embedder {

    /** The embedding of {@code text}; every call returns vectors of one length. */
    float[] embed(String text);

    /** The embeddings of several texts, in order; implementations may evaluate them together. */
    default List<float[]> embedAll(List<String> texts) {
        List<float[]> out = new ArrayList<>(texts.size());
        for (String t : texts) {
            out.add(embed(t));
        }
        return out;
    }

    /**
     * Tokens this embedder has run through a model of its own that {@link #meters()} does not count (a
     * sentence encoder), since it was made; {@link Rain} reports the difference over a request.
     */
    default long encoderTokens() {
        return 0;
    }

    /** The counting views of the model calls this embedder makes (none when it runs no model). */
    default List<CountingSource> meters() {
        return List.of();
    }

    /** Cosine similarity of two vectors of one length; 0 when either is all zeros. */
    static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("embeddings of lengths " + a.length + " and " + b.length);
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }
}
