package dev.rewind.server;

import java.time.Duration;
import java.util.List;

/**
 * How {@link RewindServer} listens and what it allows.
 *
 * @param host             address to bind (127.0.0.1 unless told otherwise)
 * @param port             TCP port (0: any free port)
 * @param context          most positions one sequence may reach (prompt and generated tokens)
 * @param maxSequences     most sequences decoded in one batched step (an {@code n} of 3 takes 3)
 * @param queue            most requests waiting for a slot; beyond it 429 with Retry-After
 * @param prefillChunk     most prompt tokens evaluated per step
 * @param maxBodyBytes     largest request body; beyond it 413
 * @param maxPromptTokens  most prompt tokens per request
 * @param maxTokens        largest {@code max_tokens}; also the default when a request gives none
 * @param maxN             largest {@code n}
 * @param timeout          per-request time limit, from arrival to the last token
 * @param apiKeys          accepted Bearer keys (empty: no authentication)
 * @param logContent       log prompts and outputs (off: only sizes, statuses and times)
 * @param prefixCacheEntries most sequences the prefix cache keeps (0 disables it)
 * @param shutdownGrace    how long a shutdown lets running requests finish before cancelling them
 */
public record ServerOptions(String host, int port, int context, int maxSequences, int queue, int prefillChunk,
                            long maxBodyBytes, int maxPromptTokens, int maxTokens, int maxN, Duration timeout,
                            List<String> apiKeys, boolean logContent, int prefixCacheEntries, Duration shutdownGrace) {

    /**
     * @throws IllegalArgumentException naming the option that is out of range
     */
    public ServerOptions {
        check(port >= 0 && port <= 65535, "port must be between 0 and 65535, got " + port);
        check(context >= 2, "context must be at least 2 tokens, got " + context);
        check(maxSequences >= 1 && maxSequences <= 4096, "parallel sequences must be between 1 and 4096, got " + maxSequences);
        check(queue >= 0, "queue must be >= 0, got " + queue);
        check(prefillChunk >= 1, "prefill chunk must be >= 1, got " + prefillChunk);
        check(maxBodyBytes >= 1024, "body limit must be at least 1024 bytes, got " + maxBodyBytes);
        check(maxPromptTokens >= 1, "prompt token limit must be >= 1, got " + maxPromptTokens);
        check(maxTokens >= 1, "max-tokens limit must be >= 1, got " + maxTokens);
        check(maxN >= 1 && maxN <= maxSequences, "n limit must be between 1 and the parallel sequences " + maxSequences + ", got " + maxN);
        check(!timeout.isNegative() && !timeout.isZero(), "timeout must be positive, got " + timeout);
        check(prefixCacheEntries >= 0, "prefix cache entries must be >= 0, got " + prefixCacheEntries);
        apiKeys = List.copyOf(apiKeys);
    }

    /** Defaults for a model whose sequences may reach {@code context} positions. */
    public static ServerOptions defaults(int context) {
        return new ServerOptions("127.0.0.1", 8080, context, 64, 256, 256, 1 << 20, context - 1, context, 16,
                Duration.ofMinutes(10), List.of(), false, 256, Duration.ofSeconds(10));
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public ServerOptions withPort(int p) {
        return new ServerOptions(host, p, context, maxSequences, queue, prefillChunk, maxBodyBytes, maxPromptTokens, maxTokens, maxN,
                timeout, apiKeys, logContent, prefixCacheEntries, shutdownGrace);
    }

    public ServerOptions withQueue(int q) {
        return new ServerOptions(host, port, context, maxSequences, q, prefillChunk, maxBodyBytes, maxPromptTokens, maxTokens, maxN,
                timeout, apiKeys, logContent, prefixCacheEntries, shutdownGrace);
    }

    public ServerOptions withApiKeys(List<String> keys) {
        return new ServerOptions(host, port, context, maxSequences, queue, prefillChunk, maxBodyBytes, maxPromptTokens, maxTokens, maxN,
                timeout, keys, logContent, prefixCacheEntries, shutdownGrace);
    }

    public ServerOptions withParallel(int sequences, int prefill) {
        return new ServerOptions(host, port, context, sequences, queue, prefill, maxBodyBytes, maxPromptTokens, maxTokens,
                Math.min(maxN, sequences), timeout, apiKeys, logContent, prefixCacheEntries, shutdownGrace);
    }
}
