package dev.rewind.align.rain;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A scripted {@link LogitsSource} on a real paged KV cache: its "keys" are the token ids themselves,
 * so the history of any sequence — forked, truncated or copied on write — can be read back from its
 * pages, and its logits are a function of that history alone. A corrupted or rewound-too-far cache
 * changes the logits, and every evaluated position is recorded by its whole prefix, so tests can see
 * which prefixes were evaluated and how often.
 */
final class FakeModel implements LogitsSource, AutoCloseable {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int vocabulary;
    private final PagePool pool;
    private final Function<int[], float[]> logitsOf;
    private final Map<Prefix, Integer> evaluated = new HashMap<>();
    private long tokens;
    private long logitRows;

    /** Pseudo-random logits seeded by the history, one token well ahead ({@code lead} above the rest). */
    static Function<int[], float[]> peaked(int vocabulary, float lead) {
        return history -> {
            SplittableRandom r = new SplittableRandom(Arrays.hashCode(history) * 0x9E3779B97F4A7C15L);
            float[] l = new float[vocabulary];
            for (int i = 0; i < vocabulary; i++) {
                l[i] = (float) r.nextGaussian();
            }
            l[3 + r.nextInt(vocabulary - 3)] += lead; // never a control token
            return l;
        };
    }

    FakeModel(int vocabulary, int pageSize, int pages, Function<int[], float[]> logitsOf) {
        this.vocabulary = vocabulary;
        this.pool = new PagePool(1, 2, pageSize, pages, KvType.F32);
        this.logitsOf = logitsOf;
    }

    PagePool pool() {
        return pool;
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
    public Logits forward(Batch batch) {
        for (Batch.Entry e : batch.entries()) {
            ((Sequence) e.sequence()).reserve(e.size());
        }
        List<float[]> rows = new ArrayList<>();
        for (Batch.Entry e : batch.entries()) {
            Sequence s = (Sequence) e.sequence();
            int start = s.length();
            for (int i = 0; i < e.size(); i++) {
                s.write(0, start + i, new float[]{e.token(i), 1}, 0, new float[]{0, 0}, 0);
                int[] history = history(s, start + i + 1);
                evaluated.merge(key(history), 1, Integer::sum);
                boolean wanted = e.wanted() == Batch.Wanted.ALL || (e.wanted() == Batch.Wanted.LAST && i == e.size() - 1);
                if (wanted) {
                    rows.add(logitsOf.apply(history));
                }
            }
        }
        for (Batch.Entry e : batch.entries()) {
            ((Sequence) e.sequence()).advance(e.size());
        }
        tokens += batch.tokens();
        logitRows += rows.size();
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
                int first = 0;
                for (int j = 0; j < entry; j++) {
                    first += b.entries().get(j).logitRows();
                }
                return rows.get(first + k);
            }
        };
    }

    /** The tokens a sequence holds in its first {@code length} positions, read from its pages. */
    static int[] history(Sequence s, int length) {
        int[] h = new int[length];
        for (int p = 0; p < length; p++) {
            h[p] = (int) s.keys(0, p).get(F32, s.keyOffset(0, p));
        }
        return h;
    }

    /** A prefix by its length and two independent 64-bit hashes (collisions are out of reach for a test). */
    record Prefix(int length, long h1, long h2) {
    }

    static Prefix key(int[] history) {
        long h1 = 1469598103934665603L;
        long h2 = 7;
        for (int t : history) {
            h1 = (h1 ^ t) * 1099511628211L;
            h2 = h2 * 0x9E3779B97F4A7C15L + t + 1;
        }
        return new Prefix(history.length, h1, h2);
    }

    /** How often the position ending {@code history} was evaluated. */
    int evaluations(int[] history) {
        return evaluated.getOrDefault(key(history), 0);
    }

    /** Every evaluated prefix with its count. */
    Map<Prefix, Integer> evaluated() {
        return evaluated;
    }

    /** Logit rows computed so far. */
    long logitRows() {
        return logitRows;
    }

    long tokens() {
        return tokens;
    }

    @Override
    public void close() {
        pool.close();
    }
}
