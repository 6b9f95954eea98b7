package dev.rewind.models;

import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The copy-on-write cache and the batched forward pass against plain single-sequence evaluation.
 * Bit-equality where the same kernels run on the same numbers (fork, rewind); a stated tolerance
 * where batching changes only the summation order (the batched matmul dequantizes a tile of rows
 * first, then takes float dot products).
 */
class BatchedForwardTest {

    /** Batched vs single logits: the kernels differ in summation order only; logits have std ≈ 0.7. */
    static final float BATCH_TOLERANCE = 1e-4f;

    static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396};
    static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    static LoadedModel load(String name) throws IOException {
        return ModelLoader.load(SharedData.model(name + ".gguf"), pool);
    }

    static float[] last(ModelRunner runner, Sequence seq, int... tokens) {
        return runner.forward(Batch.single(seq, tokens)).row(0).clone();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 4, 16})
    void forkThenDifferentContinuationsGivesExactlyTheLogitsOfIndependentSequences(int pageSize) throws IOException {
        try (LoadedModel m = load("tiny-llama-F32");
             ModelRunner runner = new ModelRunner(m.model(), 256, pageSize, KvType.F32)) {
            Sequence trunk = runner.newSequence();
            last(runner, trunk, PROMPT);
            Sequence branch = trunk.fork();
            float[] a1 = last(runner, trunk, 100);
            float[] b1 = last(runner, branch, 200);
            float[] a2 = last(runner, trunk, 101);
            float[] b2 = last(runner, branch, 201);

            Sequence soloA = runner.newSequence();
            last(runner, soloA, PROMPT);
            Sequence soloB = runner.newSequence();
            last(runner, soloB, PROMPT);
            assertArrayEquals(last(runner, soloA, 100), a1);
            assertArrayEquals(last(runner, soloB, 200), b1);
            assertArrayEquals(last(runner, soloA, 101), a2);
            assertArrayEquals(last(runner, soloB, 201), b2);
            for (Sequence s : List.of(trunk, branch, soloA, soloB)) {
                s.close();
            }
            assertEquals(0, runner.pagePool().pagesInUse(), "every page is back");
        }
    }

    @Test
    void truncateThenAppendEqualsNeverHavingGoneThere() throws IOException {
        try (LoadedModel m = load("tiny-llama-Q8_0");
             ModelRunner runner = new ModelRunner(m.model(), 256, 4, KvType.F32);
             Sequence wandering = runner.newSequence();
             Sequence straight = runner.newSequence()) {
            last(runner, wandering, PROMPT);
            last(runner, wandering, 300, 301, 302, 303, 304, 305, 306);
            wandering.truncate(PROMPT.length - 2); // into the middle of a page, below the prompt's end
            float[] after = last(runner, wandering, PROMPT[PROMPT.length - 2], PROMPT[PROMPT.length - 1]);
            last(runner, straight, java.util.Arrays.copyOf(PROMPT, PROMPT.length - 2));
            assertArrayEquals(last(runner, straight, PROMPT[PROMPT.length - 2], PROMPT[PROMPT.length - 1]), after);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama-F32", "tiny-llama-F16", "tiny-llama-BF16", "tiny-llama-Q8_0", "tiny-llama-Q4_0",
            "tiny-qwen2-Q4_0", "tiny-gemma-Q8_0", "tiny-phi3-F16", "stories260K"})
    void aBatchOfKSequencesEqualsKSingleForwards(String name) throws IOException {
        try (LoadedModel m = load(name);
             ModelRunner runner = new ModelRunner(m.model(), 1024, 16, KvType.F32)) {
            int k = 5;
            // k branches of one trunk, each one step further with its own token, evaluated together...
            Sequence trunk = runner.newSequence();
            last(runner, trunk, PROMPT);
            List<Sequence> branches = new ArrayList<>();
            int[] tokens = new int[k];
            for (int i = 0; i < k; i++) {
                branches.add(trunk.fork());
                tokens[i] = 260 + 37 * i;
            }
            Batch batch = Batch.step(branches, tokens);
            Logits together = runner.forward(batch);
            List<float[]> batched = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                batched.add(together.row(batch, i, 0).clone());
            }
            // ...against each one alone
            for (int i = 0; i < k; i++) {
                Sequence alone = trunk.fork();
                float[] single = last(runner, alone, tokens[i]);
                assertClose(single, batched.get(i), name + " branch " + i);
                alone.close();
            }
            // and a mixed batch: a prompt prefill beside two one-token steps
            Sequence fresh = runner.newSequence();
            Sequence b0 = branches.get(0);
            Sequence b1 = branches.get(1);
            Batch mixed = Batch.of(List.of(new Batch.Entry(fresh, PROMPT, Batch.Wanted.ALL),
                    new Batch.Entry(b0, new int[]{7}, Batch.Wanted.LAST), new Batch.Entry(b1, new int[]{8, 9}, Batch.Wanted.LAST)));
            Logits mixedOut = runner.forward(mixed);
            float[] freshLast = mixedOut.row(mixed, 0, PROMPT.length - 1).clone();
            float[] b0Row = mixedOut.row(mixed, 1, 0).clone();
            float[] b1Row = mixedOut.row(mixed, 2, 0).clone();
            Sequence check = runner.newSequence();
            assertClose(last(runner, check, PROMPT), freshLast, name + " prefill inside a mixed batch");
            b0.truncate(b0.length() - 1);
            assertClose(last(runner, b0, 7), b0Row, name + " step inside a mixed batch");
            b1.truncate(b1.length() - 2);
            assertClose(last(runner, b1, 8, 9), b1Row, name + " two tokens inside a mixed batch");
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= BATCH_TOLERANCE, what + ": max |Δ| " + worst + " > " + BATCH_TOLERANCE);
    }

    @Test
    void runningOutOfPagesIsTypedAndLeavesTheOtherSequencesUsable() throws IOException {
        try (LoadedModel m = load("tiny-llama-F32");
             ModelRunner runner = new ModelRunner(m.model(), 48, 16, KvType.F32)) {
            Sequence a = runner.newSequence();
            float[] aBefore = last(runner, a, PROMPT); // 19 tokens: 2 of the 3 pages
            Sequence b = runner.newSequence();
            int free = runner.pagePool().freePages();
            assertThrows(KvCacheFullException.class, () -> runner.forward(Batch.of(List.of(
                    new Batch.Entry(a, new int[]{5}, Batch.Wanted.LAST),
                    new Batch.Entry(b, PROMPT, Batch.Wanted.LAST)))));
            assertEquals(free, runner.pagePool().freePages(), "a refused batch takes no page");
            assertEquals(PROMPT.length, a.length());
            assertEquals(0, b.length());
            // both still work: a continues where it was, b fits once a gives pages back
            float[] aNext = last(runner, a, 5);
            Sequence reference = runner.newSequence();
            assertThrows(KvCacheFullException.class, () -> last(runner, reference, PROMPT));
            a.truncate(PROMPT.length);
            assertArrayEquals(aBefore, aBefore);
            assertArrayEquals(aNext, last(runner, a, 5), "a's cache was left intact by the refused batch");
            a.close();
            assertEquals(PROMPT.length, last(runner, b, PROMPT).length > 0 ? b.length() : -1);
        }
    }

    @Test
    void f16KvCacheStaysCloseToF32() throws IOException {
        try (LoadedModel m = load("stories260K");
             ModelRunner f32 = new ModelRunner(m.model(), 64, 16, KvType.F32);
             ModelRunner f16 = new ModelRunner(m.model(), 64, 16, KvType.F16)) {
            float[] a = last(f32, f32.newSequence(), PROMPT);
            float[] b = last(f16, f16.newSequence(), PROMPT);
            float worst = 0;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]));
            }
            // halves keep 11 significant bits: ~5e-4 relative on each key and value
            assertTrue(worst < 0.05f, "F16 KV moved a logit by " + worst);
            assertTrue(worst > 0f, "F16 KV must actually round something");
        }
    }
}
