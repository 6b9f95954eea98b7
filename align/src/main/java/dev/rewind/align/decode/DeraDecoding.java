package dev.rewind.align.decode;

import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.MixtureSource;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Objects;
import java.util.Optional;

/**
 * DeRa: plain sampling on {@code λ·aligned + (1−λ)·reference} logits ({@link Dera#mixture}), from the
 * request's prompt ids (in the aligned model's vocabulary, which the two share). The two models'
 * forward passes run side by side. One λ per decoding: a sweep is one decoding per value.
 */
public final class DeraDecoding implements DecodingStrategy {

    private final double lambda;
    private final Optional<Float> plausibilityTopP;
    private final SharedVocabulary vocabulary;
    private final MixtureSource mixture;
    private final Tokenizer tokenizer;
    private final GenerationContext context;

    /**
     * @param aligned          the aligned model (not owned)
     * @param reference        the reference model (not owned)
     * @param lambda           the aligned model's weight
     * @param vocabulary       what {@link Dera#checkVocabularies} accepted
     * @param plausibilityTopP if present, only the aligned model's top-p set is kept before sampling
     * @param tokenizer        the aligned model's tokenizer
     * @param contextLength    most positions prompt and answer may take
     * @throws IllegalArgumentException if λ is not finite
     */
    public DeraDecoding(LogitsSource aligned, LogitsSource reference, double lambda, SharedVocabulary vocabulary,
                        Optional<Float> plausibilityTopP, Tokenizer tokenizer, int contextLength) {
        this.lambda = lambda;
        this.plausibilityTopP = Objects.requireNonNull(plausibilityTopP, "plausibilityTopP");
        this.vocabulary = Objects.requireNonNull(vocabulary, "vocabulary");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.mixture = Dera.mixture(aligned, reference, lambda, vocabulary, plausibilityTopP, contextLength);
        this.context = new GenerationContext(mixture, tokenizer::isEndOfGeneration, contextLength);
    }

    @Override
    public String method() {
        return "dera";
    }

    /** The aligned model's weight. */
    public double lambda() {
        return lambda;
    }

    @Override
    public synchronized Decoded decode(DecodeRequest request, DecodeListener listener, Cancellation cancellation) {
        PlainDecoding.Generated g = PlainDecoding.generate(context, mixture, tokenizer, request, listener, cancellation);
        return new Decoded(g.text(), g.result().tokens(), g.usage(), g.finish(),
                new MethodReport.Dera(lambda, plausibilityTopP, vocabulary.maskedIds(), g.result()));
    }

    /** Releases the mixture's sequences and threads; the models stay open. */
    @Override
    public synchronized void close() {
        context.close();
        mixture.close();
    }
}
