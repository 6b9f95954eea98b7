package dev.rewind.models;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 9, D8: {@code --max-tokens 2000000000} sized an {@code int[prompt + maxTokens]} before anything
 * else (an OutOfMemoryError under the test's 2 GiB heap). What generation allocates is bounded by the
 * context, whatever the limit on new tokens.
 */
class GenerationLimitsTest {

    @Test
    void aHugeTokenLimitStopsAtTheEndOfTheContextWithoutSizingAnythingFromIt() throws Exception {
        try (WorkerPool pool = new WorkerPool(1);
             LoadedModel m = ModelLoader.load(SharedData.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 32, 16, KvType.F32)) {
            Sampler greedy = new Sampler(SamplingParams.GREEDY, runner.vocabularySize());
            int[] prompt = m.tokenizer().encode("Once upon a time", true, true);
            for (int limit : new int[]{Integer.MAX_VALUE, 2_000_000_000, Integer.MAX_VALUE - prompt.length}) {
                try (GenerationContext context = new GenerationContext(runner, m.tokenizer()::isEndOfGeneration, 32)) {
                    GenerationContext.Result r = context.generate(prompt, greedy, new GenerationContext.Options(limit, true, 0), t -> { });
                    assertEquals(GenerationContext.StopReason.CONTEXT_FULL, r.stop());
                    assertEquals(32 - prompt.length, r.tokens().length);
                }
            }
        }
    }

    @Test
    void aPromptThatFillsTheContextStillGetsItsOneToken() throws Exception {
        try (WorkerPool pool = new WorkerPool(1);
             LoadedModel m = ModelLoader.load(SharedData.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 16, 16, KvType.F32)) {
            Sampler greedy = new Sampler(SamplingParams.GREEDY, runner.vocabularySize());
            int[] prompt = Arrays.copyOf(m.tokenizer().encode("Once upon a time there was a little girl named Lily", true, true), 16);
            try (GenerationContext context = new GenerationContext(runner, m.tokenizer()::isEndOfGeneration, 16)) {
                GenerationContext.Result r = context.generate(prompt, greedy, new GenerationContext.Options(Integer.MAX_VALUE, true, 0), t -> { });
                assertEquals(GenerationContext.StopReason.CONTEXT_FULL, r.stop());
                assertEquals(1, r.tokens().length);
            }
        }
    }
}
