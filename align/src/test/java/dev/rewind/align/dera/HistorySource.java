package dev.rewind.align.dera;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

/**
 * A fake model for tests: its logits are a hash of the whole token history of the sequence, so a
 * sequence that holds the wrong tokens (a missed truncation, a bad fork) gives different logits.
 * It can also wait at a barrier inside every forward call, to prove two calls overlap in time.
 */
final class HistorySource implements LogitsSource, AutoCloseable {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final long salt;
    private final int vocabulary;
    private final PagePool pool;
    private final CyclicBarrier barrier;
    final List<String> threads = new ArrayList<>();
    int forwards;

    HistorySource(long salt, int vocabulary, int capacity, CyclicBarrier barrier) {
        this.salt = salt;
        this.vocabulary = vocabulary;
        this.pool = PagePool.forTokens(1, 1, 4, capacity, KvType.F32);
        this.barrier = barrier;
    }

    PagePool pool() {
        return pool;
    }

    /** The logits this source gives after {@code history}. */
    float[] expected(int[] history) {
        long h = salt;
        for (int t : history) {
            h = h * 0x9E3779B97F4A7C15L + t + 1;
        }
        float[] row = new float[vocabulary];
        for (int v = 0; v < vocabulary; v++) {
            long x = (h + v) * 0xBF58476D1CE4E5B9L;
            x ^= x >>> 31;
            row[v] = (x % 2000) / 100f;
        }
        return row;
    }

    @Override
    public int vocabularySize() {
        return vocabulary;
    }

    @Override
    public Sequence newSequence() {
        return pool.newSequence();
    }

    @Override
    public synchronized Logits forward(Batch batch) {
        forwards++;
        threads.add(Thread.currentThread().getName());
        if (barrier != null) {
            try {
                barrier.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("the other source's forward call never ran at the same time", e);
            }
        }
        for (Batch.Entry e : batch.entries()) {
            ((Sequence) e.sequence()).reserve(e.size()); // may throw KvCacheFullException: nothing changed then
        }
        List<float[]> rows = new ArrayList<>();
        for (Batch.Entry e : batch.entries()) {
            Sequence s = (Sequence) e.sequence();
            for (int k = 0; k < e.size(); k++) {
                float[] id = {e.token(k)};
                s.write(0, s.length(), id, 0, id, 0);
                s.advance(1);
                boolean wanted = e.wanted() == Batch.Wanted.ALL || e.wanted() == Batch.Wanted.LAST && k == e.size() - 1;
                if (wanted) {
                    rows.add(expected(history(s)));
                }
            }
        }
        return new Logits() {
            @Override
            public int rows() {
                return rows.size();
            }

            @Override
            public int vocabularySize() {
                return vocabulary;
            }

            @Override
            public float[] row(int i) {
                return rows.get(i);
            }

            @Override
            public float[] row(Batch b, int entry, int k) {
                throw new UnsupportedOperationException();
            }
        };
    }

    int[] history(Sequence s) {
        int[] ids = new int[s.length()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) pool.keys().get(F, s.keyOffset(0, i));
        }
        return ids;
    }

    @Override
    public void close() {
        pool.close();
    }
}
