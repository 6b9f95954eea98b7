package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An {@link Embedder} without a sentence encoder ({@code rewind rain --embedder hidden}; the default is
 * {@link EncoderEmbedder} with MiniLM): a language model (the judge) reads the text on its own (BOS first),
 * and the final normalised hidden states of the text's tokens ({@link Logits#hidden}) are averaged and
 * scaled to unit length. This is a substitute for the paper's MiniLM sentence encoder, which is not a
 * GGUF decoder Rewind runs: MiniLM mean-pools a bidirectional encoder's token states and normalises
 * them too, so the two agree in kind, but a causal model's states are more alike from text to text,
 * so cosines run higher and the 0.95 similarity threshold fires more readily than with MiniLM.
 * Like MiniLM the embedding depends on the text alone, never on the tree or the prompt. The BOS
 * state, the same for every text, is left out of the mean. Texts seen before are answered from a
 * small cache; several texts are evaluated in one batched forward call. Not thread-safe.
 */
public final class HiddenStateEmbedder implements Embedder, AutoCloseable {

    /** Embeddings kept for texts seen recently. */
    static final int CACHE_SIZE = 4096;

    /**
     * The similarity threshold RAIN runs with on these embeddings: the paper's 0.95, kept for want of a
     * calibration (that would need the paired texts of a real 1B+ judge, which the test data lack). A causal
     * model's pooled states are more alike than MiniLM's, so at this threshold sibling values are shared
     * more often than in the paper.
     */
    public static final double SIMILARITY_THRESHOLD = 0.95;

    /** The dynamic-addition variance factor RAIN runs with on these embeddings: the paper's 0.03, uncalibrated (see above). */
    public static final double VARIANCE_FACTOR = 0.03;

    private final CountingSource source;
    private final Tokenizer tokenizer;
    private final int maxTokens;
    private final Map<String, float[]> cache = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    /**
     * @param source    the model whose hidden states are pooled; it must expose {@link Logits#hidden}
     * @param maxTokens texts are cut to their first this many tokens (MiniLM reads 256 word pieces)
     */
    public HiddenStateEmbedder(LogitsSource source, Tokenizer tokenizer, int maxTokens) {
        this.source = new CountingSource(Objects.requireNonNull(source, "source"));
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be positive, got " + maxTokens);
        }
        this.maxTokens = maxTokens;
    }

    @Override
    public float[] embed(String text) {
        return embedAll(List.of(text)).getFirst();
    }

    @Override
    public List<float[]> embedAll(List<String> texts) {
        float[][] out = new float[texts.size()][];
        List<Integer> missing = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        Map<String, Integer> firstMissing = new LinkedHashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            float[] cached = cache.get(texts.get(i));
            if (cached != null) {
                out[i] = cached;
            } else if (!firstMissing.containsKey(texts.get(i))) {
                firstMissing.put(texts.get(i), i);
                missing.add(i);
                tokens.add(tokenize(texts.get(i)));
            }
        }
        if (!missing.isEmpty()) {
            List<float[]> computed = evaluate(tokens);
            for (int k = 0; k < missing.size(); k++) {
                int i = missing.get(k);
                out[i] = computed.get(k);
                cache.put(texts.get(i), computed.get(k));
            }
        }
        for (int i = 0; i < texts.size(); i++) {
            if (out[i] == null) {
                out[i] = out[firstMissing.get(texts.get(i))];
            }
        }
        return Arrays.asList(out);
    }

    private int[] tokenize(String text) {
        int[] t = tokenizer.encode(text, true, false);
        if (t.length == 0) {
            t = new int[]{tokenizer.bos().orElse(0)};
        }
        return t.length > maxTokens ? Arrays.copyOf(t, maxTokens) : t;
    }

    private List<float[]> evaluate(List<int[]> tokens) {
        List<TokenSequence> sequences = new ArrayList<>(tokens.size());
        try {
            List<Batch.Entry> entries = new ArrayList<>(tokens.size());
            for (int[] t : tokens) {
                TokenSequence s = source.newSequence();
                sequences.add(s);
                entries.add(new Batch.Entry(s, t, Batch.Wanted.HIDDEN)); // hidden states only: no output product
            }
            Logits logits = source.forward(Batch.of(entries));
            List<float[]> out = new ArrayList<>(tokens.size());
            int row = 0;
            for (int[] t : tokens) {
                int skip = t.length > 1 && tokenizer.bos().isPresent() && t[0] == tokenizer.bos().getAsInt() ? 1 : 0;
                double[] sum = null;
                for (int i = 0; i < t.length; i++, row++) {
                    if (i < skip) {
                        continue;
                    }
                    float[] h = logits.hidden(row);
                    if (sum == null) {
                        sum = new double[h.length];
                    }
                    for (int d = 0; d < h.length; d++) {
                        sum[d] += h[d];
                    }
                }
                out.add(unit(sum));
            }
            return out;
        } finally {
            for (TokenSequence s : sequences) {
                s.close();
            }
        }
    }

    private static float[] unit(double[] v) {
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = norm == 0 ? 0f : (float) (v[i] / norm);
        }
        return out;
    }

    @Override
    public List<CountingSource> meters() {
        return List.of(source);
    }


    @Override
    public void close() {
        cache.clear();
    }
}
