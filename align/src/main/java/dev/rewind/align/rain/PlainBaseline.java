package dev.rewind.align.rain;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;

/**
 * Plain greedy generation of the same prompt and answer length, measured the same way as a RAIN run,
 * so its overhead can be stated: the cost report's denominator.
 */
public final class PlainBaseline {

    /**
     * What the plain run cost.
     *
     * @param tokens       tokens run through a forward pass (the prompt, then one per generated token but the last)
     * @param kvPagesPeak  KV pages its sequence held at the end (the most: it only grows); 0 for a source
     *                     whose sequences are not a model's KV sequences
     * @param seconds      wall time
     */
    public record Cost(long tokens, int kvPagesPeak, double seconds) {
    }

    private PlainBaseline() {
    }

    /** Generates {@code newTokens} tokens greedily after {@code prompt} (end tokens do not stop it) on a new sequence. */
    public static Cost measure(LogitsSource source, int[] prompt, int newTokens) {
        CountingSource counted = new CountingSource(source);
        long start = System.nanoTime();
        int pages;
        try (GenerationContext g = new GenerationContext(counted, id -> false, prompt.length + newTokens + 1)) {
            g.generate(prompt, new Sampler(SamplingParams.GREEDY, source.vocabularySize()),
                    new GenerationContext.Options(newTokens, true, 0), t -> { });
            pages = g.sequence() instanceof Sequence kv ? kv.pageCount() : 0;
        }
        return new Cost(counted.tokens(), pages, (System.nanoTime() - start) / 1e9);
    }
}
