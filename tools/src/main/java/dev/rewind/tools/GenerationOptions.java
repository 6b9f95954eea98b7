package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.decode.Cancellation;
import dev.rewind.align.decode.DecodeListener;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.DecodingStrategy;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.align.decode.PlainDecoding;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.List;

/**
 * The flags of {@code rewind generate} besides the model and the prompt — sampling, length, KV cache
 * and output format — shared by every command that generates ({@code generate}, {@code dera},
 * {@code aligner}), with the one generation loop and the one JSON rendering they all use.
 */
final class GenerationOptions {

    enum OutputFormat { text, json }

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

    /** A finished generation: the engine's result and the decoded continuation. */
    record Completion(GenerationContext.Result result, String text) {
    }

    /**
     * Checks the flags that need no model, and returns the seed to use (the one given, or a random one).
     *
     * @throws UserException          naming the flag
     * @throws IllegalArgumentException from {@link SamplingParams} naming the parameter
     */
    long checkAndSeed() {
        if (maxTokens < 0) {
            throw new UserException("--max-tokens must be >= 0, got " + maxTokens);
        }
        if (topLogits < 0) {
            throw new UserException("--top-logits must be >= 0, got " + topLogits);
        }
        if (topLogits > 0 && outputFormat != OutputFormat.json) {
            throw new UserException("--top-logits needs --output-format json");
        }
        long actual = seed != null ? seed : new SecureRandom().nextLong();
        samplingParams(actual); // refuses bad sampling values before any model is loaded
        return actual;
    }

    SamplingParams samplingParams(long actualSeed) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, actualSeed);
    }

    boolean json() {
        return outputFormat == OutputFormat.json;
    }

    /**
     * The context length for a prompt: {@code --context}, or prompt + max tokens capped at the model's.
     *
     * @throws UserException if {@code --context} is out of range or the prompt does not fit
     */
    int contextFor(int promptTokens, int modelContext) {
        // in long: the prompt plus --max-tokens 2147483647 must not wrap around
        int ctx = context != null ? context : (int) Math.min(modelContext, (long) promptTokens + Math.max(1, maxTokens));
        if (context != null && (context < 1 || context > modelContext)) {
            throw new UserException("--context must be between 1 and the model's context length " + modelContext + ", got " + context);
        }
        if (promptTokens > ctx) {
            throw new UserException("the prompt has " + promptTokens + " tokens but the context holds " + ctx
                    + (context == null ? " (the model's context length)" : ""));
        }
        return ctx;
    }

    /**
     * The context length when prompts vary (a batch): {@code --context}, or the model's context length
     * capped at {@code cap}.
     *
     * @throws UserException if {@code --context} is out of range
     */
    int contextUpTo(int modelContext, int cap) {
        if (context != null && (context < 1 || context > modelContext)) {
            throw new UserException("--context must be between 1 and the model's context length " + modelContext + ", got " + context);
        }
        return context != null ? context : Math.min(modelContext, cap);
    }

    /**
     * The KV capacity for a context of {@code ctx} tokens: {@code --kv-capacity}, or the context.
     *
     * @throws UserException if the page size is out of range or the capacity is below the context
     */
    int capacityFor(int ctx) {
        if (pageSize < 1 || pageSize > 4096) {
            throw new UserException("--page-size must be between 1 and 4096, got " + pageSize);
        }
        int capacity = kvCapacity != null ? kvCapacity : ctx;
        if (capacity < ctx) {
            throw new UserException("--kv-capacity " + capacity + " is smaller than the context of " + ctx + " tokens");
        }
        return capacity;
    }

    /** What a KV cache too large for this machine should make the user do: lower the flag that sized it. */
    String capacityRemedy() {
        return kvCapacity != null ? "lower --kv-capacity" : "lower --context";
    }

    /**
     * Generates from {@code promptIds} on {@code source} with these flags, decoding with
     * {@code tokenizer}, through a {@link PlainDecoding}. When {@code stream} is not null, each piece is
     * printed there as it comes.
     */
    Completion generate(LogitsSource source, Tokenizer tokenizer, int[] promptIds, int ctx, long actualSeed, PrintStream stream) {
        try (PlainDecoding plain = new PlainDecoding(source, tokenizer, ctx)) {
            return decode(plain, promptIds, actualSeed, stream);
        }
    }

    /** The request these flags make for {@code promptIds}. */
    DecodeRequest request(int[] promptIds, long actualSeed) {
        return new DecodeRequest("", promptIds, samplingParams(actualSeed), maxTokens, List.of(), ignoreEos, topLogits);
    }

    /**
     * Runs {@code strategy} (plain or DeRa: the report holds a generation) on {@code promptIds} with these
     * flags; when {@code stream} is not null, each piece is printed there as it comes.
     */
    Completion decode(DecodingStrategy strategy, int[] promptIds, long actualSeed, PrintStream stream) {
        DecodeListener printer = stream == null ? DecodeListener.NONE : new DecodeListener() {
            @Override
            public void onText(String piece) {
                stream.print(piece);
                stream.flush();
            }
        };
        Decoded d = strategy.decode(request(promptIds, actualSeed), printer, new Cancellation());
        GenerationContext.Result result = switch (d.report()) {
            case MethodReport.Plain p -> p.generation();
            case MethodReport.Dera p -> p.generation();
            case MethodReport.Aligner p -> p.generation();
            case MethodReport.Rain r -> throw new IllegalArgumentException("RAIN's report holds no single generation");
        };
        return new Completion(result, d.text());
    }

    /** The prompt and generation speed line {@code generate} prints on stderr. */
    static void printSpeed(PrintStream err, GenerationContext.Result r) {
        err.printf("prompt: %d tokens in %.1f ms (%.2f tokens/s); generation: %d tokens in %.1f ms (%.2f tokens/s)%n",
                r.promptTokens().length, r.promptNanos() / 1e6, perSecond(r.promptTokens().length, r.promptNanos()),
                r.tokens().length, r.predictNanos() / 1e6, perSecond(r.tokens().length, r.predictNanos()));
    }

    private static double perSecond(int n, long nanos) {
        return nanos == 0 ? 0 : n * 1e9 / nanos;
    }

    /**
     * The JSON object of {@code generate --output-format json}: {@code prompt_tokens}, {@code tokens},
     * {@code text}, {@code seed}, {@code stop}, {@code timings} and, with {@code --top-logits}, {@code steps}.
     */
    ObjectNode toJson(ObjectMapper mapper, Completion c, long actualSeed) {
        GenerationContext.Result r = c.result();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode promptTokens = root.putArray("prompt_tokens");
        for (int id : r.promptTokens()) {
            promptTokens.add(id);
        }
        ArrayNode tokens = root.putArray("tokens");
        for (int id : r.tokens()) {
            tokens.add(id);
        }
        root.put("text", c.text());
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
        return root;
    }
}
