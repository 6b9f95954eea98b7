package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.ChatFormat;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** The tiny trained model, a server over it, and the single-request reference the server must equal. */
final class Fixture implements AutoCloseable {

    static final String CHATML = """
            {% for m in messages %}<|im_start|>{{ m.role }}
            {{ m.content }}<|im_end|>
            {% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
            {% endif %}""";
    static final int CONTEXT = 128;
    static final ObjectMapper JSON = new ObjectMapper();

    final WorkerPool pool;
    final LoadedModel model;
    final ChatFormat chat;
    final List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
    RewindServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(10)).build();

    Fixture() throws IOException {
        pool = new WorkerPool(2);
        model = ModelLoader.load(shared().resolve("models/stories260K.gguf"), pool, Precision.FAST);
        chat = ChatFormat.of(ChatTemplate.parse(CHATML), model.tokenizer(), RenderOptions.DEFAULT);
    }

    static Path shared() {
        String property = System.getProperty("rewind.shared");
        if (property == null || !Files.isDirectory(Path.of(property, "models"))) {
            throw new IllegalStateException("the shared fixtures are missing: " + property + " (set -Drewind.shared=/path/to/shared)");
        }
        return Path.of(property);
    }

    ServerOptions defaults() {
        return ServerOptions.defaults(CONTEXT).withPort(0);
    }

    Fixture start(ServerOptions options, int kvPages) throws Exception {
        server = RewindServer.start(List.of(new ServedModel("stories", model, chat)),
                EmbeddingModel.miniLm(Runtime.getRuntime().availableProcessors()), options, kvPages, 16, KvType.F32, log::add,
                this::awaitStepGate);
        return this;
    }

    /** While held, each forward step of the scheduler takes a permit: a test decides how far requests get, whatever the machine's speed. */
    private volatile boolean stepsHeld;
    private final Semaphore stepPermits = new Semaphore(0);

    /** From now on the scheduler waits before each forward step until {@link #allowSteps} or {@link #releaseSteps} (at most a minute each). */
    void holdSteps() {
        stepPermits.drainPermits();
        stepsHeld = true;
    }

    /** Lets {@code steps} more forward steps run while the steps are held. */
    void allowSteps(int steps) {
        stepPermits.release(steps);
    }

    void releaseSteps() {
        stepsHeld = false;
        stepPermits.release();
    }

    private void awaitStepGate() {
        if (stepsHeld) {
            try {
                stepPermits.tryAcquire(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Polls a metric until it has {@code value} (at most 20 s) and returns what it last read. */
    double awaitMetric(String name, double value) throws IOException, InterruptedException {
        long until = System.nanoTime() + 20_000_000_000L;
        double v = metric(name);
        while (v != value && System.nanoTime() < until) {
            Thread.sleep(5);
            v = metric(name);
        }
        return v;
    }

    Tokenizer tokenizer() {
        return model.tokenizer();
    }

    int[] completionPrompt(String text) {
        return tokenizer().encode(text, true, true);
    }

    int[] chatPrompt(String user) {
        return chat.encode(List.of(new Message("user", user)), true);
    }

    /** What {@code rewind generate} computes for a prompt: one sequence alone, the same sampler, the same decoding. */
    String reference(int[] prompt, int maxTokens, SamplingParams sampling) {
        Tokenizer tok = tokenizer();
        StreamDecoder decoder = tok.newStreamDecoder();
        StringBuilder text = new StringBuilder();
        try (ModelRunner runner = new ModelRunner(model.model(), CONTEXT, 16, KvType.F32);
             GenerationContext g = new GenerationContext(runner, tok::isEndOfGeneration, CONTEXT)) {
            g.generate(prompt, new Sampler(sampling, runner.vocabularySize()), new GenerationContext.Options(maxTokens, false, 0), token -> {
                if (!tok.isEndOfGeneration(token)) {
                    text.append(decoder.accept(token));
                }
            });
        }
        return text.append(decoder.flush()).toString();
    }

    String greedy(int[] prompt, int maxTokens) {
        return reference(prompt, maxTokens, SamplingParams.GREEDY);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A streamed response's text per choice, its finish reasons, and the usage chunk if any. */
    record Streamed(int status, String[] texts, String[] finish, JsonNode usage, List<JsonNode> chunks) {
    }

    Streamed stream(String path, String body, int n) throws IOException, InterruptedException {
        HttpResponse<java.util.stream.Stream<String>> r = http.send(HttpRequest.newBuilder(uri(path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofLines());
        String[] texts = new String[n];
        String[] finish = new String[n];
        java.util.Arrays.fill(texts, "");
        JsonNode[] usage = {null};
        List<JsonNode> chunks = new ArrayList<>();
        boolean[] done = {false};
        r.body().forEach(line -> {
            if (!line.startsWith("data: ")) {
                return;
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                done[0] = true;
                return;
            }
            try {
                JsonNode chunk = JSON.readTree(data);
                chunks.add(chunk);
                if (chunk.hasNonNull("usage")) {
                    usage[0] = chunk.get("usage");
                }
                for (JsonNode c : chunk.path("choices")) {
                    int i = c.get("index").asInt();
                    JsonNode text = c.has("delta") ? c.get("delta").get("content") : c.get("text");
                    if (text != null && !text.isNull()) {
                        texts[i] += text.asText();
                    }
                    if (c.hasNonNull("finish_reason")) {
                        finish[i] = c.get("finish_reason").asText();
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("bad chunk: " + data, e);
            }
        });
        if (r.statusCode() == 200 && !done[0]) {
            throw new IllegalStateException("the stream ended without [DONE]: " + chunks);
        }
        return new Streamed(r.statusCode(), texts, finish, usage[0], chunks);
    }

    /** The value of one Prometheus sample line. */
    double metric(String name) throws IOException, InterruptedException {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1));
            }
        }
        throw new IllegalStateException("no metric " + name);
    }

    /** Waits until no request runs or waits, then drops the prefix cache: every page must be free. */
    int pagesLeftAfterIdle() throws Exception {
        long until = System.nanoTime() + 30_000_000_000L;
        while (metric("rewind_running_requests") + metric("rewind_queue_depth") > 0) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("requests still running after 30 s");
            }
            Thread.sleep(20);
        }
        server.clearPrefixCache();
        return server.pagePool().pagesInUse();
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        releaseSteps();
        if (server != null) {
            server.close();
        }
        model.close();
        pool.close();
    }
}
