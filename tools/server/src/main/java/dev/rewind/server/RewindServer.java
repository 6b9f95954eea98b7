package dev.rewind.server;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.models.ModelRunner;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * {@code rewind serve}: an OpenAI-compatible HTTP server (Jetty, a virtual thread per request) in
 * front of one {@link Scheduler} that batches every running request of the first model into one
 * forward call per step, over a fixed pool of KV pages shared with a prefix cache.
 *
 * <p>Endpoints: {@code POST /v1/chat/completions}, {@code POST /v1/completions}, {@code POST /v1/embeddings}
 * (an {@link EmbeddingModel}, loaded on its first request), {@code GET /v1/models},
 * {@code GET /health}, {@code GET /metrics}. Start with {@link #start}; {@link #close} stops taking
 * requests, lets the running ones finish for the options' grace period, cancels the rest and frees
 * the cache.
 */
public final class RewindServer implements AutoCloseable {

    private final ModelRunner runner;
    private final Scheduler scheduler;
    private final AlignmentLane lane;
    private final EmbeddingModel.Holder embeddings;
    private final OpenAiHandler handler;
    private final Server http;
    private final ServerOptions options;
    private final Consumer<String> log;
    private final int port;

    private RewindServer(ModelRunner runner, Scheduler scheduler, AlignmentLane lane, EmbeddingModel.Holder embeddings, OpenAiHandler handler, Server http, ServerOptions options,
                         Consumer<String> log, int port) {
        this.runner = runner;
        this.scheduler = scheduler;
        this.lane = lane;
        this.embeddings = embeddings;
        this.handler = handler;
        this.http = http;
        this.options = options;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts serving {@code models} (the first generates; the others are named for alignment requests).
     *
     * @param kvPages  pages in the fixed KV pool
     * @param pageSize positions per page
     * @param kvType   KV precision
     * @param log      where the server's one-line logs go
     * @throws Exception if the port cannot be bound
     */
    public static RewindServer start(List<ServedModel> models, ServerOptions options, int kvPages, int pageSize, KvType kvType,
                                     Consumer<String> log) throws Exception {
        return start(models, EmbeddingModel.miniLm(Runtime.getRuntime().availableProcessors()), options, kvPages, pageSize, kvType, log);
    }

    /**
     * As {@link #start(List, ServerOptions, int, int, KvType, Consumer)}, with {@code embedding} behind
     * {@code POST /v1/embeddings} (its name must differ from the models').
     */
    public static RewindServer start(List<ServedModel> models, EmbeddingModel embedding, ServerOptions options, int kvPages, int pageSize,
                                     KvType kvType, Consumer<String> log) throws Exception {
        return start(models, embedding, options, kvPages, pageSize, kvType, log, () -> { });
    }

    /**
     * As above, with {@code beforeStep} run on the scheduler thread before each batched forward step.
     * Tests pass a gate there to hold requests running or queued for as long as they need, whatever
     * the speed of the machine; the server itself passes nothing.
     */
    static RewindServer start(List<ServedModel> models, EmbeddingModel embedding, ServerOptions options, int kvPages, int pageSize,
                              KvType kvType, Consumer<String> log, Runnable beforeStep) throws Exception {
        if (models.isEmpty()) {
            throw new IllegalArgumentException("no model to serve");
        }
        Map<String, ServedModel> byName = new LinkedHashMap<>();
        for (ServedModel m : models) {
            if (byName.put(m.name(), m) != null) {
                throw new IllegalArgumentException("two models are named '" + m.name() + "'");
            }
        }
        if (byName.containsKey(embedding.name())) {
            throw new IllegalArgumentException("a model and the embedding model are both named '" + embedding.name() + "'");
        }
        ServedModel main = models.getFirst();
        ModelRunner runner = new ModelRunner(main.loaded().model(), kvPages * pageSize, pageSize, kvType);
        PagePool pool = runner.pagePool();
        Metrics metrics = new Metrics();
        Scheduler scheduler = new Scheduler(runner, pool, main.loaded().tokenizer(),
                new Scheduler.Limits(options.maxSequences(), options.queue(), options.prefillChunk(), options.context()),
                new PrefixCache(options.prefixCacheEntries()), metrics, log, beforeStep);
        AlignmentLane lane = new AlignmentLane(byName, main, options, metrics, log);
        EmbeddingModel.Holder embeddings = new EmbeddingModel.Holder(embedding);
        OpenAiHandler handler = new OpenAiHandler(byName, main.name(), options, scheduler, lane, metrics, pool::pagesInUse, pool.pages(),
                embeddings, log);

        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("rewind-http");
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server http = new Server(threads);
        ServerConnector connector = new ServerConnector(http);
        connector.setHost(options.host());
        connector.setPort(options.port());
        connector.setIdleTimeout(options.timeout().toMillis() + 60_000);
        http.addConnector(connector);
        http.setHandler(handler);
        http.setErrorHandler(new JsonErrorHandler()); // Jetty's own refusals (bad framing, limits) as OpenAI error objects
        http.setStopTimeout(options.shutdownGrace().toMillis() + 5_000);
        try {
            http.start();
        } catch (Exception e) {
            scheduler.close();
            lane.close();
            runner.close();
            throw e;
        }
        return new RewindServer(runner, scheduler, lane, embeddings, handler, http, options, log, connector.getLocalPort());
    }

    /** The port bound (useful with port 0). */
    public int port() {
        return port;
    }

    /** The KV page pool (for tests and metrics). */
    public PagePool pagePool() {
        return runner.pagePool();
    }

    /** Drops every cached prefix, giving its pages back to the pool. */
    public void clearPrefixCache() throws InterruptedException {
        scheduler.clearPrefixCache();
    }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException {
        http.join();
    }

    @Override
    public void close() throws Exception {
        handler.shuttingDown();
        scheduler.close(options.shutdownGrace().toMillis());
        lane.close();
        http.stop();
        embeddings.close();
        runner.close();
        log.accept("server: stopped");
    }
}
