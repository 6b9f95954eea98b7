package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RAIN end to end on the shared models, with the real self-judge and the hidden-state embedder. */
class RainModelTest {

    private static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    /**
     * A short judge of the paper's sentiment kind: the HH few-shot is 3,400 tok512 tokens, whose
     * prefill alone takes seconds on these models (JudgeTemplateTest and RainReuseTest check the HH
     * prompts themselves).
     */
    static final JudgeTemplate KIND = new JudgeTemplate.TwoOrders(
            "Consider the following story. Determine if the story is kind.\n\nStory: The dog helped the cat.\n"
                    + "Options:\n(A) The story is kind.\n(B) The story is unkind.\nThe answer is: (A) The story is kind.",
            "Options:\n(A) The story is kind.\n(B) The story is unkind.\nThe answer is: (",
            "Options:\n(A) The story is unkind.\n(B) The story is kind.\nThe answer is: (", "A", "B");

    /** Small budgets so the suite stays fast; the rules are the HH preset's. */
    private static RainParams params(long seed) {
        RainParams.Builder b = RainPreset.HH.builder().seed(seed).maxNewTokens(6);
        b.maxSearches = 6;
        b.searchFloor = 2;
        return b.build();
    }

    private record Run(RainResult result, List<Integer> scores) {
    }

    /** A self-judged run on a fresh runner, judge and embedder. */
    private static Run selfJudged(String model, long seed) throws IOException {
        try (LoadedModel m = ModelLoader.load(SharedModels.model(model), pool);
             ModelRunner runner = new ModelRunner(m.model(), 16384, 16, KvType.F32);
             ModelJudge judge = new ModelJudge(runner, m.tokenizer(), KIND);
             HiddenStateEmbedder embedder = new HiddenStateEmbedder(runner, m.tokenizer(), 256)) {
            Rain rain = new Rain(runner, m.tokenizer(), judge, embedder, params(seed), Conversation.RAW, 8192);
            RainResult r = rain.run("Once upon a time", true);
            List<Integer> scores = new ArrayList<>();
            for (RainTrace.Commit c : r.trace().orElseThrow().commits()) {
                collectScores(c.root(), scores);
            }
            judge.close();
            assertEquals(0, runner.pagePool().pagesInUse(), "the request released its tree, the judge its prefixes");
            return new Run(r, scores);
        }
    }

    private static void collectScores(RainTrace.Node n, List<Integer> out) {
        if (n.score() != null) {
            out.add(n.score());
        }
        n.children().forEach(c -> collectScores(c, out));
    }

    @Test
    void selfJudgedRainRunsToTheEndDeterministicallyOnStories260K() throws IOException {
        checkDeterministic("stories260K.gguf");
    }

    @Test
    void selfJudgedRainRunsToTheEndDeterministicallyOnATinyRandomModel() throws IOException {
        checkDeterministic("tiny-llama-F32.gguf");
    }

    private static void checkDeterministic(String model) throws IOException {
        Run a = selfJudged(model, 3);
        Run b = selfJudged(model, 3);
        RainResult r = a.result();
        assertEquals(StopReason.MAX_NEW_TOKENS, r.stop());
        assertEquals(6, r.answerTokens().length);
        assertTrue(r.commits() >= 2, "commits: " + r.commits());
        assertArrayEquals(r.answerTokens(), b.result().answerTokens());
        assertEquals(r.answer(), b.result().answer());
        assertEquals(r.searches(), b.result().searches());
        assertEquals(r.cost().generatorTokens(), b.result().cost().generatorTokens());
        assertEquals(r.cost().judgeTokens(), b.result().cost().judgeTokens());
        assertEquals(a.scores(), b.scores());
        assertTrue(a.scores().size() >= r.searches() / 2, "judged leaves: " + a.scores().size());
        for (int s : a.scores()) {
            assertTrue(s == -1 || s == 0 || s == 1, "score " + s);
        }
        assertTrue(r.cost().judgeTokens() > 0 && r.cost().embedderTokens() > 0 && r.cost().kvPagesPeak() > 0);
    }

