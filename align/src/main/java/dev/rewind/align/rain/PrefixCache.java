package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.LogitsSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Evaluated token prefixes kept as sequences, so that a prompt sharing a prefix with one of them
 * evaluates only what follows: the judge's few-shot prefix (pinned, evaluated once per model) and
 * the few most recent judged texts (the committed part of the answer is common to all judgements of
 * a commit). A new prompt forks the entry with the longest common prefix and truncates the fork
 * there. Entries beyond the capacity are closed, least recently used first. Not thread-safe.
 */
final class PrefixCache implements AutoCloseable {

    private record Entry(TokenSequence sequence, int[] tokens) {
    }

    private final LogitsSource source;
    private final int capacity;
    private Entry pinned;
    private final List<Entry> recent = new ArrayList<>();

    /** @param capacity recent prefixes kept besides the pinned one */
    PrefixCache(LogitsSource source, int capacity) {
        this.source = source;
        this.capacity = capacity;
    }

    /** Evaluates {@code tokens} (no logits) and keeps them for good. */
    void pin(int[] tokens) {
        if (pinned != null) {
            throw new IllegalStateException("a prefix is pinned already");
        }
        TokenSequence s = extend(source.newSequence(), tokens, 0);
        pinned = new Entry(s, tokens.clone());
    }

    /**
     * A new sequence holding the first {@code length} of {@code tokens}: forked from the cached entry
     * sharing the most of them, the rest evaluated (no logits). The caller owns it.
     */
    TokenSequence prefix(int[] tokens, int length) {
        Entry best = null;
        int bestShared = 0;
        List<Entry> all = new ArrayList<>(recent);
        if (pinned != null) {
            all.add(pinned);
        }
        for (Entry e : all) {
            int shared = shared(e.tokens, tokens, length);
            // a sliding-window model may have given back the window of that position: such an entry cannot be rewound
            if (shared > bestShared && e.sequence.canTruncate(shared)) {
                best = e;
                bestShared = shared;
            }
        }
        TokenSequence s;
        if (best == null) {
            s = source.newSequence();
        } else {
            s = best.sequence.fork();
            s.truncate(bestShared);
            if (best != pinned) {
                recent.remove(best);
                recent.add(best);
            }
        }
        return extend(s, Arrays.copyOf(tokens, length), bestShared);
    }

    /** Keeps a fork of {@code sequence}, which holds {@code tokens}, as a recent entry. */
    void remember(TokenSequence sequence, int[] tokens) {
        if (capacity == 0) {
            return;
        }
        if (recent.size() == capacity) {
            recent.removeFirst().sequence.close();
        }
        recent.add(new Entry(sequence.fork(), tokens.clone()));
    }

    private TokenSequence extend(TokenSequence s, int[] tokens, int from) {
        if (from < tokens.length) {
            try {
                source.forward(Batch.of(List.of(new Batch.Entry(s, Arrays.copyOfRange(tokens, from, tokens.length), Batch.Wanted.NONE))));
            } catch (RuntimeException e) {
                s.close();
                throw e;
            }
        }
        return s;
    }

    private static int shared(int[] cached, int[] tokens, int length) {
        int n = Math.min(cached.length, length);
        int i = 0;
        while (i < n && cached[i] == tokens[i]) {
            i++;
        }
        return i;
    }

    @Override
    public void close() {
        if (pinned != null) {
            pinned.sequence.close();
        }
        for (Entry e : recent) {
            e.sequence.close();
        }
        recent.clear();
    }
}
