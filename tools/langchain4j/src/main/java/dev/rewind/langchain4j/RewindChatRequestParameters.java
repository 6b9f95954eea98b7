package dev.rewind.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;

import java.util.Objects;

/**
 * LangChain4j's common request parameters plus the ones Rewind's sampler also takes: a {@code seed}
 * (the same seed gives the same tokens), llama.cpp's {@code minP} and {@code repeatPenalty}. Any
 * other {@link ChatRequestParameters} works too; these fields are then unset (a random seed, no
 * min-p, no penalty).
 */
public class RewindChatRequestParameters extends DefaultChatRequestParameters {

    private final Long seed;
    private final Double minP;
    private final Double repeatPenalty;

    protected RewindChatRequestParameters(Builder builder) {
        super(builder);
        this.seed = builder.seed;
        this.minP = builder.minP;
        this.repeatPenalty = builder.repeatPenalty;
    }

    /** The draw's seed, or null for a random one. */
    public Long seed() {
        return seed;
    }

    /** Min-p, or null (off). */
    public Double minP() {
        return minP;
    }

    /** The repetition penalty over the last 64 tokens, or null (off). */
    public Double repeatPenalty() {
        return repeatPenalty;
    }

    @Override
    public ChatRequestParameters overrideWith(ChatRequestParameters that) {
        return builder().overrideWith(this).overrideWith(that).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RewindChatRequestParameters r && super.equals(o) && Objects.equals(seed, r.seed)
                && Objects.equals(minP, r.minP) && Objects.equals(repeatPenalty, r.repeatPenalty);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), seed, minP, repeatPenalty);
    }

    @Override
    public String toString() {
        return "RewindChatRequestParameters{" + super.toString() + ", seed=" + seed + ", minP=" + minP
                + ", repeatPenalty=" + repeatPenalty + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link RewindChatRequestParameters}. */
    public static class Builder extends DefaultChatRequestParameters.Builder<Builder> {
        private Long seed;
        private Double minP;
        private Double repeatPenalty;

        @Override
        public Builder overrideWith(ChatRequestParameters parameters) {
            super.overrideWith(parameters);
            if (parameters instanceof RewindChatRequestParameters r) {
                seed = r.seed != null ? r.seed : seed;
                minP = r.minP != null ? r.minP : minP;
                repeatPenalty = r.repeatPenalty != null ? r.repeatPenalty : repeatPenalty;
            }
            return this;
        }

        public Builder seed(Long value) {
            seed = value;
            return this;
        }

        public Builder minP(Double value) {
            minP = value;
            return this;
        }

        public Builder repeatPenalty(Double value) {
            repeatPenalty = value;
            return this;
        }

        @Override
        public RewindChatRequestParameters build() {
            return new RewindChatRequestParameters(this);
        }
    }
}
