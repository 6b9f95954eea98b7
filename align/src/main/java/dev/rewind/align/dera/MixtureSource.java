package dev.rewind.align.dera;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.sampling.Candidates;
import dev.rewind.engine.sampling.Processors;

import dev.rewind.engine.parallel.WorkerPool;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Optional;

/**
 * A weighted mixture of the next-token logits of several sources over one shared vocabulary:
 * {@code h = Σ wᵢ·hᵢ}, computed per position before any sampling transform (penalties, temperature,
 * top-k, top-p and min-p all see the mixed row). DeRa is the two-source case
 * {@code λ·aligned + (1−λ)·reference} (see {@link Dera}); proxy-tuning and multi-objective decoding
 * are other weightings of the same primitive.
 *
 * <p>Every sequence of the mixture is a {@link MixtureSequence}: one sequence in each source, holding
 * the same tokens, which it forks, truncates and closes together. A forward call evaluates the batch
 * in every source, the sources concurrently, then mixes the rows. The sources' forward passes are the tasks of a small
 * {@link WorkerPool} owned by the mixture (one thread per source, the caller included): each thread
 * claims the next source not yet started, so with a core free per source they all run at once, and
 * when another process holds a core the caller simply runs more of them itself instead of waiting
 * for a thread to be scheduled. Give each source's model its own pool for its matrix work (e.g.
 * half the cores each for two models). Sequences fork, truncate and close as usual. The mixing rules
 * (exact endpoints, −∞ kept) are {@link LogitMixer}'s; ids from the shared vocabulary size on
 * (padding that only some models have) are −∞; with a {@link PlausibilityGuard}, tokens outside one
 * component's top-p set are −∞ too.
 *
 * <p>The mixture does not own its sources: closing it closes its sequences in them, not the models.
 * Forward calls are serialised.
 */
public final class MixtureSource implements LogitsSource, AutoCloseable {

    private final List<MixtureComponent> components;
    private final float[] weights;
    private final int usable;
    private final int width;
    private final Optional<PlausibilityGuard> guard;
    private final Set<MixtureSequence> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private final WorkerPool forwards;
    private final MixedLogits out = new MixedLogits();
    private Candidates guardCandidates;
    private Processors.TopP guardTopP;
    private boolean[] guardKeep;

    /**
     * @param components       the sources and their weights, at least one, not all weights 0
     * @param sharedVocabulary ids below this are mixed, ids from it on are −∞ (at most the smallest
     *                         source's vocabulary); see {@link VocabularyCheck}
     * @param guard            the optional plausibility guard (empty: plain mixture, as published)
     * @param capacityTokens   positions over all of the mixture's sequences (as the sources' KV capacity);
     *                         kept for callers that size by it, the sources' own caches bound the sequences
     * @throws IllegalArgumentException if a size or index is out of range or every weight is 0
     */
    public MixtureSource(List<MixtureComponent> components, int sharedVocabulary, Optional<PlausibilityGuard> guard,
                         int capacityTokens) {
        if (components.isEmpty()) {
            throw new IllegalArgumentException("a mixture needs at least one source");
        }
        this.components = List.copyOf(components);
        this.weights = new float[components.size()];
        int narrowest = Integer.MAX_VALUE;
        int widest = 0;
        boolean anyWeight = false;
        for (int i = 0; i < weights.length; i++) {
            MixtureComponent c = components.get(i);
            weights[i] = c.weight();
            anyWeight |= c.weight() != 0f;
            narrowest = Math.min(narrowest, c.source().vocabularySize());
            widest = Math.max(widest, c.source().vocabularySize());
        }
        if (!anyWeight) {
            throw new IllegalArgumentException("every mixture weight is 0");
        }
        if (sharedVocabulary <= 0 || sharedVocabulary > narrowest) {
            throw new IllegalArgumentException("the shared vocabulary (" + sharedVocabulary
                    + " ids) must be positive and fit the smallest source's " + narrowest + " ids");
        }
        guard.ifPresent(g -> {
            if (g.component() >= this.components.size()) {
                throw new IllegalArgumentException("the plausibility guard names component " + g.component()
                        + " of a mixture of " + this.components.size());
            }
        });
        this.usable = sharedVocabulary;
        this.width = widest;
        this.guard = guard;
        if (capacityTokens <= 0) {
            throw new IllegalArgumentException("the mixture's capacity must be positive, got " + capacityTokens);
        }
        this.forwards = new WorkerPool(components.size());
    }

    /** The sources and weights, in order. */
    public List<MixtureComponent> components() {
        return components;
    }

    /** The guard in use, if any. */
    public Optional<PlausibilityGuard> guard() {
        return guard;
    }

    /** Ids that are mixed; ids from here to {@link #vocabularySize()} are masked (−∞). */
    public int sharedVocabulary() {
        return usable;
    }

    /** The widest source's vocabulary: the length of a mixed row. */
    @Override
    public int vocabularySize() {
        return width;
    }

