package dev.rewind.align.aligner;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.generate.GenerationContext.TokenListener;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Aligner (Ji et al., NeurIPS 2024): a second, smaller model rewrites an upstream answer. The question
 * and answer go into the checkpoint's {@link AlignerTemplate}; the Aligner generates from it (greedily,
 * as its model card does, unless told otherwise) and only the completion is returned. Because the
 * Aligner sees only text, the upstream can be any model or service with any tokenizer.
 *
 * <p>One generation context lives across calls, so the template's fixed beginning is evaluated once and
 * reused by every later question. Not thread-safe.
 */
public final class Aligner implements AutoCloseable {

    /**
     * How the Aligner decodes.
     *
     * @param sampling      sampling parameters ({@link SamplingParams#GREEDY} is the published setting)
     * @param maxTokens     most tokens of a correction
     * @param ignoreEos     keep going after an end token
     * @param topLogits     record the K highest logits of every step (0: none)
     * @param contextLength the Aligner's context: prompt and correction together
     */
    public record Settings(SamplingParams sampling, int maxTokens, boolean ignoreEos, int topLogits, int contextLength) {
        /** @throws IllegalArgumentException if a count is out of range */
        public Settings {
            Objects.requireNonNull(sampling, "sampling");
            if (maxTokens < 0 || topLogits < 0) {
                throw new IllegalArgumentException("max tokens and top logits must be >= 0");
            }
            if (contextLength < 2) {
                throw new IllegalArgumentException("the aligner's context must hold at least 2 tokens, got " + contextLength);
            }
        }

        /**
         * Prompt tokens allowed: the context minus room for the correction, which is
         * {@code maxTokens} but at most half the context.
         */
        public int promptBudget() {
            return promptBudget(maxTokens);
        }

        /** {@link #promptBudget()} for a correction of at most {@code maxNewTokens} tokens. */
        public int promptBudget(int maxNewTokens) {
            return contextLength - Math.min(maxNewTokens, contextLength / 2);
        }
    }

    private final LogitsSource model;
    private final Tokenizer tokenizer;
    private final AlignerTemplate template;
    private final Settings settings;
    private final PromptFitter fitter;
    private final GenerationContext context;

    /**
     * @param model     the Aligner model
     * @param tokenizer its tokenizer
     * @param template  the instruction it was trained on
     */
    public Aligner(LogitsSource model, Tokenizer tokenizer, AlignerTemplate template, Settings settings) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.settings = settings;
        this.fitter = new PromptFitter(template, tokenizer);
        this.context = new GenerationContext(model, tokenizer::isEndOfGeneration, settings.contextLength());
    }

    /** The template the prompts are built from. */
    public AlignerTemplate template() {
        return template;
    }

    /**
     * The Aligner's prompt for a question and answer, as token ids (BOS first), without fitting it to
     * the context.
     */
    public int[] promptIds(String question, String answer) {
        return fitter.encode(question, answer);
    }

    /**
     * Corrects one answer. An answer too long for the context is cut from the end first (reported in
     * {@link Correction#truncated()}).
     *
     * @throws IllegalArgumentException if the question alone does not fit the context
     */
    public Correction correct(String question, String answer) {
        StreamDecoder decoder = tokenizer.newStreamDecoder();
        StringBuilder text = new StringBuilder();
        Generated g = generate(question, answer, settings.sampling(),
                new GenerationContext.Options(settings.maxTokens(), settings.ignoreEos(), settings.topLogits()), token -> {
                    if (settings.ignoreEos() || !tokenizer.isEndOfGeneration(token)) {
                        text.append(decoder.accept(token));
                    }
                }, () -> false);
        text.append(decoder.flush());
        return new Correction(text.toString().strip(), g.truncated(), g.answerUsed(), g.result());
    }

    /**
     * The Aligner's generation for one question and answer, with a request's own decoding: the prompt
     * (cut to leave room for {@code options.maxTokens()}) and the generation, each token going to
     * {@code listener} as it is chosen, stopped early when {@code halt} is true. Building the corrected
     * text from the tokens is the caller's.
     *
     * @throws IllegalArgumentException if the question alone does not fit the context
     */
    public Generated generate(String question, String answer, SamplingParams sampling, GenerationContext.Options options,
                              TokenListener listener, BooleanSupplier halt) {
        PromptFitter.Fitted prompt = fitter.fit(question, answer, settings.promptBudget(options.maxTokens()));
        Sampler sampler = new Sampler(sampling, model.vocabularySize());
        return new Generated(prompt.answer(), prompt.truncated(), context.generate(prompt.ids(), sampler, options, listener, halt));
    }

    /**
     * One generation of the Aligner.
     *
     * @param answerUsed the answer as it went into the prompt (the upstream answer, or its beginning)
     * @param truncated  whether the answer was cut to fit the context
     * @param result     the engine's generation (its prompt tokens are the Aligner's prompt)
     */
    public record Generated(String answerUsed, boolean truncated, GenerationContext.Result result) {
    }

    /** The Aligner's tokenizer. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** How it decodes by default. */
    public Settings settings() {
        return settings;
    }

    /** Releases the Aligner's sequence (not the model). */
    @Override
    public void close() {
        context.close();
    }
}
