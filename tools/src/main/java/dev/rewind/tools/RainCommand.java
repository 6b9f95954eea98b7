package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.rewind.align.aligner.ResumableOutput;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.Embedder;
import dev.rewind.align.rain.EncoderEmbedder;
import dev.rewind.align.rain.HiddenStateEmbedder;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.align.rain.JudgeTemplate;
import dev.rewind.align.rain.JudgeTemplates;
import dev.rewind.align.rain.ModelJudge;
import dev.rewind.align.rain.PromptTooLongException;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.align.rain.RainResult;
import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.text.Escape;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code rewind rain}: RAIN, rewindable auto-regressive inference (Li et al., ICLR 2024). */
@Command(name = "rain", mixinStandardHelpOptions = true,
        description = {"RAIN: a tree search over token spans, judged by the model itself (or --judge-model), commits the",
                "most visited span and searches again. --prompt answers one prompt (the answer on stdout, the cost report",
                "on stderr); --input FILE.jsonl of {\"id\", \"prompt\"} lines writes one result line per prompt to --output",
                "(or stdout) and resumes, skipping ids already in --output. Every constant of the official code is a",
                "--param NAME=VALUE; --preset picks the HH, adversarial or TruthfulQA set and layout."})
final class RainCommand implements Callable<Integer> {

