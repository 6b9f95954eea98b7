package dev.rewind.engine.kv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Random fork / append / truncate / close sequences (seeded, so a failure replays) checked against
 * a plain model: each sequence must read back exactly the rows written along its own history, and
 * once every sequence is closed every page is free with a reference count of zero.
 */
class SequencePropertyTest {

    private static final int LAYERS = 3;
    private static final int KV_DIM = 4;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A live sequence and the tokens it should hold. */
    record Live(Sequence seq, List<Integer> tokens) {
    }

    /** Appends tokens the way a forward pass does: reserve, write every layer, advance. */
    static void append(Sequence s, List<Integer> model, int... tokens) {
        s.reserve(tokens.length);
        float[] k = new float[KV_DIM];
        float[] v = new float[KV_DIM];
        for (int i = 0; i < tokens.length; i++) {
            int pos = s.length() + i;
            for (int l = 0; l < LAYERS; l++) {
                k[0] = tokens[i];
                k[1] = l;
                k[2] = pos;
                k[3] = 0.5f;
                v[0] = -tokens[i];
                v[1] = l;
                v[2] = pos;
                v[3] = -0.5f;
                s.write(l, pos, k, 0, v, 0);
            }
        }
        s.advance(tokens.length);
        for (int t : tokens) {
            model.add(t);
        }
    }

