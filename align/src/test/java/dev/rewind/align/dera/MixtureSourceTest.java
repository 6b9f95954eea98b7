package dev.rewind.align.dera;

import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.sampling.Candidates;
import dev.rewind.engine.sampling.Processors;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mixture as a logits source, on fake models whose logits hash the whole token history: any
 * sequence that falls out of lock-step (a truncation not replayed, a fork adopted wrongly) shows.
 */
class MixtureSourceTest {

    private static final int V = 64;

    private static float[] mixed(float[] weights, float[]... rows) {
        float[] out = new float[V];
        LogitMixer.mix(rows, weights, V, out);
        return out;
    }

    private static MixtureSource mixture(HistorySource a, HistorySource b, float wa, float wb) {
        return new MixtureSource(List.of(new MixtureComponent(a, wa), new MixtureComponent(b, wb)), V, Optional.empty(), 256);
    }

    @Test
    void theSourcesForwardPassesRunAtTheSameTime() {
        CyclicBarrier both = new CyclicBarrier(2);
        try (HistorySource a = new HistorySource(1, V, 64, both); HistorySource b = new HistorySource(2, V, 64, both);
             MixtureSource m = mixture(a, b, 0.5f, 0.5f)) {
            TokenSequence s = m.newSequence();
            for (int step = 0; step < 5; step++) {
                m.forward(Batch.single(s, step + 3)); // each source waits at the barrier for the other
            }
            for (int step = 0; step < 5; step++) {
                assertNotEquals(a.threads.get(step), b.threads.get(step), "step " + step + " ran both sources on one thread");
            }
        }
    }

