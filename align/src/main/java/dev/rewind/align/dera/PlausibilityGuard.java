package dev.rewind.align.dera;

/**
 * An optional guard for extrapolation (λ &gt; 1), off unless asked for: before the mixture is used,
 * every token outside the top-p set of one component (DeRa: the aligned model) gets −∞. With a
 * negative weight on the reference model, tokens the reference strongly dislikes are otherwise
 * boosted; keeping only tokens the aligned model itself finds plausible stops that. It is a
 * deviation from DeRa as published, so whoever turns it on should say so in their output.
 *
 * <p>The top-p set is the sampler's own definition ({@link dev.rewind.engine.sampling.Processors.TopP}):
 * the smallest set of most likely tokens, by that component's softmax, whose probabilities reach
 * {@code topP}.
 *
 * @param component index of the component whose top-p set is kept
 * @param topP      the probability mass kept, in (0, 1]; 1 keeps every token the component does not rule out
 */
public record PlausibilityGuard(int component, float topP) {

    /** @throws IllegalArgumentException if {@code component} is negative or {@code topP} is outside (0, 1] */
    public PlausibilityGuard {
        if (component < 0) {
            throw new IllegalArgumentException("the guard's component index must be >= 0, got " + component);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("the plausibility guard's top-p must be in (0, 1], got " + topP);
        }
    }
}
