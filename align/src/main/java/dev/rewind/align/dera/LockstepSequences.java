package dev.rewind.align.dera;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.LogitsSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Keeps, for every sequence a mixture hands out, one sequence in each component source holding the
 * same tokens: the models advance in lock-step on their own KV caches.
 *
 * <p>A mixture sequence is a real {@link Sequence} of a small pool of its own whose single "layer"
 * of width 1 records the token id at each position. So whatever a caller does with it through the
 * {@code Sequence} API is replayed on the sources before the next forward call:
 * <ul>
 *   <li>{@link Sequence#truncate} (a caller rewinding, or {@code GenerationContext} reusing a prefix):
 *       the sources' sequences are truncated to the same length;</li>
 *   <li>{@link Sequence#fork}: the fork is unknown here, so its tokens are read back and matched
 *       against the known sequences; the one sharing the longest prefix has its source sequences
 *       forked (sharing their pages) and any remaining tokens are evaluated;</li>
 *   <li>{@link Sequence#close}: the sources' sequences are closed too.</li>
 * </ul>
 * Not thread-safe; the mixture serialises its calls.
 */
final class LockstepSequences implements AutoCloseable {

    private static final ValueLayout.OfFloat ID = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Token ids are stored as floats, exact below 2^24. */
    private static final int MAX_ID = 1 << 24;

    private final List<LogitsSource> sources;
    private final PagePool tokens;
    private final Map<Sequence, Sequence[]> companions = new IdentityHashMap<>();
    private final float[] one = new float[1];

    /**
     * @param sources        the component sources, in mixture order
     * @param capacityTokens how many positions the recorded token ids may take over all sequences
     */
    LockstepSequences(List<LogitsSource> sources, int capacityTokens) {
        this.sources = List.copyOf(sources);
        this.tokens = PagePool.forTokens(1, 1, PagePool.DEFAULT_PAGE_SIZE, capacityTokens, KvType.F32);
    }

    /** A new empty mixture sequence with an empty sequence in every source. */
    Sequence newSequence() {
        dropClosed();
        Sequence s = tokens.newSequence();
        Sequence[] own = new Sequence[sources.size()];
        for (int i = 0; i < own.length; i++) {
            own[i] = sources.get(i).newSequence();
        }
        companions.put(s, own);
        return s;
    }

    /**
     * The sources' sequences of {@code s}, each holding exactly the tokens {@code s} holds (forks are
     * adopted and truncations replayed here).
     *
     * @throws IllegalArgumentException if {@code s} was not handed out by this mixture (or a fork of one)
     */
    Sequence[] synced(Sequence s) {
        if (s.pool() != tokens) {
            throw new IllegalArgumentException("a batch entry's sequence does not belong to this mixture");
        }
        dropClosed();
        Sequence[] own = companions.get(s);
        if (own == null) {
            own = adopt(s);
        }
        for (int i = 0; i < own.length; i++) {
            if (own[i].length() > s.length()) {
                rewind(own, i, s.length());
            }
            if (own[i].length() < s.length()) {
                catchUp(sources.get(i), own[i], s);
            }
        }
        return own;
    }

    /**
     * Rewinds {@code own[i]} to {@code length}, or, when its model's sliding-window layers no longer
     * hold that position's window, replaces it by an empty sequence (the caller evaluates it again).
     */
    void rewind(Sequence[] own, int i, int length) {
        if (own[i].canTruncate(length)) {
            own[i].truncate(length);
        } else {
            own[i].close();
            own[i] = sources.get(i).newSequence();
        }
    }

    /** Stores the ids of the new positions; call after {@link Sequence#reserve} of {@code ids.length}. */
    void record(Sequence s, int[] ids) {
        int base = s.length();
        for (int k = 0; k < ids.length; k++) {
            if (ids[k] < 0 || ids[k] >= MAX_ID) {
                throw new IllegalArgumentException("token id " + ids[k] + " is out of range");
            }
            one[0] = ids[k];
            s.write(0, base + k, one, 0, one, 0);
        }
        s.advance(ids.length);
    }

    /** The token ids {@code s} holds. */
    int[] ids(Sequence s) {
        int[] ids = new int[s.length()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (int) tokens.keys().get(ID, s.keyOffset(0, i));
        }
        return ids;
    }

    /** Source sequences for a fork of a known sequence: fork the best relative's, or start empty. */
    private Sequence[] adopt(Sequence s) {
        int[] ids = ids(s);
        Sequence[] best = null;
        int bestPrefix = 0;
        for (Map.Entry<Sequence, Sequence[]> e : companions.entrySet()) {
            int prefix = commonPrefix(ids, ids(e.getKey()));
            if (prefix > bestPrefix) {
                bestPrefix = prefix;
                best = e.getValue();
            }
        }
        Sequence[] own = new Sequence[sources.size()];
        for (int i = 0; i < own.length; i++) {
            own[i] = best == null ? sources.get(i).newSequence() : best[i].fork();
            if (own[i].length() > bestPrefix) {
                rewind(own, i, bestPrefix);
            }
        }
        companions.put(s, own);
        return own;
    }

    /** Evaluates, without asking for logits, the tokens of {@code s} that {@code own} lacks. */
    private void catchUp(LogitsSource source, Sequence own, Sequence s) {
        int[] all = ids(s);
        int[] missing = Arrays.copyOfRange(all, own.length(), all.length);
        source.forward(Batch.of(List.of(new Batch.Entry(own, missing, Batch.Wanted.NONE))));
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    /** Closes the source sequences of mixture sequences that were closed. */
    private void dropClosed() {
        Iterator<Map.Entry<Sequence, Sequence[]>> it = companions.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Sequence, Sequence[]> e = it.next();
            if (e.getKey().isClosed()) {
                closeAll(e.getValue());
                it.remove();
            }
        }
    }

    /** Mixture sequences currently tracked (closed ones are dropped at the next call). */
    int tracked() {
        dropClosed();
        return companions.size();
    }

    private static void closeAll(Sequence[] sequences) {
        for (Sequence q : sequences) {
            q.close();
        }
    }

    /** Closes every source sequence and frees the token pool. */
    @Override
    public void close() {
        List<Sequence> all = new ArrayList<>(companions.keySet());
        for (Sequence s : all) {
            s.close();
            closeAll(companions.get(s));
        }
        companions.clear();
        tokens.close();
    }
}
