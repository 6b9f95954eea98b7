package dev.rewind.models;

import java.util.Objects;

/**
 * The hyper-parameters of a decoder-only transformer, read from GGUF metadata (or mapped from
 * another format onto the same families).
 *
 * @param architecture   {@code general.architecture}
 * @param dim            embedding width
 * @param layers         transformer blocks
 * @param heads          query heads
 * @param kvHeads        key/value heads (fewer than {@code heads} for grouped-query attention)
 * @param headDim        width of one head (keys and values alike)
 * @param ffnDim         hidden width of the feed-forward network (of each expert, in a mixture)
 * @param vocabularySize rows of the embedding and output matrices
 * @param contextLength  the context length the model was trained for (the default cache size)
 * @param rmsEps         RMSNorm epsilon
 * @param rope           rotary position embedding of the global-attention layers (all layers unless
 *                       {@link Attention#slidingRope()} says otherwise)
 * @param attention      score scale, soft-capping and sliding window
 * @param logitSoftcap   soft-capping of the output logits ({@code c·tanh(z/c)}), 0 for none
 * @param experts        the mixture-of-experts feed-forward, or {@link Experts#NONE}
 * @param longRope       LongRoPE's second set of rope factors (Phi-3.5), or {@code null}
 */
public record TransformerConfig(String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                                int ffnDim, int vocabularySize, int contextLength, float rmsEps, Rope rope,
                                Attention attention, float logitSoftcap, Experts experts, LongRope longRope) {

    public TransformerConfig {
        Objects.requireNonNull(rope, "rope");
        Objects.requireNonNull(attention, "attention");
        Objects.requireNonNull(experts, "experts");
        if (!(logitSoftcap >= 0) || !Float.isFinite(logitSoftcap)) {
            throw new IllegalArgumentException("logit soft-cap must be 0 or a finite positive number, got " + logitSoftcap);
        }
    }

    /** A dense model with plain causal attention scaled by 1/√headDim, as the first four families are. */
    public TransformerConfig(String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                             int ffnDim, int vocabularySize, int contextLength, float rmsEps, Rope rope) {
        this(architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocabularySize, contextLength, rmsEps, rope,
                Attention.standard(headDim), 0f, Experts.NONE, null);
    }

    /**
     * How attention scores are formed and which positions a query sees.
     *
     * @param scale          score multiplier (usually 1/√headDim)
     * @param softcap        scores become {@code c·tanh(s/c)} before the softmax; 0 for none
     * @param slidingWindow  on sliding layers a query at {@code p} sees positions {@code p' > p − window}; 0 for none
     * @param slidingPattern layer {@code l} is a sliding layer iff {@code l % pattern < pattern − 1}
     *                       (2: even layers, as Gemma 2; 6: five local then one global, as Gemma 3;
     *                       1: every layer); ignored without a window
     * @param slidingRope    the rope of the sliding layers, or {@code null} for {@link TransformerConfig#rope()}
     */
    public record Attention(float scale, float softcap, int slidingWindow, int slidingPattern, Rope slidingRope) {

        public Attention {
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new IllegalArgumentException("attention scale must be a finite positive number, got " + scale);
            }
            if (!(softcap >= 0) || !Float.isFinite(softcap)) {
                throw new IllegalArgumentException("attention soft-cap must be 0 or a finite positive number, got " + softcap);
            }
            if (slidingWindow < 0 || (slidingWindow > 0 && slidingPattern < 1)) {
                throw new IllegalArgumentException("sliding window " + slidingWindow + " with layer pattern " + slidingPattern);
            }
        }

        /** Scores scaled by 1/√headDim, no cap, no window. */
        public static Attention standard(int headDim) {
            return new Attention((float) (1.0 / Math.sqrt(headDim)), 0f, 0, 0, null);
        }

        /** True when layer {@code layer} attends only to the last {@link #slidingWindow()} positions. */
        public boolean isSliding(int layer) {
            return slidingWindow > 0 && (slidingPattern == 1 || layer % slidingPattern < slidingPattern - 1);
        }

        /** The first position a query at {@code position} sees on {@code layer}. */
        public int firstVisible(int layer, int position) {
            return isSliding(layer) ? Math.max(0, position - slidingWindow + 1) : 0;
        }
    }

    /**
     * A mixture-of-experts feed-forward (Mixtral): a router picks {@code used} of {@code count}
     * experts per token, weighted by the softmax of the router logits renormalised over the chosen ones.
     */
    public record Experts(int count, int used) {

        /** A dense feed-forward. */
        public static final Experts NONE = new Experts(0, 0);

        public Experts {
            if (count < 0 || used < 0 || used > count || (count > 0 && used == 0)) {
                throw new IllegalArgumentException(used + " experts used of " + count);
            }
        }

        public boolean present() {
            return count > 0;
        }
    }

    /**
     * LongRoPE (Phi-3.5, Phi-4-mini): {@link TransformerConfig#rope()} carries the short factors;
     * {@code rope} the long ones. As llama.cpp does, a cache sized for more than
     * {@code originalContext} positions uses the long factors for every position.
     */
    public record LongRope(Rope rope, int originalContext) {
    }

    /** The rope of the global layers for a cache of {@code context} positions (LongRoPE picks its factors by it). */
    public Rope ropeFor(int context) {
        return longRope != null && context > longRope.originalContext() ? longRope.rope() : rope;
    }

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
