package dev.rewind.align.aligner;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Objects;
import java.util.function.Function;

/**
 * A local model answering the questions: greedy decoding from the question's prompt, either a text
 * format (the question alone, or a layout of the user's) tokenized like {@code rewind generate}'s
 * prompt (BOS where the vocabulary wants it, special-token text parsed), or any function from the
 * question to token ids (such as the model's chat template). The model has its own tokenizer, which
 * need not be the Aligner's. Not thread-safe.
 */
public final class LocalModelUpstream implements Upstream {

    /** The placeholder of the prompt format. */
    public static final String QUESTION = "{question}";

    private final String name;
    private final LogitsSource model;
    private final Tokenizer tokenizer;
    private final Function<String, int[]> prompt;
    private final int maxTokens;
    private final GenerationContext context;

    /**
     * @param name          how output lines name it (the file name)
     * @param promptFormat  the prompt, with {@value #QUESTION} where the question goes
     * @param maxTokens     most tokens of an answer
     * @param contextLength the model's context for prompt and answer
     * @throws IllegalArgumentException if the format has no placeholder or a size is out of range
     */
    public LocalModelUpstream(String name, LogitsSource model, Tokenizer tokenizer, String promptFormat, int maxTokens,
                              int contextLength) {
        this(name, model, tokenizer, formatted(promptFormat, tokenizer), maxTokens, contextLength);
    }

    /**
     * @param name          how output lines name it (the file name)
     * @param prompt        the prompt ids of a question; a runtime exception it throws makes that
     *                      question's answer a failure carrying its message
     * @param maxTokens     most tokens of an answer
     * @param contextLength the model's context for prompt and answer
     * @throws IllegalArgumentException if a size is out of range
     */
    public LocalModelUpstream(String name, LogitsSource model, Tokenizer tokenizer, Function<String, int[]> prompt, int maxTokens,
                              int contextLength) {
        this.name = Objects.requireNonNull(name, "name");
        this.prompt = Objects.requireNonNull(prompt, "prompt");
        if (maxTokens < 1) {
            throw new IllegalArgumentException("the upstream's max tokens must be >= 1, got " + maxTokens);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
        this.context = new GenerationContext(model, tokenizer::isEndOfGeneration, contextLength);
    }

    private static Function<String, int[]> formatted(String promptFormat, Tokenizer tokenizer) {
        if (!promptFormat.contains(QUESTION)) {
            throw new IllegalArgumentException("the upstream prompt format has no " + QUESTION + " placeholder");
        }
        return question -> tokenizer.encode(promptFormat.replace(QUESTION, question), true, true);
    }

    @Override
    public String describe() {
        return name;
    }

    @Override
    public UpstreamResult answer(String question) {
        long start = System.nanoTime();
        try {
            int[] ids = prompt.apply(question);
            StreamDecoder decoder = tokenizer.newStreamDecoder();
            StringBuilder text = new StringBuilder();
            context.generate(ids, new Sampler(SamplingParams.GREEDY, model.vocabularySize()),
                    new GenerationContext.Options(maxTokens, false, 0), token -> {
                        if (!tokenizer.isEndOfGeneration(token)) {
                            text.append(decoder.accept(token));
                        }
                    });
            text.append(decoder.flush());
            return new UpstreamResult.Answer(text.toString().strip(), seconds(start));
        } catch (RuntimeException e) {
            return new UpstreamResult.Failure(name + " could not answer: " + e.getMessage(), seconds(start));
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Releases the upstream's sequence (not the model). */
    @Override
    public void close() {
        context.close();
    }
}