    /** A new empty sequence: an empty sequence in every source. */
    @Override
    public synchronized MixtureSequence newSequence() {
        TokenSequence[] parts = new TokenSequence[components.size()];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = components.get(i).source().newSequence();
        }
        return register(new MixtureSequence(this, parts));
    }

    /** The sources' sequences that hold what {@code sequence} holds, in component order (for tests and tools). */
    public synchronized List<TokenSequence> sourceSequences(TokenSequence sequence) {
        return List.of(own(sequence).parts());
    }

    /** Mixture sequences handed out and not closed. */
    public synchronized int openSequences() {
        open.removeIf(MixtureSequence::isClosed);
        return open.size();
    }

    synchronized MixtureSequence register(MixtureSequence s) {
        open.removeIf(MixtureSequence::isClosed);
        open.add(s);
        return s;
    }

    private MixtureSequence own(TokenSequence s) {
        if (s instanceof MixtureSequence m && m.owner() == this) {
            return m;
        }
        throw new IllegalArgumentException("a batch entry's sequence does not belong to this mixture");
    }

    /**
     * Evaluates the batch in every source (concurrently) and returns the mixed rows. All or nothing:
     * if any source fails (e.g. its KV cache is full), every sequence is left as it was.
     */
    @Override
    public synchronized Logits forward(Batch batch) {
        List<Batch.Entry> entries = batch.entries();
        int n = entries.size();
        TokenSequence[][] own = new TokenSequence[n][];
        int[] lengths = new int[n];
        for (int e = 0; e < n; e++) {
            MixtureSequence s = own(entries.get(e).sequence());
            own[e] = s.parts();
            lengths[e] = s.length();
        }
        Logits[] results;
        try {
            results = forwardAll(entries, own);
        } catch (RuntimeException | Error failure) {
            for (int e = 0; e < n; e++) {
                for (TokenSequence q : own[e]) {
                    if (q.length() > lengths[e]) {
                        q.truncate(lengths[e]);
                    }
                }
            }
            throw failure;
        }
        for (int e = 0; e < n; e++) {
            own(entries.get(e).sequence()).advance(entries.get(e).size());
        }
        return mix(batch, results);
    }

    /** Runs the batch in every source, concurrently; the first failure is thrown once every started pass has finished. */
    private Logits[] forwardAll(List<Batch.Entry> entries, TokenSequence[][] own) {
        int sources = components.size();
        Batch[] batches = new Batch[sources];
        for (int i = 0; i < sources; i++) {
            batches[i] = sourceBatch(entries, own, i);
        }
        Logits[] results = new Logits[sources];
        forwards.parallelFor(sources, (start, end) -> {
            for (int i = start; i < end; i++) {
                results[i] = components.get(i).source().forward(batches[i]);
            }
        });
        return results;
    }

    private static Batch sourceBatch(List<Batch.Entry> entries, TokenSequence[][] own, int source) {
        List<Batch.Entry> mapped = new ArrayList<>(entries.size());
        for (int e = 0; e < entries.size(); e++) {
            Batch.Entry entry = entries.get(e);
            mapped.add(new Batch.Entry(own[e][source], entry.tokens(), entry.wanted()));
        }
        return Batch.of(mapped);
    }

    private Logits mix(Batch batch, Logits[] results) {
        int rows = batch.logitRows();
        out.prepare(batch, rows, width);
        float[][] inputs = new float[results.length][];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < results.length; i++) {
                inputs[i] = results[i].row(r);
            }
            float[] row = out.rows[r];
            LogitMixer.mix(inputs, weights, usable, row);
            if (guard.isPresent()) {
                applyGuard(guard.get(), inputs[guard.get().component()], row);
            }
        }
        return out;
    }

    /** Sets every token outside the guard component's top-p set to −∞. */
    private void applyGuard(PlausibilityGuard g, float[] raw, float[] row) {
        if (guardCandidates == null) {
            guardCandidates = new Candidates(raw.length);
            guardTopP = new Processors.TopP(g.topP(), raw.length);
            guardKeep = new boolean[width];
        }
        guardCandidates.reset(raw);
        guardTopP.apply(guardCandidates, new int[0], 0);
        Arrays.fill(guardKeep, false);
        for (int i = 0; i < guardCandidates.size(); i++) {
            guardKeep[guardCandidates.id(i)] = true;
        }
        for (int v = 0; v < row.length; v++) {
            if (!guardKeep[v]) {
                row[v] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** Closes the mixture's sequences in every source and stops its threads; the sources stay open. */
    @Override
    public synchronized void close() {
        forwards.close();
        for (MixtureSequence s : List.copyOf(open)) {
            s.close();
        }
        open.clear();
    }

    /** The mixed rows of the last forward call; buffers reused across calls. */
    private static final class MixedLogits implements Logits {
        float[][] rows = new float[0][];
        int count;
        int width;
        int[] entryFirstRow = new int[0];
        Batch batch;

        void prepare(Batch batch, int count, int width) {
            if (rows.length < count) {
                float[][] grown = Arrays.copyOf(rows, Math.max(count, 2 * rows.length));
                for (int i = rows.length; i < grown.length; i++) {
                    grown[i] = new float[width];
                }
                rows = grown;
            }
            int entries = batch.entries().size();
            if (entryFirstRow.length < entries) {
                entryFirstRow = new int[entries];
            }
            int first = 0;
            for (int e = 0; e < entries; e++) {
                entryFirstRow[e] = first;
                first += batch.entries().get(e).logitRows();
            }
            this.count = count;
            this.width = width;
            this.batch = batch;
        }

        @Override
        public int rows() {
            return count;
        }

        @Override
        public int vocabularySize() {
            return width;
        }

        @Override
        public float[] row(int i) {
            if (i < 0 || i >= count) {
                throw new IndexOutOfBoundsException("logits row " + i + " of " + count);
            }
            return rows[i];
        }

        @Override
        public float[] row(Batch b, int entry, int k) {
            if (b != batch) {
                throw new IllegalArgumentException("these logits belong to another batch");
            }
            Batch.Entry e = b.entries().get(entry);
            if (k < 0 || k >= e.logitRows()) {
                throw new IndexOutOfBoundsException("entry " + entry + " has " + e.logitRows() + " logits rows, not " + (k + 1));
            }
            return row(entryFirstRow[entry] + k);
        }
    }
}
