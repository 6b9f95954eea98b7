package dev.rewind.models;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gemma 2 and Gemma 3 with sliding-window KV pages (window 8 in both tiny files, so sequences of a
 * few hundred tokens give most pages back): the logits are the same bits as with a cache that keeps
 * every position, along a long sequence, after a fork rewound to the window's edge, and through
 * {@link GenerationContext}, which evaluates a prompt again from the start when a rewind would need
 * positions the sliding layers gave back.
 */
class SlidingWindowModelTest {

    private static final int PAGE = 4;
    static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    private static int[] randomTokens(Random random, int n, int vocabulary) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(vocabulary);
        }
        return t;
    }

    /** Feeds {@code tokens} as a prefill of {@code prefill} then one at a time; the logits of every step. */
    private static float[][] run(LanguageModel model, Workspace w, Sequence s, int[] tokens, int prefill) {
        float[][] out = new float[tokens.length - prefill + 1][];
        out[0] = model.forward(Batch.of(List.of(new Batch.Entry(s, Arrays.copyOf(tokens, prefill), Batch.Wanted.LAST))), w).row(0).clone();
        for (int i = prefill; i < tokens.length; i++) {
            out[i - prefill + 1] = model.forward(Batch.single(s, tokens[i]), w).row(0).clone();
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gemma2-F32.gguf", "tiny-gemma3-F32.gguf"})
    void slidingPagesGiveTheSameLogitsAsACacheThatKeepsEverything(String file) throws Exception {
        try (LoadedModel loaded = ModelLoader.load(SharedData.model(file), pool, Precision.EXACT)) {
            LanguageModel model = loaded.model();
            TransformerConfig c = model.config();
            PagePool.SlidingWindow window = ModelRunner.slidingWindow(c, 0);
            assertNotNull(window, file + " has sliding layers");
            assertEquals(8, window.window());
            int n = 300;
            Random random = new Random(file.hashCode());
            int[] tokens = randomTokens(random, n, c.vocabularySize());
            Workspace w = model.newWorkspace(n);
            try (PagePool sliding = PagePool.forTokens(c.layers(), c.kvDim(), PAGE, 3 * n, KvType.F32, window);
                 PagePool plain = PagePool.forTokens(c.layers(), c.kvDim(), PAGE, 3 * n, KvType.F32);
                 Sequence s = sliding.newSequence(); Sequence twin = plain.newSequence()) {
                // a long sequence: same bits, and the sliding layers hold only the window
                float[][] expected = run(model, w, twin, tokens, 20);
                float[][] actual = new float[expected.length][];
                actual[0] = model.forward(Batch.of(List.of(new Batch.Entry(s, Arrays.copyOf(tokens, 20), Batch.Wanted.LAST))), w).row(0).clone();
                for (int i = 20; i < n; i++) {
                    actual[i - 20 + 1] = model.forward(Batch.single(s, tokens[i]), w).row(0).clone();
                    assertTrue(s.slidingPageCount() <= Math.ceilDiv(8, PAGE) + 1, s + " for a window of 8");
                }
                for (int i = 0; i < expected.length; i++) {
                    assertArrayEquals(expected[i], actual[i], file + " step " + i);
                }
                assertEquals(n / PAGE, s.pageCount());
                assertTrue(s.slidingPageCount() <= 3, s.toString());

                // a fork rewound to the window's edge and continued with other tokens: same bits as a
                // cache that holds the same tokens from scratch
                int edge = n;
                while (s.canTruncate(edge - 1)) {
                    edge--;
                }
                assertTrue(edge > 0 && edge < n, "the window's edge " + edge);
                assertFalse(s.canTruncate(edge - 1));
                int[] other = randomTokens(random, 12, c.vocabularySize());
                try (Sequence f = s.fork(); Sequence fresh = plain.newSequence()) {
                    f.truncate(edge);
                    int[] history = new int[edge + other.length];
                    System.arraycopy(tokens, 0, history, 0, edge);
                    System.arraycopy(other, 0, history, edge, other.length);
                    float[][] freshLogits = run(model, w, fresh, history, edge + 1);
                    float[] first = model.forward(Batch.single(f, other[0]), w).row(0).clone();
                    assertArrayEquals(freshLogits[0], first, file + " fork at the edge, step 0");
                    for (int i = 1; i < other.length; i++) {
                        assertArrayEquals(freshLogits[i], model.forward(Batch.single(f, other[i]), w).row(0), file + " fork step " + i);
                    }
                    // the trunk is untouched by its fork's writes
                    float[] trunkNext = model.forward(Batch.single(s, other[0]), w).row(0).clone();
                    assertArrayEquals(model.forward(Batch.single(twin, other[0]), w).row(0), trunkNext, file + " trunk after the fork");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gemma3-F32.gguf"})
    void generationEvaluatesAgainWhenTheWindowOfTheSharedPrefixIsGone(String file) throws Exception {
        try (LoadedModel loaded = ModelLoader.load(SharedData.model(file), pool, Precision.EXACT)) {
            TransformerConfig c = loaded.model().config();
            Random random = new Random(5);
            int[] first = randomTokens(random, 200, c.vocabularySize());
            int[] second = Arrays.copyOf(first, 150); // shares 20 tokens, then goes elsewhere
            System.arraycopy(randomTokens(random, 130, c.vocabularySize()), 0, second, 20, 130);
            Sampler sampler = new Sampler(SamplingParams.GREEDY, c.vocabularySize());
            GenerationContext.Options options = new GenerationContext.Options(8, true, 0);
            int[] expected;
            try (ModelRunner runner = new ModelRunner(loaded.model(), 512, PagePool.DEFAULT_PAGE_SIZE, KvType.F32);
                 GenerationContext fresh = new GenerationContext(runner, t -> false, 512)) {
                expected = fresh.generate(second, sampler, options, t -> { }).tokens();
            }
            try (ModelRunner runner = new ModelRunner(loaded.model(), 512, PagePool.DEFAULT_PAGE_SIZE, KvType.F32);
                 GenerationContext context = new GenerationContext(runner, t -> false, 512)) {
                context.generate(first, sampler, options, t -> { });
                assertFalse(context.sequence().canTruncate(20), "208 positions with a window of 8 and a margin of 64 hold no window at 20");
                GenerationContext.Result again = context.generate(second, sampler, options, t -> { });
                assertEquals(0, again.reusedTokens(), "the prompt is evaluated again from the start");
                assertArrayEquals(expected, again.tokens());
                // a continuation of what the context holds still reuses it
                int[] longer = Arrays.copyOf(context.tokens(), context.tokens().length + 1);
                longer[longer.length - 1] = 3;
                GenerationContext.Result extended = context.generate(longer, sampler, options, t -> { });
                assertEquals(longer.length - 1, extended.reusedTokens());
            }
        }
    }
}
