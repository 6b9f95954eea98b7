package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Against recomputation: every evaluated position is recorded by its whole prefix (read back from the
 * paged cache by {@link FakeModel}), so the test sees exactly what was evaluated and how often.
 */
class RainReuseTest {

    private static Tokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() throws IOException {
        tokenizer = ModelLoader.loadTokenizer(SharedModels.model("stories260K.gguf"));
    }

    @Test
    void noPrefixIsEvaluatedTwiceExceptDiscardedSimulationTails() {
        try (FakeModel generator = new FakeModel(512, 4, 16384, FakeModel.peaked(512, 2f));
             FakeModel judgeModel = new FakeModel(512, 16, 16384, FakeModel.peaked(512, 0.5f));
             ModelJudge judge = new ModelJudge(judgeModel, tokenizer, JudgeTemplate.HH)) {
            RainParams params = RainPreset.HH.builder().seed(5).maxNewTokens(20).build();
            Rain rain = new Rain(generator, tokenizer, judge, new ScriptedEmbedder(32), params, RainPreset.HH.conversation(), 8192);
            long[] simulated = {0};
            RainResult r = rain.run("How do I bake bread?", false, search -> simulated[0] = search.simulatedTokens());

            // the generator: the committed prompt and answer were each evaluated exactly once ...
            int[] committed = RainModelTest.concat(r.promptTokens(), r.answerTokens());
            for (int i = 1; i <= committed.length - 1; i++) {
                assertEquals(1, generator.evaluations(Arrays.copyOf(committed, i)), "committed position " + (i - 1));
            }
            // ... and a position was evaluated again only when a simulation had thrown it away
            long repeats = repeats(generator.evaluated());
            assertTrue(repeats <= simulated[0], repeats + " repeats, " + simulated[0] + " simulated tokens");
            assertEquals(r.cost().generatorTokens(), generator.tokens());

            // the judge: its few-shot prefix was evaluated once for the whole request
            int[] fewShot = tokenizer.encode(Templates.HH_JUDGE, true, false);
            for (int i = 1; i < fewShot.length - 1; i++) {
                assertEquals(1, judgeModel.evaluations(Arrays.copyOf(fewShot, i)), "few-shot position " + (i - 1));
            }
            // recomputing each judge prompt from scratch, as the official code does, costs many times more
            long judgements = judgeModel.logitRows() / 2; // each judgement reads two rows, one per option order
            long fromScratch = judgements * 2 * (fewShot.length + 120);
            assertTrue(r.cost().judgeTokens() * 5 < fromScratch, r.cost().judgeTokens() + " judge tokens vs " + fromScratch);
            assertTrue(r.commits() >= 4);

            // a second request on the same judge evaluates no few-shot position again
            rain.run("Tell me a joke", false);
            for (int i = 1; i < fewShot.length - 1; i++) {
                assertEquals(1, judgeModel.evaluations(Arrays.copyOf(fewShot, i)), "few-shot position " + (i - 1));
            }
        }
    }

    private static long repeats(Map<FakeModel.Prefix, Integer> evaluated) {
        long n = 0;
        for (int count : evaluated.values()) {
            n += count - 1;
        }
        return n;
    }


}
