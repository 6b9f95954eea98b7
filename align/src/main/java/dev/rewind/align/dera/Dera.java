package dev.rewind.align.dera;

import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.models.LoadedModel;

import java.util.List;
import java.util.Optional;

/**
 * DeRa, decoding-time realignment (Liu et al., ICML 2024): at every step the next-token logits are
 * {@code h = λ·hA + (1−λ)·hR}, where {@code hA} are the aligned model's and {@code hR} the reference
 * (SFT) model's on the same prefix. λ = 0 is the reference model, λ = 1 the aligned model, values in
 * between weaken the alignment and λ &gt; 1 extrapolates it; λ &lt; 0 is allowed. The mixed logits then
 * go through the usual sampling chain. This is the two-component case of a {@link MixtureSource}:
 * component 0 is the aligned model (weight λ), component 1 the reference (weight 1 − λ).
 */
public final class Dera {

    /** The aligned model's index in the mixture (the one a plausibility guard watches). */
    public static final int ALIGNED = 0;
    /** The reference model's index in the mixture. */
    public static final int REFERENCE = 1;

    private Dera() {
    }

    /**
     * The two weighted components for {@code lambda}. The weights are {@code (float) λ} and
     * {@code (float) (1 − λ)}, so at λ = 0 and λ = 1 one of them is exactly 0 and the mixture is
     * exactly the other model.
     *
     * @throws IllegalArgumentException if {@code lambda} is not finite
     */
    public static List<MixtureComponent> components(LogitsSource aligned, LogitsSource reference, double lambda) {
        if (!Double.isFinite(lambda)) {
            throw new IllegalArgumentException("λ must be a finite number, got " + lambda);
        }
        return List.of(new MixtureComponent(aligned, (float) lambda), new MixtureComponent(reference, (float) (1.0 - lambda)));
    }

    /**
     * The DeRa logits source.
     *
     * @param vocabulary     what {@link #checkVocabularies} accepted
     * @param guardTopP      if present, keep only the aligned model's top-p set before sampling
     *                       (see {@link PlausibilityGuard}); empty is DeRa as published
     * @param capacityTokens must be positive; the models' own KV caches bound the sequences
     */
    public static MixtureSource mixture(LogitsSource aligned, LogitsSource reference, double lambda,
                                        SharedVocabulary vocabulary, Optional<Float> guardTopP, int capacityTokens) {
        return new MixtureSource(components(aligned, reference, lambda), vocabulary.tokens(),
                guardTopP.map(p -> new PlausibilityGuard(ALIGNED, p)), capacityTokens);
    }

    /**
     * Checks that two loaded models can be mixed (see {@link VocabularyCheck}).
     *
     * @throws VocabularyMismatchException naming the first token that differs
     */
    public static SharedVocabulary checkVocabularies(String alignedName, LoadedModel aligned,
                                                     String referenceName, LoadedModel reference) {
        return VocabularyCheck.check(
                new VocabularySide(alignedName, aligned.tokenizer(), aligned.model().config().vocabularySize()),
                new VocabularySide(referenceName, reference.tokenizer(), reference.model().config().vocabularySize()));
    }
}