    static void assertHolds(Live live) {
        Sequence s = live.seq();
        assertEquals(live.tokens().size(), s.length(), "length");
        for (int pos = 0; pos < s.length(); pos++) {
            for (int l = 0; l < LAYERS; l++) {
                long ko = s.keyOffset(l, pos);
                long ks = s.keyStride();
                long vo = s.valueOffset(l, pos);
                MemorySegment k = s.keys(l, pos);
                MemorySegment v = s.values(l, pos);
                int token = live.tokens().get(pos);
                if (k.get(F32, ko) != token || k.get(F32, ko + ks) != l || k.get(F32, ko + 2 * ks) != pos
                        || v.get(F32, vo) != -token || v.get(F32, vo + 4) != l || v.get(F32, vo + 8) != pos) {
                    fail("sequence " + s + " layer " + l + " position " + pos + " does not hold token " + token);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void randomForkAppendTruncateCloseKeepsEverySequenceIntactAndFreesEveryPage(long seed) {
        Random random = new Random(seed);
        int pageSize = 1 + random.nextInt(8);
        try (PagePool pool = new PagePool(LAYERS, KV_DIM, pageSize, 24 + random.nextInt(40), KvType.F32)) {
            List<Live> live = new ArrayList<>();
            live.add(new Live(pool.newSequence(), new ArrayList<>()));
            int fullErrors = 0;
            for (int step = 0; step < 400; step++) {
                if (live.isEmpty()) {
                    live.add(new Live(pool.newSequence(), new ArrayList<>()));
                }
                Live target = live.get(random.nextInt(live.size()));
                switch (random.nextInt(5)) {
                    case 0 -> live.add(new Live(target.seq().fork(), new ArrayList<>(target.tokens())));
                    case 1, 2 -> {
                        int[] tokens = random.ints(1 + random.nextInt(2 * pageSize + 1), 0, 1000).toArray();
                        int freeBefore = pool.freePages();
                        int lengthBefore = target.seq().length();
                        try {
                            append(target.seq(), target.tokens(), tokens);
                        } catch (KvCacheFullException e) {
                            fullErrors++;
                            assertEquals(freeBefore, pool.freePages(), "a refused append takes no page");
                            assertEquals(lengthBefore, target.seq().length(), "a refused append changes no length");
                        }
                    }
                    case 3 -> {
                        int n = random.nextInt(target.tokens().size() + 1);
                        target.seq().truncate(n);
                        target.tokens().subList(n, target.tokens().size()).clear();
                    }
                    default -> {
                        target.seq().close();
                        live.remove(target);
                    }
                }
                for (Live l : live) {
                    assertHolds(l);
                }
                assertReferenceCountsMatch(pool, live);
            }
            for (Live l : live) {
                l.seq().close();
            }
            assertEquals(pool.pages(), pool.freePages(), "every page is free again (seed " + seed + ", " + fullErrors + " full errors)");
            for (int p = 0; p < pool.pages(); p++) {
                assertEquals(0, pool.refCount(p), "page " + p + " reference count");
            }
        }
    }

    /** Each page's count equals the number of live sequences whose table holds it. */
    private static void assertReferenceCountsMatch(PagePool pool, List<Live> live) {
        int[] expected = new int[pool.pages()];
        for (Live l : live) {
            for (int i = 0; i < l.seq().pageCount(); i++) {
                expected[l.seq().page(i)]++;
            }
        }
        int inUse = 0;
        for (int p = 0; p < pool.pages(); p++) {
            assertEquals(expected[p], pool.refCount(p), "reference count of page " + p);
            inUse += expected[p] > 0 ? 1 : 0;
        }
        assertEquals(pool.pages() - inUse, pool.freePages(), "free pages");
    }

    @Test
    void forkCostsPagesNotBytesAndSharesFullPages() {
        try (PagePool pool = new PagePool(LAYERS, KV_DIM, 4, 64, KvType.F32)) {
            Sequence a = pool.newSequence();
            List<Integer> ta = new ArrayList<>();
            append(a, ta, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
            int used = pool.pagesInUse();
            Sequence b = a.fork();
            assertEquals(used, pool.pagesInUse(), "a fork takes no page");
            List<Integer> tb = new ArrayList<>(ta);
            append(b, tb, 11);
            assertEquals(used + 1, pool.pagesInUse(), "appending to the fork copies only the shared partial page");
            append(a, ta, 12);
            assertEquals(used + 1, pool.pagesInUse(), "the original now owns its partial page alone and writes in place");
            assertHolds(new Live(a, ta));
            assertHolds(new Live(b, tb));
            a.close();
            b.close();
            assertEquals(0, pool.pagesInUse());
        }
    }

    @Test
    void runningOutOfPagesIsTypedAndLeavesOtherSequencesUsable() {
        try (PagePool pool = new PagePool(LAYERS, KV_DIM, 2, 3, KvType.F32)) {
            Sequence a = pool.newSequence();
            List<Integer> ta = new ArrayList<>();
            append(a, ta, 1, 2, 3, 4);
            Sequence b = pool.newSequence();
            List<Integer> tb = new ArrayList<>();
            KvCacheFullException e = assertThrows(KvCacheFullException.class, () -> append(b, tb, 5, 6, 7));
            assertTrue(e.getMessage().contains("full"), e.getMessage());
            assertEquals(0, b.length());
            assertEquals(1, pool.freePages());
            append(b, tb, 5, 6);
            assertHolds(new Live(a, ta));
            assertHolds(new Live(b, tb));
            a.truncate(1);
            append(b, tb, 7);
            assertHolds(new Live(b, tb));
        }
    }

    @Test
    void f16PagesStoreHalves() {
        try (PagePool pool = new PagePool(1, 2, 4, 2, KvType.F16)) {
            Sequence s = pool.newSequence();
            s.reserve(1);
            s.write(0, 0, new float[]{1.5f, 1e-3f}, 0, new float[]{-2f, 65504f}, 0);
            s.advance(1);
            ValueLayout.OfShort half = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            long k = s.keyOffset(0, 0);
            long v = s.valueOffset(0, 0);
            assertEquals(1.5f, Float.float16ToFloat(s.keys(0, 0).get(half, k)));
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(1e-3f)), Float.float16ToFloat(s.keys(0, 0).get(half, k + s.keyStride())));
            assertEquals(-2f, Float.float16ToFloat(s.values(0, 0).get(half, v)));
            assertEquals(65504f, Float.float16ToFloat(s.values(0, 0).get(half, v + 2)));
        }
    }
}