    enum OutputFormat { text, json }

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--judge-model", paramLabel = "PATH",
            description = "A separate judge (and embedding) model sharing nothing with the generator (default: the generator judges itself).")
    Path judgeModel;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "One prompt (the user's text, laid out by the preset).")
    String prompt;

    @Option(names = "--input", paramLabel = "FILE.jsonl", description = "Prompts, one {\"id\": ..., \"prompt\": ...} per line.")
    Path input;

    @Option(names = "--output", paramLabel = "FILE.jsonl",
            description = "Append one result line per prompt; ids already there are skipped (resumption).")
    Path output;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "hh",
            description = "hh, adv or truthfulqa: parameters, prompt layout and judge of that official script (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--raw-prompt", description = "Give the prompt to the model as it is, without the preset's layout (the whole text is judged).")
    boolean rawPrompt;

    @Option(names = "--judge-template", paramLabel = "FILE.json",
            description = "Judge another property: a JSON template (\"kind\": \"two-orders\" or \"yes-no\", see the README).")
    Path judgeTemplate;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", description = "Seed of every draw (default: the preset's, 0).")
    Long seed;

    @Option(names = {"-n", "--max-new-tokens"}, paramLabel = "N", description = "Answer tokens at most (default: no limit but --param maxLength).")
    Integer maxNewTokens;

    @Option(names = "--param", paramLabel = "NAME=VALUE", description = "Set a RAIN parameter, e.g. maxSearches=30, spanLengths=1,2,4,10 (repeatable).")
    List<String> params = new ArrayList<>();

    @Option(names = {"-c", "--context"}, paramLabel = "N", description = "Context length of one sequence (default: the model's).")
    Integer context;

    @Option(names = "--kv-capacity", paramLabel = "TOKENS",
            description = "KV cache of each model, in tokens over all sequences (default: 8 × the longest sequence the search reaches + 4096 + room for the tree's nodes;"
                    + " that sequence is maxLength + the longest span + the judge prompt, at most the context).")
    Integer kvCapacity;

    @Option(names = "--kv-type", paramLabel = "TYPE", defaultValue = "F32", description = "KV precision: F32 or F16 (default: ${DEFAULT-VALUE}).")
    KvType kvType;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "16", description = "Positions per KV page (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "Write the search tree of every commit as JSON (a batch: one line per prompt); draw it with rain-view.")
    Path trace;

    @Option(names = "--embedder", paramLabel = "NAME", defaultValue = "minilm",
            description = {"Sentence embeddings of the similarity update and dynamic addition: minilm (default: all-MiniLM-L6-v2,"
                    + " bundled, as in the paper's three settings) or hidden (mean-pooled final hidden states of the judge model,"
                    + " with HiddenStateEmbedder's thresholds)."})
    String embedderName;

    @Option(names = "--no-plain", description = "Skip the plain-generation baseline of the cost report.")
    boolean noPlain;

    @Option(names = "--output-format", paramLabel = "FORMAT", defaultValue = "text",
            description = "For --prompt: text (the answer) or json (one result object) (default: ${DEFAULT-VALUE}).")
    OutputFormat outputFormat;

    private final PrintStream out;
    private final PrintStream err;

    RainCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        if ((prompt == null) == (input == null)) {
            throw new UserException(prompt == null ? "give the prompts: --prompt TEXT or --input FILE.jsonl"
                    : "--prompt and --input exclude each other");
        }
        if (!embedderName.equals("minilm") && !embedderName.equals("hidden")) {
            throw new UserException("--embedder must be minilm or hidden, got '" + embedderName + "'");
        }
        RainPreset p = RainPreset.named(preset);
        RainParams rainParams = params(p);
        Conversation conversation = rawPrompt ? Conversation.RAW : p.conversation();
        JudgeTemplate template = judgeTemplate != null ? JudgeTemplates.read(judgeTemplate) : p.judge();
        List<AutoCloseable> open = new ArrayList<>();
        try (WorkerPool pool = modelOptions.newPool()) {
            LoadedModel generator = modelOptions.load(pool);
            open.add(generator);
            int ctx = context != null ? context : generator.model().config().contextLength();
            LoadedModel judgeLoaded = generator;
            if (judgeModel != null) {
                ModelOptions judgeOptions = new ModelOptions();
                judgeOptions.model = judgeModel;
                judgeLoaded = judgeOptions.load(pool);
                open.add(judgeLoaded);
            }
            int judgePrompt = judgePromptTokens(template, judgeLoaded.tokenizer());
            // a self-judge's sequences live in the generator's cache: it must hold the judge prompts as well
            ModelRunner runner = runner(generator, ctx, judgeModel == null ? judgePrompt : 0, rainParams, open);
            ModelRunner judgeRunner = judgeModel == null ? runner
                    : runner(judgeLoaded, judgeLoaded.model().config().contextLength(), judgePrompt, rainParams, open);
            ModelJudge judge = new ModelJudge(judgeRunner, judgeLoaded.tokenizer(), template);
            open.add(judge);
            Embedder embedder = switch (embedderName) {
                case "hidden" -> new HiddenStateEmbedder(judgeRunner, judgeLoaded.tokenizer(), 256);
                default -> new EncoderEmbedder(BertEmbedder.miniLm(pool), true);
            };
            open.add((AutoCloseable) embedder);
            Rain rain = new Rain(runner, generator.tokenizer(), judge, embedder, rainParams, conversation, ctx);
            RainRun run = new RainRun(rain, runner, !noPlain);
            ObjectMapper json = new ObjectMapper();
            if (input == null) {
                return single(run, json);
            }
            return batch(run, json);
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
    }

    private RainParams params(RainPreset p) {
        RainParams.Builder b = p.builder();
        if (embedderName.equals("hidden")) {
            b.similarityThreshold = HiddenStateEmbedder.SIMILARITY_THRESHOLD;
            b.dynamicAddVarianceFactor = HiddenStateEmbedder.VARIANCE_FACTOR;
        }
        for (String assignment : params) {
            RainParamOverrides.apply(b, assignment);
        }
        if (seed != null) {
            b.seed = seed;
        }
        if (maxNewTokens != null) {
            b.maxNewTokens = maxNewTokens;
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UserException("bad RAIN parameter: " + e.getMessage());
        }
    }

    private ModelRunner runner(LoadedModel model, int ctx, int judgePrompt, RainParams p, List<AutoCloseable> open) {
        if (ctx < 32) {
            throw new UserException("--context must be at least 32, got " + ctx);
        }
        int capacity = kvCapacity != null ? kvCapacity : defaultCapacity(reach(ctx, judgePrompt, p), p);
        if (pageSize < 1 || pageSize > 4096) {
            throw new UserException("--page-size must be between 1 and 4096, got " + pageSize);
        }
        MemoryBudget.checkKvCache(model.model().config(), capacity, pageSize, kvType, model.file().fileSize(),
                kvCapacity != null ? "lower --kv-capacity" : "lower --param maxLength or --context (the default --kv-capacity grows with them) or give a smaller --kv-capacity");
        ModelRunner runner = new ModelRunner(model.model(), capacity, pageSize, kvType);
        open.add(runner);
        return runner;
    }

    /**
     * The longest sequence the search can make in a cache: a path is at most {@code maxLength} plus one
     * span (and its simulation stops there too), a judge prompt its template's tokens plus a judged text
     * of at most that length; never more than the context. A 128k-context model thus gets a cache for the
     * search's 2048 + spans, not for 128k positions it cannot reach (ALGORITHMS.md §1.10: maxlen 2048).
     */
    static int reach(int ctx, int judgePrompt, RainParams p) {
        long path = (long) p.maxLength() + p.maxSpanLength() + 1;
        return (int) Math.min(ctx, path + judgePrompt);
    }

    /** Tokens of the judge template's prompt around an empty text (its few-shot and options). */
    static int judgePromptTokens(JudgeTemplate template, dev.rewind.tokenizer.Tokenizer tokenizer) {
        return switch (template) {
            case JudgeTemplate.TwoOrders t -> Math.max(tokenizer.encode(t.goodFirst(""), true, false).length,
                    tokenizer.encode(t.goodSecond(""), true, false).length);
            case JudgeTemplate.YesNo y -> tokenizer.encode(y.prompt(""), true, false).length;
        };
    }

    /**
     * Room for the committed state, the judge's few-shot and recent texts, and the tree: a node's own
     * pages are about two (its span and the partly filled page it copied), and a commit's tree holds up to
     * (inherited + new searches) × (width + 2) nodes; {@code reach} is the longest sequence (see {@link #reach}).
     */
    private int defaultCapacity(int reach, RainParams p) {
        long nodes = 2L * (p.maxSearches() + p.searchFloor()) * (p.expansionWidth() + 2);
        long tokens = 8L * reach + 4096 + nodes * 2 * pageSize;
        return (int) Math.min(Integer.MAX_VALUE / 2, tokens);
    }

    private int single(RainRun run, ObjectMapper json) throws IOException {
        RainRun.Outcome o = runOne(run, prompt);
        if (trace != null) {
            writeAtomically(trace, json.writeValueAsString(o.result().trace().orElseThrow()) + "\n");
        }
        if (outputFormat == OutputFormat.json) {
            out.println(json.writeValueAsString(o.toJson(json, TextNode.valueOf("1"))));
        } else {
            out.println(o.result().answer());
            out.flush();
            o.report(err);
        }
        return 0;
    }

    private RainRun.Outcome runOne(RainRun run, String text) {
        try {
            return run.run(text, trace != null);
        } catch (PromptTooLongException e) {
            throw new UserException(e.getMessage() + "; raise --context (or --param maxLength) if the model can take it");
        } catch (KvCacheFullException e) {
            throw new UserException(e.getMessage() + " (the search tree needs room: raise --kv-capacity, lower --page-size or maxSearches)");
        }
    }

    /**
     * The prompts of --input, one line at a time (see {@link BatchInput}): a line that cannot be read,
     * has no string "prompt" or whose id the id rule refuses becomes a result line with an error, so every
     * line of the input is one line of the output.
     */
    private int batch(RainRun run, ObjectMapper json) throws IOException {
        long start = System.nanoTime();
        int done = 0;
        int skipped = 0;
        int failed = 0;
        int position = 0;
        try (BatchInput items = BatchInput.open(input);
             ResumableOutput file = output != null ? ResumableOutput.open(output, false) : null;
             TraceFile traces = trace == null ? null : TraceFile.open(trace, file)) {
            if (file != null && file.resumed().done() > 0) {
                err.println("rain: resuming " + Escape.visible(output.toString()) + ": " + file.resumed().done() + " prompts done"
                        + (file.resumed().cutBytes() > 0 ? ", an unfinished last line removed" : ""));
            }
            String total = items.items() == BatchInput.UNKNOWN ? "?" : Integer.toString(items.items());
            for (BatchItem item = items.next(); item != null; item = items.next()) {
                position++;
                JsonNode id = item.id();
                if (file != null && file.isDone(id)) {
                    skipped++;
                    continue;
                }
                String prompt = item instanceof BatchItem.Ok ok && ok.fields().path("prompt").isTextual()
                        ? ok.fields().get("prompt").asText() : null;
                String error = switch (item) {
                    case BatchItem.Bad bad -> bad.problem();
                    case BatchItem.Ok ok -> prompt == null ? "line " + ok.line() + " has no string \"prompt\"" : null;
                };
                RainRun.Outcome o = null;
                if (error == null) {
                    try {
                        o = runOne(run, prompt);
                    } catch (UserException | IllegalArgumentException e) {
                        error = e.getMessage();
                    }
                }
                ObjectNode line;
                if (o != null) {
                    line = o.toJson(json, id);
                    if (traces != null) {
                        ObjectNode t = json.createObjectNode();
                        t.set("id", id);
                        t.set("trace", json.valueToTree(o.result().trace().orElseThrow()));
                        traces.append(json.writeValueAsString(t));
                    }
                } else {
                    failed++;
                    line = json.createObjectNode();
                    line.set("id", id);
                    line.put("prompt", prompt == null ? "" : prompt);
                    line.put("error", error);
                }
                if (file != null) {
                    file.append(id, json.writeValueAsString(line));
                } else {
                    out.println(json.writeValueAsString(line));
                    out.flush();
                }
                done++;
                err.println(Escape.visible(String.format("rain: [%d/%s] %s: %s", position, total, Escape.excerpt(id.toString(), 80),
                        o == null ? "failed: " + error : String.format("%d commits, %d searches, %.2f s (plain %.2f s)",
                                o.result().commits(), o.result().searches(), o.result().cost().seconds(), o.plainSeconds()))));
                err.flush();
            }
        }
        err.printf("rain: %d prompts: %d done in this run, %d skipped (done before), %d failed; %.1f s%n",
                position, done, skipped, failed, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path temp = dir.resolve(file.getFileName() + ".tmp");
        try {
            Files.writeString(temp, text, StandardCharsets.UTF_8);
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
