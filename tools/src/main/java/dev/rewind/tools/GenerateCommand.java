package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code rewind generate}: continue a prompt. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a continuation of a prompt and stream it to stdout.",
                "Sampling order: repetition penalty, temperature, top-k, top-p, min-p, seeded draw."})
final class GenerateCommand implements Callable<Integer> {

    enum OutputFormat { text, json }

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true, description = "The prompt.")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256",
            description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8",
            description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k; 0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p (nucleus); 1 disables (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p; 0 disables (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "R", defaultValue = "1.0",
            description = "Repetition penalty; 1 disables (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64",
            description = "Recent tokens the repetition penalty looks at (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Random seed (default: a random one, printed with --output-format json).")
    Long seed;

    @Option(names = "--ignore-eos", description = "Keep generating after an end-of-generation token.")
    boolean ignoreEos;

    @Option(names = {"-c", "--context"}, paramLabel = "N",
            description = "Context length in tokens (default: prompt + max tokens, at most the model's context length).")
    Integer context;

    @Option(names = "--kv-capacity", paramLabel = "TOKENS",
            description = "KV cache size in tokens (default: the context length).")
    Integer kvCapacity;

    @Option(names = "--kv-type", paramLabel = "TYPE", defaultValue = "F32",
            description = "KV cache precision: F32 or F16 (default: ${DEFAULT-VALUE}).")
    KvType kvType;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16",
            description = "Positions per KV cache page (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "text",
            description = "text (stream the continuation) or json (one object at the end) (default: ${DEFAULT-VALUE}).")
    OutputFormat outputFormat;

    @Option(names = "--top-logits", paramLabel = "K", defaultValue = "0",
            description = "With json output, list the K highest raw logits of every step (default: ${DEFAULT-VALUE}).")
    int topLogits;

    private final PrintStream out;
    private final PrintStream err;

    GenerateCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) {
            throw new UserException("--max-tokens must be >= 0, got " + maxTokens);
        }
        if (topLogits < 0) {
            throw new UserException("--top-logits must be >= 0, got " + topLogits);
        }
        if (topLogits > 0 && outputFormat != OutputFormat.json) {
            throw new UserException("--top-logits needs --output-format json");
        }
        long actualSeed = seed != null ? seed : new java.security.SecureRandom().nextLong();
        SamplingParams params = new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, actualSeed);
        try (WorkerPool pool = modelOptions.newPool(); LoadedModel loaded = modelOptions.load(pool, err)) {
            Tokenizer tokenizer = loaded.tokenizer();
            int[] promptIds = tokenizer.encode(prompt, true, true);
            int modelContext = loaded.model().config().contextLength();
            int ctx = context != null ? context : Math.min(modelContext, promptIds.length + Math.max(1, maxTokens));
            if (context != null && (context < 1 || context > modelContext)) {
                throw new UserException("--context must be between 1 and the model's context length " + modelContext + ", got " + context);
            }
            if (promptIds.length > ctx) {
                throw new UserException("the prompt has " + promptIds.length + " tokens but the context holds " + ctx
                        + (context == null ? " (the model's context length)" : ""));
            }
            if (pageSize < 1 || pageSize > 4096) {
                throw new UserException("--page-size must be between 1 and 4096, got " + pageSize);
            }
            int capacity = kvCapacity != null ? kvCapacity : ctx;
            if (capacity < ctx) {
                throw new UserException("--kv-capacity " + capacity + " is smaller than the context of " + ctx + " tokens");
            }
            MemoryBudget.checkKvCache(loaded.model().config(), capacity, kvType, loaded.file().fileSize());
            Sampler sampler = new Sampler(params, loaded.model().config().vocabularySize());
            GenerationContext.Options options = new GenerationContext.Options(maxTokens, ignoreEos, topLogits);
            StreamDecoder decoder = tokenizer.newStreamDecoder();
            boolean stream = outputFormat == OutputFormat.text;
            StringBuilder text = new StringBuilder();
            GenerationContext.Result result;
            try (ModelRunner runner = new ModelRunner(loaded.model(), capacity, pageSize, kvType);
                 GenerationContext context = new GenerationContext(runner, tokenizer::isEndOfGeneration, ctx)) {
                result = context.generate(promptIds, sampler, options, token -> {
                    boolean stop = !ignoreEos && tokenizer.isEndOfGeneration(token);
                    String piece = stop ? "" : decoder.accept(token);
                    text.append(piece);
                    if (stream && !piece.isEmpty()) {
                        out.print(piece);
                        out.flush();
                    }
                });
            }
            String tail = decoder.flush();
            text.append(tail);
            if (stream) {
                out.print(tail);
                out.println();
                out.flush();
                printSpeed(result);
                if (result.stop() == GenerationContext.StopReason.CONTEXT_FULL) {
                    err.println("generate: stopped at the end of the context (" + ctx + " tokens); raise --context");
                }
            } else {
                out.println(json(result, text.toString(), actualSeed));
            }
            return 0;
        }
    }

    private void printSpeed(GenerationContext.Result r) {
        err.printf("prompt: %d tokens in %.1f ms (%.2f tokens/s); generation: %d tokens in %.1f ms (%.2f tokens/s)%n",
                r.promptTokens().length, r.promptNanos() / 1e6, perSecond(r.promptTokens().length, r.promptNanos()),
                r.tokens().length, r.predictNanos() / 1e6, perSecond(r.tokens().length, r.predictNanos()));
    }

    private static double perSecond(int n, long nanos) {
        return nanos == 0 ? 0 : n * 1e9 / nanos;
    }

    private String json(GenerationContext.Result r, String text, long actualSeed) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode promptTokens = root.putArray("prompt_tokens");
        for (int id : r.promptTokens()) {
            promptTokens.add(id);
        }
        ArrayNode tokens = root.putArray("tokens");
        for (int id : r.tokens()) {
            tokens.add(id);
        }
        root.put("text", text);
        root.put("seed", actualSeed);
        root.put("stop", r.stop().name().toLowerCase());
        ObjectNode timings = root.putObject("timings");
        timings.put("prompt_n", r.promptTokens().length);
        timings.put("prompt_ms", r.promptNanos() / 1e6);
        timings.put("prompt_per_second", perSecond(r.promptTokens().length, r.promptNanos()));
        timings.put("predicted_n", r.tokens().length);
        timings.put("predicted_ms", r.predictNanos() / 1e6);
        timings.put("predicted_per_second", perSecond(r.tokens().length, r.predictNanos()));
        if (topLogits > 0) {
            ArrayNode steps = root.putArray("steps");
            for (GenerationContext.Step step : r.steps()) {
                ObjectNode s = steps.addObject();
                s.put("id", step.token());
                ArrayNode top = s.putArray("top_logits");
                for (int i = 0; i < step.topIds().length; i++) {
                    top.addArray().add(step.topIds()[i]).add(step.topLogits()[i]);
                }
            }
        }
        return mapper.writeValueAsString(root);
    }
}
