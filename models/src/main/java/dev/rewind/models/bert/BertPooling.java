package dev.rewind.models.bert;

/**
 * How a sentence vector is made from an encoder's final token states, as sentence-transformers' {@code Pooling}
 * and {@code Normalize} modules make it.
 *
 * @param mode      which token states are pooled
 * @param normalize whether the pooled vector is scaled to unit length ({@code F.normalize}, ε 1e-12)
 */
public record BertPooling(Mode mode, boolean normalize) {

    /** Mean pooling then L2 normalisation: all-MiniLM-L6-v2's modules, and Rewind's default. */
    public static final BertPooling MEAN_NORMALIZED = new BertPooling(Mode.MEAN, true);

    /** The pooled token states. */
    public enum Mode {
        /** The mean of every token's state ({@code pooling_mode_mean_tokens}; no padding here, so every token counts). */
        MEAN,
        /** The state of the first token, {@code [CLS]} ({@code pooling_mode_cls_token}). */
        CLS
    }

    public BertPooling {
        java.util.Objects.requireNonNull(mode, "mode");
    }
}
