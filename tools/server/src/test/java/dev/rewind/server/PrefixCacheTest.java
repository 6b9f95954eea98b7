package dev.rewind.server;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The radix tree over real pages (no model: sequences are reserved and advanced, their contents unused). */
class PrefixCacheTest {

    private static Sequence filled(PagePool pool, int length) {
        Sequence s = pool.newSequence();
        s.reserve(length);
        s.advance(length);
        return s;
    }

    private static int[] tokens(int... t) {
        return t;
    }

    @Test
    void findsTheLongestPrefixAndForksIt() {
        try (PagePool pool = new PagePool(1, 4, 4, 64, KvType.F32); PrefixCache cache = new PrefixCache(16)) {
            int[] a = tokens(1, 2, 3, 4, 5, 6, 7, 8, 9);
            cache.insert(a, filled(pool, 9));
            int[] b = tokens(1, 2, 3, 4, 50, 60);
            cache.insert(b, filled(pool, 6));
            assertEquals(2, cache.entries());

            PrefixCache.Match m = cache.lookup(tokens(1, 2, 3, 4, 5, 6, 70), 6);
            assertEquals(6, m.tokens());
            assertEquals(6, m.sequence().length());
            m.sequence().close();
            PrefixCache.Match partial = cache.lookup(tokens(1, 2, 3, 9), 4);
            assertEquals(3, partial.tokens());
            partial.sequence().close();
            assertNull(cache.lookup(tokens(7, 7), 2));
            assertEquals(4, cache.matchLength(tokens(1, 2, 3, 4, 50 + 1), 5));

            // a longer entry covers the shorter one on its path
            cache.insert(tokens(1, 2, 3, 4, 50, 60, 70, 80), filled(pool, 8));
            assertEquals(2, cache.entries());
            cache.clear();
            assertEquals(0, pool.pagesInUse(), "the cache gave every page back");
        }
    }

    @Test
    void evictsTheLeastRecentlyUsedBeyondItsSize() {
        try (PagePool pool = new PagePool(1, 4, 4, 64, KvType.F32); PrefixCache cache = new PrefixCache(2)) {
            cache.insert(tokens(1, 1, 1), filled(pool, 3));
            cache.insert(tokens(2, 2, 2), filled(pool, 3));
            cache.lookup(tokens(1, 1, 1), 3).sequence().close(); // 1 is now more recent than 2
            cache.insert(tokens(3, 3, 3), filled(pool, 3));
            assertEquals(2, cache.entries());
            assertEquals(0, cache.matchLength(tokens(2, 2, 2), 3), "the least recently used entry went");
            assertEquals(3, cache.matchLength(tokens(1, 1, 1), 3));
            cache.clear();
            assertEquals(0, pool.pagesInUse());
        }
    }
}