    @Test
    void anAlwaysHarmlessJudgeCommitsTheGreedyContinuation() throws IOException {
        int n = 24;
        try (LoadedModel m = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 16384, 16, KvType.F32);
             HiddenStateEmbedder embedder = new HiddenStateEmbedder(runner, m.tokenizer(), 256)) {
            RainParams p = RainPreset.HH.builder().seed(1).maxNewTokens(n).build();
            Rain rain = new Rain(runner, m.tokenizer(), text -> Judgement.of(1), embedder, p, Conversation.RAW, 8192);
            RainResult r = rain.run("Once upon a time", false);
            int[] prompt = r.promptTokens();
            int[] greedy;
            try (GenerationContext g = new GenerationContext(runner, id -> false, 8192)) {
                greedy = g.generate(prompt, new Sampler(SamplingParams.GREEDY, runner.vocabularySize()),
                        new GenerationContext.Options(n, true, 0), t -> { }).tokens();
            }
            assertArrayEquals(greedy, r.answerTokens(), () -> "RAIN " + m.tokenizer().decode(r.answerTokens())
                    + " vs greedy " + m.tokenizer().decode(greedy));
            assertTrue(r.commits() >= 5, "spans 1, 2, 4, 10, ... : " + r.commits() + " commits");
        }
    }

    @Test
    void aSeparateJudgeModelJudgesInItsOwnCache() throws IOException {
        try (LoadedModel gen = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
             LoadedModel big = ModelLoader.load(SharedModels.model("tiny-llama-F32.gguf"), pool);
             ModelRunner genRunner = new ModelRunner(gen.model(), 16384, 16, KvType.F32);
             ModelRunner judgeRunner = new ModelRunner(big.model(), 16384, 16, KvType.F32);
             ModelJudge judge = new ModelJudge(judgeRunner, big.tokenizer(), KIND);
             HiddenStateEmbedder embedder = new HiddenStateEmbedder(judgeRunner, big.tokenizer(), 256)) {
            Rain rain = new Rain(genRunner, gen.tokenizer(), judge, embedder, params(4), Conversation.RAW, 8192);
            RainResult r = rain.run("Once upon a time", false);
            assertEquals(StopReason.MAX_NEW_TOKENS, r.stop());
            assertTrue(r.cost().judgeTokens() > 0 && r.cost().embedderTokens() > 0);
            assertEquals(0, genRunner.pagePool().pagesInUse(), "nothing of the judge in the generator's cache");
            assertTrue(judgeRunner.pagePool().pagesInUse() > 0, "the judge keeps its few-shot and recent texts");
            assertTrue(r.cost().kvPagesPeak() > judgeRunner.pagePool().pagesInUse(), "peaks of both caches add up");
        }
    }

    @Test
    void theCommittedCacheGivesTheSameLogitsAfterEveryInnerIteration() throws IOException {
        try (LoadedModel m = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 16384, 16, KvType.F32);
             ModelJudge judge = new ModelJudge(runner, m.tokenizer(), KIND);
             HiddenStateEmbedder embedder = new HiddenStateEmbedder(runner, m.tokenizer(), 256)) {
            Rain rain = new Rain(runner, m.tokenizer(), judge, embedder, params(9), Conversation.RAW, 8192);
            java.util.Map<SearchNode, float[]> reference = new java.util.IdentityHashMap<>();
            List<String> failures = new ArrayList<>();
            RainResult r = rain.run("Once upon a time", false, search -> {
                SearchNode root = search.root();
                int[] committed = search.committedTokens();
                if (root.pending.length > 0 || root.sequence.length() != committed.length) {
                    failures.add("the root holds " + root.sequence.length() + " of " + committed.length + " committed positions");
                    return;
                }
                // re-evaluate the last committed token on a fork: the cache below it must be untouched
                var probe = root.sequence.fork();
                try {
                    probe.truncate(committed.length - 1);
                    float[] logits = runner.forward(dev.rewind.engine.logits.Batch.single(probe, committed[committed.length - 1])).row(0).clone();
                    float[] first = reference.putIfAbsent(root, logits);
                    if (first != null && !Arrays.equals(first, logits)) {
                        failures.add("the committed state's logits changed after search " + search.searches());
                    }
                } finally {
                    probe.close();
                }
            });
            assertEquals(List.of(), failures);
            assertTrue(r.commits() >= 2 && reference.size() >= 2, "several committed states checked");
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
