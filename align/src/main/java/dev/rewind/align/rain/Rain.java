package dev.rewind.align.rain;

import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * RAIN, rewindable auto-regressive inference (Li et al., ICLR 2024; ALGORITHMS.md §1): a tree search
 * over token spans guided by a judge of the partial answers, committing the most visited span and
 * searching again from it. Runs on the logits API only: the generator is any {@link LogitsSource};
 * the judge is usually a {@link ModelJudge} on the same model (self-evaluation) or a larger one.
 *
 * <p>Everything the official code recomputes is kept instead: every tree node holds a sequence forked
 * from its parent (so the committed prefix and every span are evaluated once), the candidate rollouts
 * of a node advance together in batched forward calls on a shared trie, and the judge's few-shot
 * prefix and recent judged texts stay evaluated. A {@code Rain} can serve many requests, one at a time.
 *
 * <p>Where this differs from the official scripts, on purpose:
 * <ul>
 *   <li>the judge's label ids come from the judge's tokenizer ({@link LabelReadout}), never LLaMA's
 *       hard-coded 29909/29933 (on LLaMA's vocabulary they are the same ids);</li>
 *   <li>the value bounds {@code qMin, qMax} live on the current root and are carried over at every
 *       commit, as ALGORITHMS.md specifies; the official nodes keep a reference to the root they were
 *       created under, so nodes made before a commit go on widening the old root's bounds;</li>
 *   <li>end-of-generation is the tokenizer's (EOS, EOT), not only EOS; with
 *       {@link RainParams#stopAtEndOfGeneration()} the committed span is cut after it (the TruthfulQA
 *       script's rule, applied to the adversarial preset too);</li>
 *   <li>similarity embeddings: {@code rewind rain} uses all-MiniLM-L6-v2 ({@link EncoderEmbedder}), the
 *       paper's encoder, run in pure Java; {@link HiddenStateEmbedder} (mean-pooled judge hidden states) is
 *       an option, with the paper's thresholds kept uncalibrated for it;</li>
 *   <li>the TruthfulQA judge is read as the official code reads it ({@link YesNoReadout}: after the whole
 *       prompt, each label's larger spelling); the judged TruthfulQA text is {@code strip()}-ed of surrounding
 *       white space ({@link Conversation#strip()}), so a leading space of the answer never changes the
 *       prompt;</li>
 *   <li>{@code rewind rain} sizes each KV cache from the longest sequence the search can reach
 *       ({@code maxLength} + the longest span + the judge prompt), not from the model's whole context;</li>
 *   <li>a dynamic addition draws {@code dynamicAddWidth − 1} sampled spans in every preset (the HH
 *       script's count; the adversarial script's is not known) and its one-token form uses temperature 1,
 *       as the official node code does;</li>
 *   <li>{@link RainParams#maxNewTokens()} may cap the answer, and the max length is lowered so that the
 *       longest rollout still fits the context.</li>
 * </ul>
 */
public final class Rain {

    private final LogitsSource generator;
    private final Texts texts;
    private final Judge judge;
    private final Embedder embedder;
    private final RainParams params;
    private final Conversation conversation;
    private final int contextLength;

    /**
     * @param generator     the model being aligned
     * @param tokenizer     its tokenizer
     * @param judge         scores partial answers
     * @param embedder      sentence embeddings for the similarity update
     * @param contextLength positions one sequence of the generator may hold (the model's context)
     */
    public Rain(LogitsSource generator, Tokenizer tokenizer, Judge judge, Embedder embedder, RainParams params,
                Conversation conversation, int contextLength) {
        this.generator = Objects.requireNonNull(generator, "generator");
        this.texts = new Texts(Objects.requireNonNull(tokenizer, "tokenizer"));
        this.judge = Objects.requireNonNull(judge, "judge");
        this.embedder = Objects.requireNonNull(embedder, "embedder");
        this.params = Objects.requireNonNull(params, "params");
        this.conversation = Objects.requireNonNull(conversation, "conversation");
        if (contextLength <= params.maxSpanLength() + 1) {
            throw new IllegalArgumentException("a context of " + contextLength + " positions cannot hold a span of " + params.maxSpanLength());
        }
        this.contextLength = contextLength;
    }

    public RainParams params() {
        return params;
    }

    public Conversation conversation() {
        return conversation;
    }

    /** Prompt plus answer tokens at most: the parameter, lowered so that the longest rollout still fits the context. */
    public int maxLength() {
        return Math.min(params.maxLength(), contextLength - params.maxSpanLength() - 1);
    }

    /** The generator's input tokens for a user's text (BOS first where the vocabulary adds it). */
    public int[] promptTokens(String userText) {
        return texts.tokenizer().encode(conversation.prompt(userText), true, true);
    }

    /**
     * Answers {@code userText}, laid out by the conversation.
     *
     * @param trace record the tree at every commit
     * @throws PromptTooLongException if the prompt leaves no room for an answer
     * @throws dev.rewind.engine.kv.KvCacheFullException if the KV cache cannot hold the tree
     */
    public RainResult run(String userText, boolean trace) {
        return run(userText, trace, null);
    }

    /**
     * Hears a request's commits and may stop it: what a caller streaming the answer, or cancelling it,
     * gives {@link #run(String, boolean, Observer, int)}. Both methods default to doing nothing.
     */
    public interface Observer {
        /**
         * After each commit: the committed answer so far (text as {@link RainResult#answer()} would be,
         * and its tokens). The text grows at its end, except that a later commit may cut it before a new
         * user turn marker.
         */
        default void afterCommit(String answerText, int[] answerTokens) {
        }

        /** Asked after every inner iteration and commit: true stops the request ({@link StopReason#HALTED}). */
        default boolean halt() {
            return false;
        }
    }

    /**
     * {@link #run(String, boolean)} with an observer and a per-request cap on answer tokens (the lower of
     * it and {@link RainParams#maxNewTokens()} applies).
     *
     * @throws IllegalArgumentException if {@code maxNewTokens} is below 1
     */
    public RainResult run(String userText, boolean trace, Observer observer, int maxNewTokens) {
        return run(userText, trace, null, Objects.requireNonNull(observer, "observer"), maxNewTokens);
    }

    RainResult run(String userText, boolean trace, RainSearch.Listener listener) {
        return run(userText, trace, listener, RainSearch.NO_OBSERVER, params.maxNewTokens());
    }

    private RainResult run(String userText, boolean trace, RainSearch.Listener listener, Observer observer, int maxNewTokens) {
        String prompt = conversation.prompt(userText);
        int[] promptTokens = promptTokens(userText);
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (promptTokens.length >= maxLength()) {
            throw new PromptTooLongException(promptTokens.length, maxLength(), params.maxSpanLength(), contextLength);
        }
        CountingSource counted = new CountingSource(generator);
        List<CountingSource> judgeMeters = judge.meters();
        List<CountingSource> embedderMeters = embedder.meters();
        judgeMeters.forEach(CountingSource::reset);
        embedderMeters.forEach(CountingSource::reset);
        TraceRecorder recorder = trace ? new TraceRecorder() : null;
        TimedEmbedder timed = new TimedEmbedder(embedder);
        long encoderTokensBefore = embedder.encoderTokens();
        long start = System.nanoTime();
        RainSearch search = new RainSearch(counted, texts, conversation, judge, timed, params, promptTokens, maxLength(), recorder,
                maxNewTokens);
        StopReason stop = search.run(listener, observer);
        double seconds = (System.nanoTime() - start) / 1e9;
        String answer = search.answerText();
        List<CountingSource> all = new ArrayList<>();
        all.add(counted);
        all.addAll(judgeMeters);
        all.addAll(embedderMeters);
        long calls = 0;
        for (CountingSource c : all) {
            calls += c.calls();
        }
        long embedderTokens = sum(embedderMeters) + embedder.encoderTokens() - encoderTokensBefore;
        RunCost cost = new RunCost(counted.tokens(), sum(judgeMeters), embedderTokens, calls, peakPages(all), seconds,
                timed.nanos() / 1e9);
        return new RainResult(prompt, promptTokens, answer, search.answerTokens(), search.commits(), search.searches(), stop, cost,
                Optional.ofNullable(recorder).map(r -> r.build(prompt, answer)));
    }

    /**
     * A request to step through one inner iteration at a time, without committing (benchmarks,
     * debugging). Close it to release its tree.
     */
    public Session open(String userText) {
        int[] promptTokens = promptTokens(userText);
        RainSearch search = new RainSearch(new CountingSource(generator), texts, conversation, judge, embedder, params, promptTokens,
                maxLength(), null);
        search.start();
        return new Session(search);
    }

    /** An open request: {@link #search()} runs one inner iteration on its tree. */
    public static final class Session implements AutoCloseable {
        private final RainSearch search;

        private Session(RainSearch search) {
            this.search = search;
        }

        /** One inner iteration: select, evaluate, expand, back up. */
        public void search() {
            search.innerSearch();
        }

        @Override
        public void close() {
            search.close();
        }
    }

    /** Times the calls of the search into its embedder. */
    private static final class TimedEmbedder implements Embedder {
        private final Embedder inner;
        private long nanos;

        TimedEmbedder(Embedder inner) {
            this.inner = inner;
        }

        @Override
        public float[] embed(String text) {
            long t = System.nanoTime();
            try {
                return inner.embed(text);
            } finally {
                nanos += System.nanoTime() - t;
            }
        }

        @Override
        public List<float[]> embedAll(List<String> all) {
            long t = System.nanoTime();
            try {
                return inner.embedAll(all);
            } finally {
                nanos += System.nanoTime() - t;
            }
        }

        long nanos() {
            return nanos;
        }
    }

    private static long sum(List<CountingSource> meters) {
        long total = 0;
        for (CountingSource c : meters) {
            total += c.tokens();
        }
        return total;
    }

    /** The most pages held at once: per page pool the largest peak any of its meters saw, summed over pools. */
    static int peakPages(List<CountingSource> meters) {
        Map<PagePool, Integer> perPool = new IdentityHashMap<>();
        for (CountingSource c : meters) {
            if (c.pool() != null) {
                perPool.merge(c.pool(), c.peakPages(), Math::max);
            }
        }
        return perPool.values().stream().mapToInt(Integer::intValue).sum();
    }
}