    @Test
    void rowsAreTheWeightedSumOfTheSourcesRows() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             MixtureSource m = mixture(a, b, 2.5f, -1.5f)) {
            TokenSequence s = m.newSequence();
            int[] prompt = {1, 5, 9, 13};
            Logits all = m.forward(Batch.of(List.of(new Batch.Entry(s, prompt, Batch.Wanted.ALL))));
            assertEquals(4, all.rows());
            for (int k = 0; k < 4; k++) {
                int[] h = java.util.Arrays.copyOf(prompt, k + 1);
                assertArrayEquals(mixed(new float[]{2.5f, -1.5f}, a.expected(h), b.expected(h)), all.row(k), "position " + k);
            }
            float[] next = m.forward(Batch.single(s, 20)).row(0);
            int[] h = {1, 5, 9, 13, 20};
            assertArrayEquals(mixed(new float[]{2.5f, -1.5f}, a.expected(h), b.expected(h)), next);
        }
    }

    @Test
    void aBatchOfSeveralSequencesMapsRowsToEntries() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             MixtureSource m = mixture(a, b, 0.25f, 0.75f)) {
            TokenSequence s1 = m.newSequence();
            TokenSequence s2 = m.newSequence();
            Batch batch = Batch.of(List.of(new Batch.Entry(s1, new int[]{4, 5}, Batch.Wanted.ALL),
                    new Batch.Entry(s2, new int[]{6, 7, 8}, Batch.Wanted.LAST)));
            Logits out = m.forward(batch);
            assertEquals(3, out.rows());
            float[] w = {0.25f, 0.75f};
            assertArrayEquals(mixed(w, a.expected(new int[]{4}), b.expected(new int[]{4})), out.row(batch, 0, 0));
            assertArrayEquals(mixed(w, a.expected(new int[]{4, 5}), b.expected(new int[]{4, 5})), out.row(batch, 0, 1));
            assertArrayEquals(mixed(w, a.expected(new int[]{6, 7, 8}), b.expected(new int[]{6, 7, 8})), out.row(batch, 1, 0));
        }
    }

    @Test
    void threeSourcesMix() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             HistorySource c = new HistorySource(3, V, 64, null);
             MixtureSource m = new MixtureSource(List.of(new MixtureComponent(a, 0.5f), new MixtureComponent(b, 0.3f),
                     new MixtureComponent(c, 0.2f)), V, Optional.empty(), 64)) {
            TokenSequence s = m.newSequence();
            int[] h = {2, 3};
            float[] row = m.forward(Batch.single(s, h)).row(0);
            assertArrayEquals(mixed(new float[]{0.5f, 0.3f, 0.2f}, a.expected(h), b.expected(h), c.expected(h)), row);
        }
    }

    @Test
    void aTruncationOfTheMixtureSequenceIsReplayedInEverySource() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             MixtureSource m = mixture(a, b, 0.5f, 0.5f)) {
            TokenSequence s = m.newSequence();
            m.forward(Batch.single(s, 1, 2, 3, 4, 5));
            s.truncate(2);
            float[] row = m.forward(Batch.single(s, 9)).row(0);
            int[] h = {1, 2, 9};
            assertArrayEquals(mixed(new float[]{0.5f, 0.5f}, a.expected(h), b.expected(h)), row);
            for (TokenSequence q : m.sourceSequences(s)) {
                assertEquals(3, q.length());
            }
        }
    }

    @Test
    void aForkSharesTheSourcesSequencesInsteadOfEvaluatingAgain() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             MixtureSource m = mixture(a, b, 0.5f, 0.5f)) {
            float[] w = {0.5f, 0.5f};
            TokenSequence s = m.newSequence();
            m.forward(Batch.single(s, 1, 2, 3));
            TokenSequence f = s.fork();
            float[] onFork = m.forward(Batch.single(f, 7)).row(0).clone();
            float[] onParent = m.forward(Batch.single(s, 8)).row(0).clone();
            assertArrayEquals(mixed(w, a.expected(new int[]{1, 2, 3, 7}), b.expected(new int[]{1, 2, 3, 7})), onFork);
            assertArrayEquals(mixed(w, a.expected(new int[]{1, 2, 3, 8}), b.expected(new int[]{1, 2, 3, 8})), onParent);
            assertEquals(3, a.forwards, "one forward per mixture call: the fork's prefix was not evaluated again");

            // A fork of a truncated fork, after its relatives were closed: its parts are forks, nothing is evaluated again.
            f.truncate(2);
            TokenSequence g = f.fork();
            s.close();
            f.close();
            float[] onG = m.forward(Batch.single(g, 11)).row(0);
            assertArrayEquals(mixed(w, a.expected(new int[]{1, 2, 11}), b.expected(new int[]{1, 2, 11})), onG);
            assertEquals(4, a.forwards, "the fork's parts hold its tokens: one forward for the call, none to catch up");
            for (TokenSequence q : m.sourceSequences(g)) {
                assertEquals(3, q.length());
            }
        }
    }

    @Test
    void whenOneSourceIsFullNoSequenceChanges() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource small = new HistorySource(2, V, 8, null);
             MixtureSource m = mixture(a, small, 0.5f, 0.5f)) {
            TokenSequence s = m.newSequence();
            m.forward(Batch.single(s, 1, 2, 3, 4, 5, 6));
            int aPages = a.pool().pagesInUse();
            assertThrows(KvCacheFullException.class, () -> m.forward(Batch.single(s, 7, 8, 9)));
            assertEquals(6, s.length());
            for (TokenSequence q : m.sourceSequences(s)) {
                assertEquals(6, q.length());
            }
            assertEquals(aPages, a.pool().pagesInUse(), "the source that succeeded gave its new pages back");
            float[] row = m.forward(Batch.single(s, 7)).row(0);
            int[] h = {1, 2, 3, 4, 5, 6, 7};
            assertArrayEquals(mixed(new float[]{0.5f, 0.5f}, a.expected(h), small.expected(h)), row);
        }
    }

    @Test
    void closingTheMixtureAndItsSequencesFreesTheSourcesPages() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null)) {
            try (MixtureSource m = mixture(a, b, 0.5f, 0.5f)) {
                TokenSequence s = m.newSequence();
                m.forward(Batch.single(s, 1, 2, 3, 4, 5));
                TokenSequence t = m.newSequence();
                m.forward(Batch.single(t, 1, 2));
                s.close();
                m.newSequence().close(); // any call drops the closed sequence's source sequences
                assertEquals(1, a.pool().pagesInUse(), "only t's page is left");
            }
            assertEquals(0, a.pool().pagesInUse());
            assertEquals(0, b.pool().pagesInUse());
        }
    }

    @Test
    void thePlausibilityGuardKeepsOnlyTheGuardedSourcesTopPSet() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V, 64, null);
             MixtureSource m = new MixtureSource(List.of(new MixtureComponent(a, 3f), new MixtureComponent(b, -2f)), V,
                     Optional.of(new PlausibilityGuard(0, 0.5f)), 64)) {
            TokenSequence s = m.newSequence();
            int[] h = {4, 2};
            float[] row = m.forward(Batch.single(s, h)).row(0);
            Candidates c = new Candidates(V);
            c.reset(a.expected(h));
            new Processors.TopP(0.5f, V).apply(c, new int[0], 0);
            boolean[] kept = new boolean[V];
            for (int i = 0; i < c.size(); i++) {
                kept[c.id(i)] = true;
            }
            assertTrue(c.size() > 1 && c.size() < V, "a non-trivial top-p set: " + c.size());
            float[] plain = mixed(new float[]{3f, -2f}, a.expected(h), b.expected(h));
            for (int v = 0; v < V; v++) {
                assertEquals(kept[v] ? plain[v] : Float.NEGATIVE_INFINITY, row[v], 0f, "id " + v);
            }
        }
    }

    @Test
    void badConfigurationsAreRefused() {
        try (HistorySource a = new HistorySource(1, V, 64, null); HistorySource b = new HistorySource(2, V - 1, 64, null)) {
            assertThrows(IllegalArgumentException.class, () -> mixture(a, a, 0f, 0f));
            assertThrows(IllegalArgumentException.class, () -> mixture(a, b, 0.5f, 0.5f), "shared vocabulary wider than a source");
            assertThrows(IllegalArgumentException.class, () -> new MixtureComponent(a, Float.NaN));
            assertThrows(IllegalArgumentException.class, () -> new MixtureSource(List.of(new MixtureComponent(a, 1f)), V,
                    Optional.of(new PlausibilityGuard(1, 0.9f)), 64));
            assertThrows(IllegalArgumentException.class, () -> Dera.components(a, a, Double.POSITIVE_INFINITY));
        }
    }
}
