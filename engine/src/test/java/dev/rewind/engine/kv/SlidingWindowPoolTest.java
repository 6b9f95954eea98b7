package dev.rewind.engine.kv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A {@link PagePool} whose sliding-window layers keep only their window: under random appends,
 * forks, rewinds and closes every sequence attends exactly as its twin in a pool that keeps every
 * position (bit for bit), a long sequence's sliding pages stay bounded by the window, rewinds
 * across the window's edge are allowed exactly while the window is held, and the pages all come back.
 */
class SlidingWindowPoolTest {

    private static final int LAYERS = 4;
    private static final int KV_DIM = 8;

    /** Layers 0 and 2 slide; 1 and 3 are global. */
    private static PagePool.SlidingWindow window(int window, int margin) {
        BitSet b = new BitSet();
        b.set(0);
        b.set(2);
        return new PagePool.SlidingWindow(window, margin, b);
    }

    /** A sequence of the sliding pool, its twin in a pool that keeps everything, and the sliding pages it must have given back. */
    private static final class Pair {
        final Sequence s;
        final Sequence twin;
        int released;

        Pair(Sequence s, Sequence twin, int released) {
            this.s = s;
            this.twin = twin;
            this.released = released;
        }
    }

    private static void append(Sequence s, Sequence twin, int n, Random random) {
        s.reserve(n);
        twin.reserve(n);
        float[] k = new float[KV_DIM];
        float[] v = new float[KV_DIM];
        for (int p = s.length(); p < s.length() + n; p++) {
            for (int l = 0; l < LAYERS; l++) {
                for (int i = 0; i < KV_DIM; i++) {
                    k[i] = random.nextFloat() * 2 - 1;
                    v[i] = random.nextFloat() * 2 - 1;
                }
                s.write(l, p, k, 0, v, 0);
                twin.write(l, p, k, 0, v, 0);
            }
        }
        s.advance(n);
        twin.advance(n);
    }

