package dev.rewind.align.rain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * RAIN's embedder as the paper has it: a sentence encoder ({@link dev.rewind.models.bert.Embedder}; the
 * default is all-MiniLM-L6-v2, 384-d, mean-pooled, unit length, texts cut to 256 word pieces) embeds each
 * path text. Only the encoder runs, never the language models. The paper's thresholds (similarity 0.95,
 * dynamic addition below 0.03 × span length) were tuned on these vectors and apply unchanged. Texts seen
 * recently are answered from a cache; the texts of one backup are encoded in one batch. Not thread-safe.
 */
public final class EncoderEmbedder implements Embedder, AutoCloseable {

    /** Embeddings kept for texts seen recently. */
    static final int CACHE_SIZE = 4096;

    private final dev.rewind.models.bert.Embedder encoder;
    private final boolean owned;
    private long tokens;
    private final Map<String, float[]> cache = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    /**
     * @param encoder the sentence encoder
     * @param owned   whether {@link #close()} closes it
     */
    public EncoderEmbedder(dev.rewind.models.bert.Embedder encoder, boolean owned) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.owned = owned;
    }

    @Override
    public float[] embed(String text) {
        return embedAll(List.of(text)).getFirst();
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        float[][] out = new float[texts.size()][];
        Map<String, List<Integer>> missing = new LinkedHashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            float[] cached = cache.get(texts.get(i));
            if (cached != null) {
                out[i] = cached;
            } else {
                missing.computeIfAbsent(texts.get(i), t -> new ArrayList<>()).add(i);
            }
        }
        if (!missing.isEmpty()) {
            List<String> unique = new ArrayList<>(missing.keySet());
            dev.rewind.models.bert.Embedder.Embeddings e = encoder.embed(unique);
            tokens += e.totalTokens();
            for (int k = 0; k < unique.size(); k++) {
                cache.put(unique.get(k), e.vectors()[k]);
                for (int i : missing.get(unique.get(k))) {
                    out[i] = e.vectors()[k];
                }
            }
        }
        return Arrays.asList(out);
    }

    @Override
    public long encoderTokens() {
        return tokens;
    }

    /** The encoder's name, e.g. {@code all-MiniLM-L6-v2}. */
    public String name() {
        return encoder.name();
    }

    @Override
    public void close() {
        cache.clear();
        if (owned) {
            encoder.close();
        }
    }
}
