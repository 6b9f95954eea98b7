package dev.rewind.tools;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.TransformerConfig;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.models.bert.Embedder;
import dev.rewind.server.EmbeddingModel;
import dev.rewind.server.RewindServer;
import dev.rewind.server.ServedModel;
import dev.rewind.server.ServerOptions;
import dev.rewind.tokenizer.chat.ChatFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code rewind serve}: the OpenAI-compatible HTTP server. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over an OpenAI-compatible HTTP API with continuous batching:",
                "POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, GET /metrics.",
                "Every running request's next token goes into one batched forward per step; prompts are evaluated in chunks",
                "between steps; a prefix cache over the paged KV cache lets requests that share a prefix skip it.",
                "Stops on SIGINT/SIGTERM: running requests get --shutdown-grace to finish, then are cancelled."})
final class ServeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "[NAME=]PATH", required = true,
            description = {"A GGUF file or Hugging Face folder; give it a name with NAME=PATH (default: the file name).",
                    "May be repeated: the first model generates, the others are named for alignment requests."})
    List<String> models;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads for the matrix kernels (default: all cores).")
    Integer threads;

    @Option(names = "--embedding-model", paramLabel = "[NAME=]PATH",
            description = {"The sentence encoder behind POST /v1/embeddings: a BERT model as rewind embed --model takes it (a Hugging",
                    "Face folder, a GGUF bert file or an ONNX export), opened at start (default: the bundled all-MiniLM-L6-v2,",
                    "loaded on the first embeddings request). Its name defaults to the file or folder name."})
    String embeddingModel;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fast", converter = ModelOptions.PrecisionConverter.class,
            description = "fast (default) or exact, as for generate.")
    dev.rewind.engine.tensor.Precision precision;

    @Option(names = "--quantize", paramLabel = "TYPE", description = "Quantize float matrices to Q8_0 or Q4_0 while loading.")
    String quantize;

    @Mixin
    ChatTemplateOptions chatTemplate;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 exposes the server to the network).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port;

    @Option(names = {"-c", "--context"}, paramLabel = "N",
            description = "Most positions per sequence, prompt and generated tokens (default: the model's context length).")
    Integer context;

    @Option(names = "--kv-pages", paramLabel = "N", description = "Pages in the fixed KV pool shared by all requests and the prefix cache.")
    Integer kvPages;

    @Option(names = "--kv-memory", paramLabel = "SIZE",
            description = "The KV pool as a size (e.g. 512M, 2G) instead of --kv-pages (default: 1G, at most --parallel × the context).")
    String kvMemory;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16", description = "Positions per KV page (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--kv-type", paramLabel = "TYPE", defaultValue = "F32", description = "KV precision: F32 or F16 (default: ${DEFAULT-VALUE}).")
    KvType kvType;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", defaultValue = "64",
            description = "Most sequences decoded together in one batched step (default: ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "256",
            description = "Most requests waiting for a slot; beyond it 429 with Retry-After (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "256",
            description = "Most prompt tokens evaluated per step, so running streams keep moving (default: ${DEFAULT-VALUE}).")
    int prefillChunk;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "1048576", description = "Largest request body (default: ${DEFAULT-VALUE}).")
    long maxBody;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", description = "Most prompt tokens per request (default: the context − 1).")
    Integer maxPromptTokens;

    @Option(names = "--max-tokens", paramLabel = "N", description = "Largest max_tokens, and the default when a request gives none (default: the context).")
    Integer maxTokens;

    @Option(names = "--max-n", paramLabel = "N", defaultValue = "16", description = "Largest n (default: ${DEFAULT-VALUE}).")
    int maxN;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600", description = "Per-request time limit (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--api-key-file", paramLabel = "FILE",
            description = "Require 'Authorization: Bearer KEY' with one of the keys in FILE (one per line; # comments).")
    Path apiKeyFile;

    @Option(names = "--log-content", description = "Log each request's output text (off: sizes, statuses and times only).")
    boolean logContent;

    @Option(names = "--prefix-cache", paramLabel = "ENTRIES", defaultValue = "256",
            description = "Most sequences the prefix cache keeps; 0 disables it (default: ${DEFAULT-VALUE}).")
    int prefixCacheEntries;

    @Option(names = "--shutdown-grace", paramLabel = "SECONDS", defaultValue = "10",
            description = "On shutdown, how long running requests may finish before they are cancelled (default: ${DEFAULT-VALUE}).")
    long shutdownGraceSeconds;

    private final PrintStream out;
    private final PrintStream err;

    ServeCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        List<String[]> named = new ArrayList<>();
        for (String m : models) {
            int eq = m.indexOf('=');
            String name = eq > 0 ? m.substring(0, eq) : Path.of(m).getFileName().toString();
            named.add(new String[]{name, eq > 0 ? m.substring(eq + 1) : m});
        }
        List<String> keys = apiKeyFile == null ? List.of() : readKeys(apiKeyFile);
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw new UserException("--threads must be between 1 and 1024, got " + n);
        }
        if (pageSize < 1 || pageSize > 4096) {
            throw new UserException("--page-size must be between 1 and 4096, got " + pageSize);
        }
        try (WorkerPool pool = new WorkerPool(n)) {
            List<LoadedModel> loaded = new ArrayList<>();
            Embedder encoder = null;
            try {
                List<ServedModel> served = new ArrayList<>();
                for (int i = 0; i < named.size(); i++) {
                    ModelOptions mo = new ModelOptions(err);
                    mo.model = Path.of(named.get(i)[1]);
                    mo.precision = precision;
                    mo.quantize = quantize;
                    LoadedModel model = mo.load(pool);
                    loaded.add(model);
                    ChatFormat chat = i == 0 ? chatTemplate.forModel(model).map(ChatPrompt::format).orElse(null)
                            : ChatPrompt.of(null, model.file(), model.tokenizer(), chatTemplate.dialect).map(ChatPrompt::format).orElse(null);
                    served.add(new ServedModel(named.get(i)[0], model, chat));
                }
                TransformerConfig config = loaded.getFirst().model().config();
                int ctx = context != null ? context : config.contextLength();
                if (ctx < 2 || ctx > config.contextLength()) {
                    throw new UserException("--context must be between 2 and the model's context length " + config.contextLength() + ", got " + ctx);
                }
                int pages = kvPages(config, ctx);
                MemoryBudget.checkKvCache(config, pages * pageSize, pageSize, kvType, loaded.getFirst().file().fileSize(),
                        kvPages != null ? "lower --kv-pages" : "lower --kv-memory");
                ServerOptions options;
                try {
                    options = new ServerOptions(host, port, ctx, parallel, queue, prefillChunk, maxBody,
                            maxPromptTokens != null ? maxPromptTokens : ctx - 1, maxTokens != null ? maxTokens : ctx, maxN,
                            Duration.ofSeconds(timeoutSeconds), keys, logContent, prefixCacheEntries, Duration.ofSeconds(shutdownGraceSeconds));
                } catch (IllegalArgumentException e) {
                    throw new UserException("serve: " + e.getMessage());
                }
                EmbeddingModel embedding = EmbeddingModel.miniLm(n);
                if (embeddingModel != null) {
                    encoder = openEncoder(embeddingModel, n);
                    embedding = servedAs(embeddingModel, encoder);
                }
                RewindServer server;
                try {
                    server = RewindServer.start(served, embedding, options, pages, pageSize, kvType, line -> {
                        synchronized (err) {
                            err.println(line);
                        }
                    });
                } catch (IllegalArgumentException e) {
                    throw new UserException("serve: " + e.getMessage());
                } catch (IOException e) {
                    throw new UserException("cannot listen on " + host + ":" + port + ": " + (e instanceof BindException ? "the address is in use or not local" : e.getMessage()));
                }
                CountDownLatch stopped = new CountDownLatch(1);
                Thread hook = new Thread(() -> {
                    try {
                        server.close();
                    } catch (Exception e) {
                        err.println("serve: shutdown: " + e.getMessage());
                    }
                    stopped.countDown();
                }, "rewind-shutdown");
                Runtime.getRuntime().addShutdownHook(hook);
                out.printf(Locale.ROOT, "rewind serve: %s on http://%s:%d (context %d, %d KV pages of %d, %d parallel, queue %d%s)%n",
                        served.getFirst().name(), host, server.port(), ctx, pages, pageSize, parallel, queue,
                        keys.isEmpty() ? "" : ", API keys required");
                out.flush();
                server.join();
                stopped.await();
                return 0;
            } finally {
                for (LoadedModel m : loaded) {
                    m.close();
                }
                if (encoder != null) {
                    encoder.close(); // the server closes it too if it was asked for embeddings: closing twice is a no-op
                }
            }
        }
    }

    /** Opens the encoder of {@code --embedding-model [NAME=]PATH}. */
    static Embedder openEncoder(String spec, int threads) throws IOException {
        int eq = spec.indexOf('=');
        return BertEmbedder.open(Path.of(eq > 0 ? spec.substring(eq + 1) : spec), threads);
    }

    /** {@code encoder} served under {@code --embedding-model}'s NAME, else its own name (the file or folder name). */
    static EmbeddingModel servedAs(String spec, Embedder encoder) {
        int eq = spec.indexOf('=');
        return new EmbeddingModel(eq > 0 ? spec.substring(0, eq) : encoder.name(), () -> encoder);
    }

    /** The pool size: --kv-pages, --kv-memory, or 1 GiB capped at --parallel full contexts. */
    private int kvPages(TransformerConfig config, int ctx) {
        if (kvPages != null && kvMemory != null) {
            throw new UserException("give --kv-pages or --kv-memory, not both");
        }
        long pageBytes = PagePool.bytesFor(config.layers(), config.kvDim(), pageSize, pageSize, kvType);
        long pages;
        if (kvPages != null) {
            pages = kvPages;
        } else if (kvMemory != null) {
            pages = parseSize(kvMemory) / pageBytes;
        } else {
            pages = Math.min((1L << 30) / pageBytes, (long) parallel * Math.ceilDiv(ctx, pageSize) + parallel);
        }
        long least = Math.ceilDiv(ctx, pageSize) + 1L;
        if (pages < least || pages > Integer.MAX_VALUE / pageSize) {
            throw new UserException("the KV pool of " + pages + " pages cannot hold one full context of " + ctx
                    + " tokens (needs " + least + " pages of " + pageSize + "); raise " + (kvMemory != null ? "--kv-memory" : "--kv-pages")
                    + " or lower --context");
        }
        return (int) pages;
    }

    static long parseSize(String text) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        if (t.endsWith("K")) {
            unit = 1L << 10;
        } else if (t.endsWith("M")) {
            unit = 1L << 20;
        } else if (t.endsWith("G")) {
            unit = 1L << 30;
        }
        if (unit > 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0) || v * unit > 1L << 50) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new UserException("--kv-memory '" + text + "' is not a size such as 512M or 2G");
        }
    }

    private static List<String> readKeys(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new UserException("--api-key-file: no such file: " + file);
        }
        List<String> keys = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String k = line.strip();
            if (!k.isEmpty() && !k.startsWith("#")) {
                keys.add(k);
            }
        }
        if (keys.isEmpty()) {
            throw new UserException("--api-key-file " + file + " holds no key");
        }
        return keys;
    }
}