    /**
     * Attention of the last position of every layer over what the next position will see (its window on
     * the sliding ones) is the same bits in both.
     */
    private static void assertSameAttention(Sequence s, Sequence twin, int window, String where) {
        assertEquals(twin.length(), s.length(), where);
        if (s.length() == 0) {
            return;
        }
        int position = s.length() - 1;
        float[] q = new float[KV_DIM];
        for (int i = 0; i < KV_DIM; i++) {
            q[i] = (i % 3) - 1 + 0.25f * i;
        }
        PagedAttention.Scratch scratch = new PagedAttention.Scratch();
        for (int l = 0; l < LAYERS; l++) {
            // the part of the next position's window that is written: what the next query reads
            int first = s.pool().isSliding(l) ? Math.min(position, Math.max(0, s.length() - window + 1)) : 0;
            float[] a = new float[KV_DIM];
            float[] b = new float[KV_DIM];
            PagedAttention.attend(s, l, position, first, 0, KV_DIM, q, 0, 1, 0.5f, 0f, a, 0, scratch);
            PagedAttention.attend(twin, l, position, first, 0, KV_DIM, q, 0, 1, 0.5f, 0f, b, 0, scratch);
            assertArrayEquals(b, a, where + " layer " + l);
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void randomForksAndRewindsAttendAsAPoolThatKeepsEverything(KvType type) {
        Random random = new Random(20261201L + type.ordinal());
        for (int pageSize : new int[]{1, 4, 16}) {
            for (int margin : new int[]{0, 5}) {
                int window = 6 + random.nextInt(20);
                try (PagePool pool = new PagePool(LAYERS, KV_DIM, pageSize, 4096 / pageSize, type, window(window, margin));
                     PagePool plain = new PagePool(LAYERS, KV_DIM, pageSize, 4096 / pageSize, type)) {
                    List<Pair> live = new ArrayList<>();
                    live.add(new Pair(pool.newSequence(), plain.newSequence(), 0));
                    int refusals = 0;
                    for (int step = 0; step < 400; step++) {
                        Pair pair = live.get(random.nextInt(live.size()));
                        String where = type + " page " + pageSize + " window " + window + " margin " + margin + " step " + step;
                        int op = random.nextInt(10);
                        if (op < 5 && pair.twin.length() < 150) {
                            append(pair.s, pair.twin, 1 + random.nextInt(random.nextBoolean() ? 3 : 40), random);
                            // pages wholly before the last position's window less the margin are given back
                            pair.released = Math.max(pair.released, Math.max(0, pair.s.length() - window - margin) / pageSize);
                        } else if (op < 7 && live.size() < 8) {
                            live.add(new Pair(pair.s.fork(), pair.twin.fork(), pair.released));
                        } else if (op < 9) {
                            int to = random.nextInt(pair.twin.length() + 1);
                            boolean allowed = to == 0 || Math.max(0, to - window + 1) / pageSize >= pair.released;
                            assertEquals(allowed, pair.s.canTruncate(to), where + " truncate " + pair.twin.length() + " → " + to);
                            if (allowed) {
                                pair.s.truncate(to);
                                pair.twin.truncate(to);
                                pair.released = to == 0 ? 0 : pair.released;
                            } else {
                                int length = pair.s.length();
                                int held = pair.s.slidingPageCount();
                                assertThrows(IllegalStateException.class, () -> pair.s.truncate(to), where);
                                assertEquals(length, pair.s.length(), where + ": a refused rewind changes nothing");
                                assertEquals(held, pair.s.slidingPageCount(), where);
                                refusals++;
                            }
                        } else if (live.size() > 1) {
                            pair.s.close();
                            pair.twin.close();
                            live.remove(pair);
                            continue;
                        }
                        for (int i = 0; i < pair.s.pageCount(); i++) {
                            assertEquals(i < pair.released, pair.s.slidingPage(i) == -1, where + ": sliding page " + i + " of " + pair.s);
                        }
                        assertSameAttention(pair.s, pair.twin, window, where);
                        int bound = Math.ceilDiv(window + margin, pageSize) + 1 + Math.ceilDiv(40, pageSize);
                        assertTrue(pair.s.slidingPageCount() <= bound, where + ": " + pair.s.slidingPageCount()
                                + " sliding pages for a window of " + window);
                        assertTrue(pool.slidingPagesInUse() <= pool.pagesInUse(), where);
                        assertEquals(plain.pagesInUse(), pool.pagesInUse(), where + ": the global layers keep every position");
                    }
                    assertTrue(refusals > 0, "the random walk should try a rewind past the window");
                    for (Pair pair : live) {
                        assertSameAttention(pair.s, pair.twin, window, "end");
                        pair.s.close();
                        pair.twin.close();
                    }
                    assertEquals(0, pool.pagesInUse());
                    assertEquals(0, pool.slidingPagesInUse());
                }
            }
        }
    }

    @Test
    void aLongSequenceHoldsOnlyItsWindowInTheSlidingLayers() {
        int window = 100;
        int pageSize = 16;
        try (PagePool pool = new PagePool(LAYERS, KV_DIM, pageSize, 8192 / pageSize, KvType.F32, window(window, 0));
             PagePool plain = new PagePool(LAYERS, KV_DIM, pageSize, 8192 / pageSize, KvType.F32);
             Sequence s = pool.newSequence(); Sequence twin = plain.newSequence()) {
            Random random = new Random(7);
            int bound = Math.ceilDiv(window, pageSize) + 1;
            while (s.length() < 8192) {
                append(s, twin, Math.min(8192 - s.length(), 1 + random.nextInt(3)), random);
                assertTrue(s.slidingPageCount() <= bound + 1, s + " for a window of " + window);
                if (s.length() >= 2 * window) {
                    assertTrue(s.slidingPageCount() >= Math.ceilDiv(window, pageSize), s + ": the window must stay");
                }
            }
            assertEquals(8192 / pageSize, s.pageCount(), "global layers keep every position");
            assertTrue(pool.peakSlidingPagesInUse() <= bound + 1, "peak " + pool.peakSlidingPagesInUse());
            assertSameAttention(s, twin, window, "after 8192 positions");
        }
    }

    @Test
    void aRewindAcrossTheWindowEdgeIsAllowedExactlyWhileTheWindowIsHeld() {
        int window = 100;
        int pageSize = 16;
        try (PagePool pool = new PagePool(LAYERS, KV_DIM, pageSize, 256, KvType.F32, window(window, 0));
             PagePool plain = new PagePool(LAYERS, KV_DIM, pageSize, 256, KvType.F32)) {
            Random random = new Random(11);
            Sequence s = pool.newSequence();
            Sequence twin = plain.newSequence();
            append(s, twin, 1000, random);  // one batch: nothing is given back before it is written
            append(s, twin, 1, random);     // the window of position 1000 is 901..1000: pages before 896 go
            assertEquals(896 / pageSize, s.pageCount() - s.slidingPageCount());
            // position n sees n − 99 ..: held while (n − 99) / 16 ≥ 56, i.e. n ≥ 995
            assertTrue(s.canTruncate(995));
            assertFalse(s.canTruncate(994));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.truncate(994));
            assertTrue(e.getMessage().contains("sliding-window layers no longer hold positions before 896"), e.getMessage());
            assertEquals(1001, s.length());

            // a fork rewound to the edge and continued differently: both attend as their twins
            Sequence f = s.fork();
            Sequence fTwin = twin.fork();
            f.truncate(995);
            fTwin.truncate(995);
            append(f, fTwin, 37, random);
            append(s, twin, 5, random);
            assertSameAttention(f, fTwin, window, "fork");
            assertSameAttention(s, twin, window, "trunk");
            assertFalse(f.canTruncate(994), "the fork shares the trunk's history, given back pages included");

            // back to the start is always possible
            s.truncate(0);
            twin.truncate(0);
            assertEquals(0, s.slidingPageCount());
            append(s, twin, 300, random);
            assertSameAttention(s, twin, window, "after a rewind to 0");
            s.close();
            f.close();
            twin.close();
            fTwin.close();
            assertEquals(0, pool.pagesInUse());
            assertEquals(0, pool.slidingPagesInUse());
        }
    }

    /**
     * The memory figure of docs/ARCHITECTURE.md: a Gemma 3 1B-shaped cache (26 layers, 22 of them
     * sliding with a window of 512, one KV head of 256, F32) holding one sequence of 8192 positions.
     */
    @Test
    void gemma3OneBShapeAt8kTokens() {
        int layers = 26;
        int kvDim = 256;
        int tokens = 8192;
        BitSet sliding = new BitSet();
        for (int l = 0; l < layers; l++) {
            if (l % 6 < 5) {
                sliding.set(l);
            }
        }
        long before = PagePool.bytesFor(layers, kvDim, 16, tokens, KvType.F32);
        assertEquals(53_248L * tokens, before); // 26 layers × (K + V) × 256 × 4 bytes per token
        try (PagePool pool = PagePool.forTokens(layers, kvDim, 16, tokens, KvType.F32,
                new PagePool.SlidingWindow(512, PagePool.DEFAULT_REWIND_MARGIN, sliding));
             Sequence s = pool.newSequence()) {
            float[] row = new float[kvDim];
            for (int done = 0; done < tokens; done += 256) { // prompt batches of 256, as GenerationContext evaluates
                s.reserve(256);
                for (int p = done; p < done + 256; p++) {
                    for (int l = 0; l < layers; l++) {
                        s.write(l, p, row, 0, row, 0);
                    }
                }
                s.advance(256);
            }
            long after = pool.allocatedBytes();
            // 4 global layers × 8192 positions × 2 KiB, plus the sliding pages allocated: two chunks of 38 pages
            // of 22 layers × 16 positions × 2 KiB (window 512 + margin 64 + a batch of 256 at the peak)
            assertEquals(4L * 2048 * tokens + 2L * 38 * 22 * 16 * 2048, after);
            assertTrue(pool.peakSlidingPagesInUse() <= Math.ceilDiv(512 + 64, 16) + 1 + 256 / 16);
        }
    }
}
