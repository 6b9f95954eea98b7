package dev.rewind.models;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A long-lived generation context evaluates only what a new prompt adds to what it holds. */
class PrefixReuseTest {

    /** Counts the tokens that go through a forward pass. */
    static final class Counting implements LogitsSource {
        final LogitsSource inner;
        int evaluated;

        Counting(LogitsSource inner) {
            this.inner = inner;
        }

        @Override
        public int vocabularySize() {
            return inner.vocabularySize();
        }

        @Override
        public TokenSequence newSequence() {
            return inner.newSequence();
        }

        @Override
        public Logits forward(Batch batch) {
            evaluated += batch.tokens();
            return inner.forward(batch);
        }
    }

    @Test
    void aPromptThatExtendsThePreviousTurnEvaluatesOnlyTheNewTokens() throws Exception {
        try (WorkerPool pool = new WorkerPool(2);
             LoadedModel m = ModelLoader.load(SharedData.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 256, 16, KvType.F32)) {
            Counting counting = new Counting(runner);
            Sampler greedy = new Sampler(SamplingParams.GREEDY, runner.vocabularySize());
            GenerationContext.Options eight = new GenerationContext.Options(8, true, 0);
            int[] turn1 = m.tokenizer().encode("Once upon a time", true, true);
            try (GenerationContext context = new GenerationContext(counting, m.tokenizer()::isEndOfGeneration, 256)) {
                GenerationContext.Result first = context.generate(turn1, greedy, eight, t -> { });
                assertEquals(turn1.length + 7, counting.evaluated, "the prompt, then 7 fed-back tokens (the 8th is never fed)");

                // the next prompt is everything so far plus a new sentence
                int[] tail = m.tokenizer().encode(" The end.", false, false);
                int[] turn2 = concat(turn1, first.tokens(), tail);
                counting.evaluated = 0;
                GenerationContext.Result second = context.generate(turn2, greedy, eight, t -> { });
                assertEquals(turn1.length + 7, second.reusedTokens(), "everything the context held is reused");
                assertEquals(1 + tail.length + 7, counting.evaluated, "the last generated token, the new sentence, 7 fed-back tokens");

                // and the continuation equals a fresh context's
                try (GenerationContext fresh = new GenerationContext(runner, m.tokenizer()::isEndOfGeneration, 256)) {
                    assertArrayEquals(fresh.generate(turn2, greedy, eight, t -> { }).tokens(), second.tokens());
                }

                // a prompt that diverges early rewinds to the common prefix
                int[] other = concat(Arrays.copyOf(turn1, 3), m.tokenizer().encode(" dog", false, false));
                counting.evaluated = 0;
                GenerationContext.Result third = context.generate(other, greedy, eight, t -> { });
                assertEquals(3, third.reusedTokens());
                assertEquals(other.length - 3 + 7, counting.evaluated);
            }
        }
    }

    static int[] concat(int[]... parts) {
        int[] out = new int[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
