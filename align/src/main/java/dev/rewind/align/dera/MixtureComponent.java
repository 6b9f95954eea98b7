package dev.rewind.align.dera;

import dev.rewind.engine.logits.LogitsSource;

import java.util.Objects;

/**
 * One source of a {@link MixtureSource} and the weight of its logits.
 *
 * @param source the model (or any logits source) evaluated on the mixture's tokens
 * @param weight its weight in {@code Σ wᵢ·hᵢ}: finite; negative allowed (extrapolation); 0 leaves the
 *               source's logits out of the mixture (the source still advances with the others)
 */
public record MixtureComponent(LogitsSource source, float weight) {

    /** @throws IllegalArgumentException if the weight is not finite */
    public MixtureComponent {
        Objects.requireNonNull(source, "source");
        if (!Float.isFinite(weight)) {
            throw new IllegalArgumentException("a mixture weight must be finite, got " + weight);
        }
    }
}
