package dev.rewind.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.aligner.LocalModelUpstream;
import dev.rewind.align.aligner.Upstream;
import dev.rewind.align.aligner.UpstreamException;
import dev.rewind.align.decode.AlignerDecoding;
import dev.rewind.align.decode.DecodeListener;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.DecodingStrategy;
import dev.rewind.align.decode.DeraDecoding;
import dev.rewind.align.decode.FinishReason;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.align.decode.RainDecoding;
import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.HiddenStateEmbedder;
import dev.rewind.align.rain.ModelJudge;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.align.rain.RunCost;
import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.kv.KvType;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.Message;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Requests with a {@code "rewind"} method run here, one at a time on their own thread, outside the
 * shared batch: RAIN's tree search, DeRa's mixture and the Aligner's two generations each drive
 * their models in their own pattern, so each request gets its own runners (and KV pools) for its
 * life, built and driven through the align module's {@link DecodingStrategy} interface. Text
 * streams to the client as the strategy emits it (RAIN: span by span as it commits); the method's
 * report comes back as the response's {@code rewind} object.
 */
final class AlignmentLane implements AutoCloseable {

    private static final int PAGE = 16;

    private final Map<String, ServedModel> models;
    private final ServedModel main;
    private final ServerOptions options;
    private final Metrics metrics;
    private final Consumer<String> log;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("rewind-align").daemon(true).unstarted(r));
    private final AtomicInteger pending = new AtomicInteger();
    private final ObjectMapper json = new ObjectMapper();

    AlignmentLane(Map<String, ServedModel> models, ServedModel main, ServerOptions options, Metrics metrics, Consumer<String> log) {
        this.models = models;
        this.main = main;
        this.options = options;
        this.metrics = metrics;
        this.log = log;
    }

    /**
     * Queues an alignment request behind the ones already waiting.
     *
     * @throws ApiException 429 when the queue is full
     */
    Job submit(ApiRequest request) {
        if (pending.incrementAndGet() > options.queue() + 1) {
            pending.decrementAndGet();
            metrics.rejectedQueueFull.increment();
            throw new ApiException(429, "rate_limit_exceeded", null, "queue_full",
                    "the alignment queue is full (" + options.queue() + " requests waiting); retry later");
        }
        Job job = new Job(request.generation());
        try {
            worker.execute(() -> {
                try {
                    run(job, request);
                } finally {
                    pending.decrementAndGet();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            pending.decrementAndGet();
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
        return job;
    }

    private void run(Job job, ApiRequest r) {
        if (job.cancelled()) {
            job.emit(new Event.Failed(new ApiException(499, "server_error", null, "cancelled", "the request was cancelled")));
            return;
        }
        GenerationRequest g = r.generation();
        Alignment a = r.alignment();
        List<AutoCloseable> open = new ArrayList<>();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(Math.max(0, (g.deadlineNanos() - System.nanoTime()) / 1_000_000));
                job.cancel();
            } catch (InterruptedException e) {
                // the request ended first
            }
        });
        DecodeListener listener = new DecodeListener() {
            @Override
            public void onText(String piece) {
                if (!piece.isEmpty()) {
                    job.emit(new Event.Delta(0, piece, null));
                }
            }
        };
        try {
            Decoded d = switch (a.method()) {
                case "dera" -> dera(a, open).decode(DecodeRequest.ofTokens(g.prompt(), g.sampling(), g.maxTokens()).withStop(g.stop()),
                        listener, job.cancellation());
                case "rain" -> rain(a, g, open).decode(DecodeRequest.ofText(r.text(), g.sampling(), g.maxTokens()).withStop(g.stop()),
                        listener, job.cancellation());
                default -> {
                    AlignerDecoding decoding = aligner(a, g, open);
                    DecodeRequest request = new DecodeRequest(r.text(), new int[0], g.sampling(), g.maxTokens(), g.stop(), false, 0);
                    yield a.answer() != null ? decoding.correct(request, a.answer(), listener, job.cancellation())
                            : decoding.decode(request, listener, job.cancellation());
                }
            };
            if (d.finish() == FinishReason.CANCELLED) {
                metrics.cancelled.increment();
                job.emit(new Event.Failed(new ApiException(job.request.deadlineNanos() - System.nanoTime() < 0 ? 504 : 499, "server_error",
                        null, "cancelled", "the request was cancelled (client gone or past the per-request timeout)")));
                return;
            }
            metrics.generatedTokens.add(d.usage().completionTokens());
            job.emit(new Event.Finished(0, d.finish().wireName()));
            job.emit(new Event.Done(d.usage().promptTokens(), 0, d.usage().completionTokens(), report(d.report())));
        } catch (ApiException e) {
            job.emit(new Event.Failed(e));
        } catch (KvCacheFullException e) {
            job.emit(new Event.Failed(new ApiException(503, "server_error", null, "kv_cache_full", e.getMessage())));
        } catch (UpstreamException e) {
            job.emit(new Event.Failed(new ApiException(502, "server_error", null, "upstream_failed", "the aligner's upstream failed: " + e.getMessage())));
        } catch (IllegalArgumentException e) {
            job.emit(new Event.Failed(ApiException.invalid("rewind", "rewind." + a.method() + ": " + e.getMessage())));
        } catch (RuntimeException e) {
            log.accept("align: a rewind." + a.method() + " request failed: " + e);
            job.emit(new Event.Failed(new ApiException(500, "server_error", null, null, "rewind." + a.method() + " failed: " + e.getMessage())));
        } finally {
            watchdog.interrupt();
            for (int i = open.size() - 1; i >= 0; i--) {
                try {
                    open.get(i).close();
                } catch (Exception e) {
                    log.accept("align: closing " + open.get(i).getClass().getSimpleName() + " failed: " + e);
                }
            }
        }
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> open, T thing) {
        open.add(thing);
        return thing;
    }

    private int context(ServedModel m) {
        return Math.min(options.context(), m.loaded().model().config().contextLength());
    }

    private DeraDecoding dera(Alignment a, List<AutoCloseable> open) {
        ServedModel reference = models.get(a.reference());
        int ctx = Math.min(context(main), context(reference));
        SharedVocabulary vocabulary = Dera.checkVocabularies(main.name(), main.loaded(), reference.name(), reference.loaded());
        ModelRunner aligned = keep(open, new ModelRunner(main.loaded().model(), ctx, PAGE, KvType.F32));
        ModelRunner ref = keep(open, new ModelRunner(reference.loaded().model(), ctx, PAGE, KvType.F32));
        return keep(open, new DeraDecoding(aligned, ref, a.lambda(), vocabulary, Optional.ofNullable(a.guardTopP()), main.loaded().tokenizer(), ctx));
    }

    private RainDecoding rain(Alignment a, GenerationRequest g, List<AutoCloseable> open) {
        RainPreset preset = RainPreset.valueOf(a.preset().toUpperCase(Locale.ROOT));
        RainParams.Builder b = preset.builder();
        b.maxNewTokens = g.maxTokens();
        b.seed = g.sampling().seed();
        if (a.maxSearches() != null) {
            b.maxSearches = a.maxSearches();
            b.searchFloor = Math.min(b.searchFloor, a.maxSearches());
        }
        RainParams params;
        try {
            params = b.build();
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("rewind", "bad RAIN parameters: " + e.getMessage());
        }
        int ctx = context(main);
        if (ctx < 32) {
            throw ApiException.invalid("rewind", "rewind.rain needs a context of at least 32 tokens; the server's is " + ctx);
        }
        // room for the committed state, the judge's few-shot and the tree (as rewind rain sizes it)
        long nodes = 2L * (params.maxSearches() + params.searchFloor()) * (params.expansionWidth() + 2);
        int capacity = (int) Math.min(Integer.MAX_VALUE / 2, 8L * ctx + 4096 + nodes * 2 * PAGE);
        ServedModel judgeModel = a.judge() == null ? main : models.get(a.judge());
        Tokenizer tokenizer = main.loaded().tokenizer();
        ModelRunner generator = keep(open, new ModelRunner(main.loaded().model(), capacity, PAGE, KvType.F32));
        ModelRunner judgeRunner = judgeModel == main ? generator
                : keep(open, new ModelRunner(judgeModel.loaded().model(), capacity, PAGE, KvType.F32));
        ModelJudge judge = keep(open, new ModelJudge(judgeRunner, judgeModel.loaded().tokenizer(), preset.judge()));
        HiddenStateEmbedder embedder = keep(open, new HiddenStateEmbedder(judgeRunner, judgeModel.loaded().tokenizer(), 256));
        Rain rain = new Rain(generator, tokenizer, judge, embedder, params, Conversation.RAW, ctx);
        return keep(open, new RainDecoding(rain, Optional.empty(), false));
    }

    private AlignerDecoding aligner(Alignment a, GenerationRequest g, List<AutoCloseable> open) {
        ServedModel corrector = models.get(a.aligner());
        int actx = context(corrector);
        ModelRunner runner = keep(open, new ModelRunner(corrector.loaded().model(), actx, PAGE, KvType.F32));
        Aligner aligner = keep(open, new Aligner(runner, corrector.loaded().tokenizer(), AlignerTemplate.Builtin.byId("correction").orElseThrow(),
                new Aligner.Settings(g.sampling(), g.maxTokens(), false, 0, actx)));
        Optional<Upstream> upstream = Optional.empty();
        if (a.answer() == null) {
            int ctx = context(main);
            Tokenizer tokenizer = main.loaded().tokenizer();
            ModelRunner answering = keep(open, new ModelRunner(main.loaded().model(), ctx, PAGE, KvType.F32));
            upstream = Optional.of(keep(open, new LocalModelUpstream(main.name(), answering, tokenizer,
                    question -> main.chat() != null ? main.chat().encode(List.of(new Message("user", question)), true)
                            : tokenizer.encode(question, true, true), g.maxTokens(), ctx)));
        }
        return new AlignerDecoding(aligner, upstream);
    }

    /** The method's report as the response's {@code rewind} object. */
    private ObjectNode report(MethodReport report) {
        ObjectNode node = json.createObjectNode();
        node.put("method", report.method());
        switch (report) {
            case MethodReport.Plain _ -> { }
            case MethodReport.Dera d -> {
                node.put("lambda", d.lambda());
                d.plausibilityTopP().ifPresent(p -> node.put("guard_top_p", p));
                node.put("masked_ids", d.maskedIds());
            }
            case MethodReport.Rain rain -> {
                RunCost c = rain.cost();
                node.put("searches", rain.searches());
                node.put("generator_tokens", c.generatorTokens());
                node.put("judge_tokens", c.judgeTokens());
                node.put("embedder_tokens", c.embedderTokens());
                node.put("forward_calls", c.forwardCalls());
                node.put("kv_pages_peak", c.kvPagesPeak());
                node.put("seconds", c.seconds());
            }
            case MethodReport.Aligner al -> {
                node.put("upstream_answer", al.upstreamAnswer());
                node.put("source", al.source());
                node.put("upstream_seconds", al.upstreamSeconds());
                node.put("answer_used", al.answerUsed());
                node.put("truncated", al.truncated());
            }
        }
        return node;
    }

    /** Stops taking requests, cancels the running one and waits briefly for the thread. */
    @Override
    public void close() {
        worker.shutdownNow();
        try {
            worker.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
