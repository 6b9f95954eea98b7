package dev.rewind.align.aligner;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Aligner on stories260K: prompt ids, completion only, greedy, answers cut to fit the context. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlignerTest {

    private WorkerPool pool;
    private LoadedModel stories;

    @BeforeAll
    void load() throws Exception {
        pool = new WorkerPool(1);
        stories = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
    }

    @AfterAll
    void close() {
        stories.close();
        pool.close();
    }

    private ModelRunner runner(int capacity) {
        return new ModelRunner(stories.model(), capacity, 16, KvType.F32);
    }

    private static Aligner.Settings greedy(int maxTokens, int context) {
        return new Aligner.Settings(SamplingParams.GREEDY, maxTokens, false, 0, context);
    }

    @Test
    void thePromptIsBosThenTheTemplatedTextWithSpecialTextNotParsed() {
        Tokenizer t = stories.tokenizer();
        try (ModelRunner r = runner(128); Aligner aligner = new Aligner(r, t, AlignerTemplate.Builtin.V1, greedy(16, 128))) {
            String q = "Who is Lily?";
            String a = "Lily is a girl </s> who plays.";
            int[] expected = new int[1 + t.encode(AlignerTemplate.Builtin.V1.render(q, a), false, false).length];
            expected[0] = t.bos().orElseThrow();
            System.arraycopy(t.encode(AlignerTemplate.Builtin.V1.render(q, a), false, false), 0, expected, 1, expected.length - 1);
            assertArrayEquals(expected, aligner.promptIds(q, a));
            int eos = t.eos().orElseThrow();
            assertTrue(Arrays.stream(aligner.promptIds(q, a)).noneMatch(id -> id == eos), "the answer's '</s>' text is not the EOS token");
        }
    }

    @Test
    void theOutputIsTheGreedyCompletionOnlyNeverThePrompt() {
        Tokenizer t = stories.tokenizer();
        String q = "What did Lily see?";
        String a = "She saw a big red ball.";
        try (ModelRunner r = runner(256); Aligner aligner = new Aligner(r, t, AlignerTemplate.Builtin.V1, greedy(24, 256));
             ModelRunner plain = runner(256);
             GenerationContext context = new GenerationContext(plain, t::isEndOfGeneration, 256)) {
            Correction c = aligner.correct(q, a);
            int[] prompt = aligner.promptIds(q, a);
            GenerationContext.Result expected = context.generate(prompt, new Sampler(SamplingParams.GREEDY, plain.vocabularySize()),
                    new GenerationContext.Options(24, false, 0), token -> { });
            assertArrayEquals(expected.tokens(), c.result().tokens(), "greedy from the template, token for token");
            assertArrayEquals(prompt, c.result().promptTokens());
            int[] completion = Arrays.stream(expected.tokens()).filter(id -> !t.isEndOfGeneration(id)).toArray();
            String decoded = new String(concat(t, completion), java.nio.charset.StandardCharsets.UTF_8).strip();
            assertEquals(decoded, c.text());
            assertFalse(c.text().contains("ASSISTANT:"), c.text());
            assertFalse(c.text().contains("Question-Answer"), c.text());
            assertFalse(c.truncated());
            assertEquals(a, c.answerUsed());

            Correction again = aligner.correct(q, a);
            assertEquals(c.text(), again.text(), "a second item reuses the context's prefix and gets the same result");
            assertTrue(again.result().reusedTokens() > 0, "the shared template prefix is not evaluated again");
        }
    }

    private static byte[] concat(Tokenizer t, int[] ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(t.tokenBytes(id));
        }
        return out.toByteArray();
    }

    @Test
    void anAnswerTooLongForTheContextIsCutFromTheEndAndSaysSo() {
        Tokenizer t = stories.tokenizer();
        String q = "Tell me a story.";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            sb.append("Lily played with the ball in the park ").append(i).append(". ");
        }
        String a = sb.toString().strip();
        int context = 128;
        int maxTokens = 16;
        try (ModelRunner r = runner(context); Aligner aligner = new Aligner(r, t, AlignerTemplate.Builtin.V1, greedy(maxTokens, context))) {
            assertTrue(aligner.promptIds(q, a).length > context, "the whole answer does not fit");
            Correction c = aligner.correct(q, a);
            assertTrue(c.truncated());
            assertTrue(a.startsWith(c.answerUsed()), "the beginning of the answer is kept");
            assertTrue(c.answerUsed().length() > 20 && c.answerUsed().length() < a.length(), c.answerUsed());
            int budget = context - maxTokens;
            assertTrue(c.result().promptTokens().length <= budget, c.result().promptTokens().length + " > " + budget);
            String longer = a.substring(0, Math.min(a.length(), c.answerUsed().length() + 12));
            assertTrue(aligner.promptIds(q, longer).length > budget, "a clearly longer prefix would not fit");
            assertArrayEquals(aligner.promptIds(q, c.answerUsed()), c.result().promptTokens());
        }
    }

    @Test
    void aQuestionThatAloneOverflowsTheContextIsRefusedNotCrashed() {
        Tokenizer t = stories.tokenizer();
        String q = "Why? ".repeat(200);
        try (ModelRunner r = runner(64); Aligner aligner = new Aligner(r, t, AlignerTemplate.Builtin.V1, greedy(8, 64))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> aligner.correct(q, "Because."));
            assertTrue(e.getMessage().contains("the question alone"), e.getMessage());
        }
        try (ModelRunner r = runner(256); Aligner aligner = new Aligner(r, t, AlignerTemplate.Builtin.V1, greedy(8, 256))) {
            Correction c = aligner.correct("Why?", "");
            assertFalse(c.truncated(), "an empty answer is corrected like any other");
            assertTrue(c.result().tokens().length > 0, "it generates");
        }
    }
}
