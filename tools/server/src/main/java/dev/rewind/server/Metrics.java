package dev.rewind.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The server's counters, written by the scheduler and the HTTP threads, read as Prometheus text
 * by {@code GET /metrics}.
 */
final class Metrics {

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder cachedPromptTokens = new LongAdder();
    final LongAdder evaluatedPromptTokens = new LongAdder();
    final LongAdder generatedTokens = new LongAdder();
    final LongAdder prefixHits = new LongAdder();
    final LongAdder prefixMisses = new LongAdder();
    final LongAdder prefixEvictions = new LongAdder();
    final LongAdder preemptions = new LongAdder();
    final LongAdder rejectedQueueFull = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder stepNanos = new LongAdder();
    final LongAdder stepTokens = new LongAdder();
    final AtomicLong running = new AtomicLong();
    final AtomicLong queued = new AtomicLong();

    /** Counts one answered request by endpoint and HTTP status. */
    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, _ -> new LongAdder()).increment();
    }

    /** One scheduler step: its wall time and the tokens it evaluated. */
    void step(long nanos, int tokens) {
        steps.increment();
        stepNanos.add(nanos);
        stepTokens.add(tokens);
    }

    final AtomicLong cacheEntries = new AtomicLong();

    /** The Prometheus text exposition of every counter and gauge. */
    String render(IntSupplier pagesInUse, int pagesTotal) {
        StringBuilder b = new StringBuilder();
        b.append("# HELP rewind_requests_total HTTP requests answered, by endpoint and status.\n");
        b.append("# TYPE rewind_requests_total counter\n");
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(requests).entrySet()) {
            String[] key = e.getKey().split("\u0000");
            b.append("rewind_requests_total{endpoint=\"").append(key[0]).append("\",status=\"").append(key[1]).append("\"} ")
                    .append(e.getValue().sum()).append('\n');
        }
        counter(b, "rewind_prompt_tokens_total", "Prompt tokens of accepted requests.", promptTokens.sum());
        counter(b, "rewind_prompt_tokens_cached_total", "Prompt tokens taken from the prefix cache instead of evaluated.", cachedPromptTokens.sum());
        counter(b, "rewind_prompt_tokens_evaluated_total", "Prompt tokens evaluated by a forward pass.", evaluatedPromptTokens.sum());
        counter(b, "rewind_generated_tokens_total", "Tokens generated over all choices.", generatedTokens.sum());
        counter(b, "rewind_prefix_cache_hits_total", "Requests that forked a cached prefix.", prefixHits.sum());
        counter(b, "rewind_prefix_cache_misses_total", "Requests that found no cached prefix.", prefixMisses.sum());
        counter(b, "rewind_prefix_cache_evictions_total", "Cached prefixes dropped to make room.", prefixEvictions.sum());
        counter(b, "rewind_preemptions_total", "Requests stopped or re-queued because the KV pool was full.", preemptions.sum());
        counter(b, "rewind_rejected_queue_full_total", "Requests answered 429 because the queue was full.", rejectedQueueFull.sum());
        counter(b, "rewind_cancelled_total", "Requests cancelled (client gone, timeout, shutdown).", cancelled.sum());
        counter(b, "rewind_step_seconds_sum", "Wall time of the scheduler's batched forward steps.", stepNanos.sum() / 1e9);
        counter(b, "rewind_step_seconds_count", "Batched forward steps.", steps.sum());
        counter(b, "rewind_step_tokens_sum", "Tokens evaluated by the steps (decode rows and prefill chunks).", stepTokens.sum());
        gauge(b, "rewind_queue_depth", "Requests waiting for a slot.", queued.get());
        gauge(b, "rewind_running_requests", "Requests being prefilled or decoded.", running.get());
        gauge(b, "rewind_kv_pages_in_use", "KV pages referenced by any sequence (running or cached).", pagesInUse.getAsInt());
        gauge(b, "rewind_kv_pages_total", "KV pages in the fixed pool.", pagesTotal);
        gauge(b, "rewind_prefix_cache_entries", "Sequences kept by the prefix cache.", cacheEntries.get());
        return b.toString();
    }

    private static void counter(StringBuilder b, String name, String help, Number value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(name.endsWith("_sum") || name.endsWith("_count") ? " untyped" : " counter").append('\n');
        b.append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long value) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" gauge\n");
        b.append(name).append(' ').append(value).append('\n');
    }
}
