package dev.rewind.server;

import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * Continuous batching: one thread owns the model and, step after step, puts the next token of
 * every running choice and a chunk of waiting prompts into ONE batched forward call. A prompt is
 * evaluated in chunks of at most {@link Limits#prefillChunk()} tokens per step, so streams already
 * running get a token every step however long a new prompt is. A request that finishes hands its
 * sequence to the {@link PrefixCache}; one that is cancelled (client gone, timeout) closes its
 * sequences at the next step. The kernels compute every row the same whatever the batch, so a
 * greedy request gives the tokens it would give alone.
 */
final class Scheduler implements AutoCloseable {

    /**
     * @param maxSequences most sequences (choices) decoded together
     * @param queue        most requests waiting for a slot; beyond it {@link #submit} answers 429
     * @param prefillChunk most prompt tokens evaluated per step
     * @param context      most positions a sequence may reach
     */
    record Limits(int maxSequences, int queue, int prefillChunk, int context) {
        Limits {
            if (maxSequences < 1 || queue < 0 || prefillChunk < 1 || context < 2) {
                throw new IllegalArgumentException("scheduler limits " + maxSequences + ", " + queue + ", " + prefillChunk + ", " + context);
            }
        }
    }

    /** One batch entry's owner: a choice's decode row, or a job's prompt chunk. */
    private record Target(Job job, Job.Choice choice) {
    }

    private final ModelRunner source;
    private final PagePool pool;
    private final Tokenizer tokenizer;
    private final Limits limits;
    private final PrefixCache cache;
    private final Metrics metrics;
    private final Consumer<String> log;
    /** Run on the scheduler thread before each forward step: a no-op, or a test's gate that holds steps back. */
    private final Runnable beforeStep;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private boolean accepting = true;
    private volatile boolean stopping;

    private final List<Job> running = new ArrayList<>();
    private long admissions;
    /** Set when the pool ran out and a job was re-queued: admit nothing more until a running job finishes. */
    private boolean pressure;
    private final Thread thread;

    Scheduler(ModelRunner source, PagePool pool, Tokenizer tokenizer, Limits limits, PrefixCache cache, Metrics metrics, Consumer<String> log,
              Runnable beforeStep) {
        this.source = source;
        this.beforeStep = beforeStep;
        this.pool = pool;
        this.tokenizer = tokenizer;
        this.limits = limits;
        this.cache = cache;
        this.metrics = metrics;
        this.log = log;
        this.thread = Thread.ofPlatform().name("rewind-scheduler").daemon(true).start(this::loop);
    }

    Limits limits() {
        return limits;
    }

    /**
     * Queues a request.
     *
     * @throws ApiException 429 when the queue is full, 503 when the server is shutting down
     */
    Job submit(GenerationRequest request) {
        Job job = new Job(request);
        lock.lock();
        try {
            if (!accepting) {
                throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
            }
            if (waiting.size() >= limits.queue()) {
                metrics.rejectedQueueFull.increment();
                throw new ApiException(429, "rate_limit_exceeded", null, "queue_full",
                        "the server's queue is full (" + limits.queue() + " requests waiting); retry later");
            }
            waiting.add(job);
            metrics.queued.set(waiting.size());
            wake.signal();
        } finally {
            lock.unlock();
        }
        return job;
    }

    /** Cancels a job; its pages are freed at the scheduler's next step. */
    void cancel(Job job) {
        job.cancel();
        lock.lock();
        try {
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Drops every cached prefix (the cache's pages go back to the pool). Waits for the scheduler to do it. */
    void clearPrefixCache() throws InterruptedException {
        Job marker = new Job(null);
        lock.lock();
        try {
            clearRequested = marker;
            wake.signal();
        } finally {
            lock.unlock();
        }
        if (!(marker.next(60_000) instanceof Event.Done)) {
            throw new IllegalStateException("the scheduler did not clear its prefix cache");
        }
    }

    private Job clearRequested;

    private void loop() {
        try {
            while (true) {
                Job clear = takeClearRequest();
                if (clear != null) {
                    cache.clear();
                    metrics.cacheEntries.set(cache.entries());
                    clear.emit(new Event.Done(0, 0, 0, null));
                }
                admit();
                reap();
                if (running.isEmpty()) {
                    lock.lock();
                    try {
                        if (stopping && waiting.isEmpty()) {
                            break;
                        }
                        if (waiting.isEmpty() && clearRequested == null) {
                            wake.await(200, TimeUnit.MILLISECONDS);
                        }
                    } finally {
                        lock.unlock();
                    }
                    continue;
                }
                beforeStep.run();
                try {
                    step();
                } catch (RuntimeException e) {
                    log.accept("scheduler: a step failed (" + e + "); failing its " + running.size() + " requests");
                    for (Job job : List.copyOf(running)) {
                        abort(job, new ApiException(500, "server_error", null, null, "the engine failed: " + e.getMessage()));
                    }
                }
                metrics.cacheEntries.set(cache.entries());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (Job job : List.copyOf(running)) {
                abort(job, shutdownError());
            }
            cache.clear();
            metrics.cacheEntries.set(0);
        }
    }

    private Job takeClearRequest() {
        lock.lock();
        try {
            Job c = clearRequested;
            clearRequested = null;
            return c;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Moves waiting requests into the running set, oldest first, while sequence slots and pages allow.
     * A request that shares at least a page of prompt with one still being prefilled waits for that
     * prefill to land in the prefix cache, so that requests arriving together with a common system
     * prompt evaluate it once.
     */
    private void admit() {
        lock.lock();
        try {
            for (java.util.Iterator<Job> it = waiting.iterator(); it.hasNext(); ) {
                Job job = it.next();
                if (job.cancelled() || stopping) {
                    it.remove();
                    metrics.cancelled.increment();
                    job.state = Job.State.DONE;
                    job.emit(new Event.Failed(stopping ? shutdownError() : cancelledError()));
                    continue;
                }
                if (runningSequences() + job.request.n() > limits.maxSequences() || (pressure && !running.isEmpty())) {
                    break;
                }
                if (waitsForSharedPrefill(job.request.prompt())) {
                    continue;
                }
                int need = Math.ceilDiv(job.request.prompt().length, pool.pageSize()) + job.request.n();
                while (pool.freePages() < need && cache.evictOne()) {
                    metrics.prefixEvictions.increment();
                }
                if (pool.freePages() < need && !running.isEmpty()) {
                    break; // wait for running requests to give pages back
                }
                it.remove();
                start(job);
            }
            metrics.queued.set(waiting.size());
        } finally {
            lock.unlock();
        }
    }

    private boolean waitsForSharedPrefill(int[] prompt) {
        int cached = cache.matchLength(prompt, prompt.length - 1);
        for (Job other : running) {
            if (other.state == Job.State.PREFILL) {
                int shared = PrefixCache.commonPrefix(prompt, other.request.prompt(), prompt.length - 1);
                if (shared >= pool.pageSize() && shared > cached) {
                    return true;
                }
            }
        }
        return false;
    }

    private int runningSequences() {
        int n = 0;
        for (Job job : running) {
            n += job.request.n();
        }
        return n;
    }

    /** Forks the longest cached prefix of the prompt, if at least a page long (keeping its last token to evaluate, for its logits). */
    private void start(Job job) {
        int[] prompt = job.request.prompt();
        PrefixCache.Match match = cache.lookup(prompt, prompt.length - 1);
        if (match != null && match.tokens() < pool.pageSize()) { // less than a page (a BOS): not worth a copied page
            match.sequence().close();
            match = null;
        }
        if (match != null) {
            job.sequence = match.sequence();
            job.cachedTokens = match.tokens();
            metrics.prefixHits.increment();
        } else {
            job.sequence = source.newSequence();
            job.cachedTokens = 0;
            metrics.prefixMisses.increment();
        }
        metrics.promptTokens.add(prompt.length);
        metrics.cachedPromptTokens.add(job.cachedTokens);
        job.state = Job.State.PREFILL;
        job.admission = ++admissions;
        running.add(job);
        metrics.running.set(running.size());
    }

    /** Stops the jobs whose client went away or whose time is up. */
    private void reap() {
        long now = System.nanoTime();
        for (Job job : List.copyOf(running)) {
            if (stopping) {
                abort(job, shutdownError());
            } else if (job.cancelled()) {
                abort(job, cancelledError());
            } else if (now - job.request.deadlineNanos() > 0) {
                abort(job, new ApiException(504, "server_error", null, "timeout", "the request ran past the server's per-request timeout"));
            }
        }
    }

    private void step() {
        List<Batch.Entry> entries = new ArrayList<>();
        List<Target> targets = new ArrayList<>();
        for (Job job : running) {
            if (job.state == Job.State.DECODE) {
                for (Job.Choice c : job.choices) {
                    if (c.finish == null) {
                        entries.add(new Batch.Entry(c.sequence, new int[]{c.pending}, Batch.Wanted.LAST));
                        targets.add(new Target(job, c));
                    }
                }
            }
        }
        int budget = limits.prefillChunk();
        for (Job job : running) {
            if (job.state == Job.State.PREFILL && budget > 0) {
                int[] prompt = job.request.prompt();
                int from = job.sequence.length();
                int take = Math.min(prompt.length - from, budget);
                boolean last = from + take == prompt.length;
                entries.add(new Batch.Entry(job.sequence, Arrays.copyOfRange(prompt, from, from + take),
                        last ? Batch.Wanted.LAST : Batch.Wanted.NONE));
                targets.add(new Target(job, null));
                budget -= take;
            }
        }
        if (entries.isEmpty()) {
            return;
        }
        Batch batch = Batch.of(entries);
        long start = System.nanoTime();
        Logits out;
        try {
            out = source.forward(batch);
        } catch (KvCacheFullException e) {
            makeRoom();
            return;
        }
        int row = 0;
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).logitRows() == 0) {
                continue;
            }
            float[] logits = out.row(row++);
            Target t = targets.get(i);
            if (t.choice() != null) {
                accept(t.job(), t.choice(), logits);
            } else {
                prefilled(t.job(), logits);
            }
        }
        metrics.step(System.nanoTime() - start, batch.tokens());
        for (Job job : List.copyOf(running)) {
            if (job.state == Job.State.DECODE && Arrays.stream(job.choices).allMatch(c -> c.finish != null)) {
                finish(job);
            }
        }
    }

    /** The prompt is evaluated: cache it, fork it per choice, and choose every choice's first token. */
    private void prefilled(Job job, float[] logits) {
        GenerationRequest r = job.request;
        int[] prompt = r.prompt();
        metrics.evaluatedPromptTokens.add(prompt.length - job.cachedTokens);
        cache.insert(prompt, job.sequence.fork());
        int historyLength = (int) Math.min((long) prompt.length + r.maxTokens(), (long) limits.context() + 1);
        job.choices = new Job.Choice[r.n()];
        for (int i = 0; i < r.n(); i++) {
            SamplingParams s = r.sampling();
            SamplingParams mine = new SamplingParams(s.temperature(), s.topK(), s.topP(), s.minP(), s.repeatPenalty(), s.repeatLastN(), s.seed() + i);
            job.choices[i] = new Job.Choice(i, i == 0 ? job.sequence : job.sequence.fork(), new Sampler(mine, source.vocabularySize()),
                    tokenizer.newStreamDecoder(), new StopMatcher(r.stop()), prompt, historyLength);
        }
        job.sequence = null;
        job.state = Job.State.DECODE;
        for (Job.Choice c : job.choices) {
            accept(job, c, logits);
        }
    }

    /** Chooses a choice's next token from its logits and tells the client. */
    private void accept(Job job, Job.Choice c, float[] logits) {
        GenerationRequest r = job.request;
        int token = c.sampler.sample(logits, c.history, c.length);
        Event.Logprobs logprobs = r.logprobs() ? logprobs(logits, token, r.topLogprobs()) : null;
        c.history[c.length++] = token;
        c.generated++;
        metrics.generatedTokens.increment();
        boolean end = tokenizer.isEndOfGeneration(token);
        StringBuilder text = new StringBuilder(end ? "" : c.stops.accept(c.decoder.accept(token)));
        String reason = null;
        if (end || c.stops.stopped()) {
            reason = "stop";
        } else if (c.generated >= r.maxTokens() || c.length >= limits.context()) {
            reason = "length";
        }
        if (reason != null && !c.stops.stopped()) {
            text.append(c.stops.accept(c.decoder.flush()));
            if (c.stops.stopped()) {
                reason = "stop";
            } else {
                text.append(c.stops.flush());
            }
        }
        if (!text.isEmpty() || logprobs != null) {
            job.emit(new Event.Delta(c.index, text.toString(), logprobs));
        }
        if (reason == null) {
            c.pending = token;
            return;
        }
        c.finish = reason;
        job.emit(new Event.Finished(c.index, reason));
        cache.insert(c.history, c.sequence); // the cache owns it now; it holds every token fed
        c.sequence = null;
    }

    private void finish(Job job) {
        int completion = 0;
        for (Job.Choice c : job.choices) {
            completion += c.generated;
        }
        job.state = Job.State.DONE;
        running.remove(job);
        pressure = false;
        metrics.running.set(running.size());
        job.emit(new Event.Done(job.request.prompt().length, job.cachedTokens, completion, null));
    }

    /** The pool is full: drop a cached prefix, else re-queue (or cut short) the newest request. */
    private void makeRoom() {
        if (cache.evictOne()) {
            metrics.prefixEvictions.increment();
            return;
        }
        Job newest = running.stream().max((a, b) -> Long.compare(a.admission, b.admission)).orElseThrow();
        metrics.preemptions.increment();
        if (running.size() == 1) {
            abort(newest, new ApiException(503, "server_error", null, "kv_cache_full",
                    "the KV cache (" + pool.pages() + " pages of " + pool.pageSize() + " positions) cannot hold this request; raise --kv-pages"));
            return;
        }
        if (newest.state == Job.State.PREFILL) {
            newest.sequence.close();
            newest.sequence = null;
            newest.state = Job.State.WAITING;
            running.remove(newest);
            pressure = true;
            metrics.running.set(running.size());
            lock.lock();
            try {
                waiting.addFirst(newest);
                metrics.queued.set(waiting.size());
            } finally {
                lock.unlock();
            }
            return;
        }
        log.accept("scheduler: the KV pool is full; request " + newest.admission + " stops early (finish_reason length)");
        for (Job.Choice c : newest.choices) {
            if (c.finish == null) {
                c.finish = "length";
                newest.emit(new Event.Delta(c.index, c.stops.accept(c.decoder.flush()) + c.stops.flush(), null));
                newest.emit(new Event.Finished(c.index, "length"));
                c.sequence.close();
                c.sequence = null;
            }
        }
        finish(newest);
    }

    /** Closes a job's sequences and tells its client why. */
    private void abort(Job job, ApiException why) {
        if (job.sequence != null) {
            job.sequence.close();
            job.sequence = null;
        }
        if (job.choices != null) {
            for (Job.Choice c : job.choices) {
                if (c.sequence != null) {
                    c.sequence.close();
                    c.sequence = null;
                }
            }
        }
        job.state = Job.State.DONE;
        running.remove(job);
        pressure = false;
        metrics.running.set(running.size());
        metrics.cancelled.increment();
        job.emit(new Event.Failed(why));
    }

    /** The chosen token's log-probability under the model's distribution and the {@code top} most likely tokens'. */
    private Event.Logprobs logprobs(float[] logits, int token, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double lse = max + Math.log(sum);
        List<Event.TokenLogprob> best = new ArrayList<>();
        if (top > 0) {
            int[] ids = Sampler.topIds(logits, top);
            for (int id : ids) {
                best.add(tokenLogprob(id, logits[id] - lse));
            }
        }
        return new Event.Logprobs(tokenLogprob(token, logits[token] - lse), best);
    }

    private Event.TokenLogprob tokenLogprob(int id, double logprob) {
        byte[] bytes = tokenizer.tokenBytes(id);
        return new Event.TokenLogprob(id, new String(bytes, StandardCharsets.UTF_8), bytes, logprob);
    }

    private static ApiException cancelledError() {
        return new ApiException(499, "server_error", null, "cancelled", "the request was cancelled");
    }

    private static ApiException shutdownError() {
        return new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
    }

    /**
     * Stops taking requests, lets the running and queued ones finish for up to {@code graceMillis},
     * then cancels what is left and stops the thread.
     */
    @Override
    public void close() {
        close(0);
    }

    void close(long graceMillis) {
        lock.lock();
        try {
            accepting = false;
        } finally {
            lock.unlock();
        }
        long until = System.nanoTime() + graceMillis * 1_000_000L;
        while (System.nanoTime() < until && (metrics.running.get() > 0 || metrics.queued.get() > 0)) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        lock.lock();
        try {
            stopping = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
