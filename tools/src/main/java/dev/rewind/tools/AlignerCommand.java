package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.rewind.align.aligner.AlignedItem;
import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.aligner.AlignerBatch;
import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.aligner.InputLine;
import dev.rewind.align.aligner.LocalModelUpstream;
import dev.rewind.align.aligner.OpenAiUpstream;
import dev.rewind.align.aligner.ResumableOutput;
import dev.rewind.align.aligner.Upstream;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.engine.text.Escape;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.chat.RenderOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;

/** {@code rewind aligner}: a corrector model rewrites upstream answers (Aligner, Ji et al. 2024). */
@Command(name = "aligner", mixinStandardHelpOptions = true, defaultValueProvider = AlignerCommand.Defaults.class,
        description = {"Correct upstream answers with an Aligner model (a corrector LM).",
                "The question and answer go into the Aligner checkpoint's template; the Aligner",
                "generates from it (greedily by default) and only its completion is kept.",
                "Answers come from a local model (--upstream), an OpenAI-compatible endpoint",
                "(--upstream-url), or the \"answer\" of each --input line {\"id\", \"question\",",
                "\"answer\"}. With --output, a batch appends one line per finished item and",
                "resumes where it stopped, skipping the ids already there."})
final class AlignerCommand implements Callable<Integer> {

    /**
     * Greedy decoding and corrections of up to 2048 tokens unless told otherwise, as the Aligner's model card
     * generates ({@code max_new_tokens=2048}, no sampling).
     */
    static final class Defaults implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(CommandLine.Model.ArgSpec argSpec) {
            if (!(argSpec instanceof CommandLine.Model.OptionSpec o)) {
                return null;
            }
            return switch (o.longestName()) {
                case "--temperature" -> "0";
                case "--max-tokens" -> Integer.toString(DEFAULT_MAX_TOKENS);
                default -> null;
            };
        }
    }

    /** The Aligner model card's {@code max_new_tokens}. */
    static final int DEFAULT_MAX_TOKENS = 2048;

    /** The context an upstream or Aligner model gets when none is given: its own, at most this. */
    static final int DEFAULT_CONTEXT_CAP = 4096;
    /** The environment variable holding the upstream's API key unless {@code --api-key-env} names another. */
    static final String DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY";

    @Option(names = "--aligner", paramLabel = "PATH", required = true, description = "The Aligner model (GGUF).")
    Path alignerPath;

    @Option(names = "--question", paramLabel = "TEXT", description = "One question, answered by --upstream or --upstream-url.")
    String question;

    @Option(names = "--input", paramLabel = "FILE.jsonl",
            description = "Questions (and answers, unless an upstream gives them): one {\"id\", \"question\", \"answer\"} per line.")
    Path input;

    @Option(names = "--upstream", paramLabel = "PATH", description = "A local model (GGUF, any supported architecture) that answers the questions.")
    Path upstreamPath;

    @Option(names = "--upstream-url", paramLabel = "URL",
            description = "An OpenAI-compatible endpoint that answers the questions, e.g. http://localhost:8000/v1 (…/chat/completions is added).")
    String upstreamUrl;

    @Option(names = "--upstream-model", paramLabel = "NAME", description = "The \"model\" of the endpoint's requests (default: none sent).")
    String upstreamModel;

    @Option(names = "--api-key-env", paramLabel = "VAR",
            description = "Environment variable holding the endpoint's API key, sent as a Bearer token (default: " + DEFAULT_KEY_VARIABLE
                    + " if it is set).")
    String apiKeyVariable;

    @Option(names = "--upstream-timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "One deadline per question for connecting, the headers and the whole reply (read up to 8 MiB)"
                    + " (default: ${DEFAULT-VALUE}).")
    double upstreamTimeout;

    @Option(names = "--upstream-format", paramLabel = "TEXT", defaultValue = "{question}",
            description = "The local upstream model's user message ({question} standing for the question), given as a user "
                    + "message through its chat template when it has one, else as the prompt itself (default: the question alone).")
    String upstreamFormat;

    @Option(names = "--upstream-chat-template", paramLabel = "FILE",
            description = "A chat template (Jinja) file for the local upstream model, instead of its tokenizer.chat_template.")
    Path upstreamChatTemplate;

    @Option(names = "--upstream-chat-dialect", paramLabel = "D", defaultValue = "hf", converter = ChatTemplateOptions.DialectConverter.class,
            description = "hf (default) or llama-cpp: how the upstream's chat template is rendered (see rewind chat --help).")
    RenderOptions.Dialect upstreamChatDialect;

    @Option(names = "--no-upstream-chat-template",
            description = "Give the local upstream model --upstream-format's text as its prompt, even when it has a chat template.")
    boolean noUpstreamChatTemplate;

    @Option(names = "--upstream-max-tokens", paramLabel = "N", defaultValue = "256",
            description = "Most tokens of an upstream answer (default: ${DEFAULT-VALUE}).")
    int upstreamMaxTokens;

    @Option(names = "--upstream-context", paramLabel = "N",
            description = "Context of the local upstream model (default: its own, at most " + DEFAULT_CONTEXT_CAP + ").")
    Integer upstreamContext;

    @Option(names = "--template", paramLabel = "NAME", defaultValue = "v1",
            description = "The Aligner's template: v1 (the released aligner-7b-v1.0), correction (##Question/##Answer/##Correction),"
                    + " empathy (default: ${DEFAULT-VALUE}).")
    String templateName;

    @Option(names = "--template-file", paramLabel = "PATH",
            description = "A template of your own, used byte for byte: {question} and {answer} are replaced.")
    Path templateFile;

    @Option(names = "--output", paramLabel = "FILE.jsonl",
            description = "Append one JSON line per item; items whose id is already there are skipped (resumption).")
    Path output;

    @Option(names = "--retry-errors", description = "With --output: drop the lines of items that failed, and do those items again.")
    boolean retryErrors;

    @Option(names = "--max-items", paramLabel = "N", description = "Process at most N items in this run (the rest on the next).")
    Integer maxItems;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads of each model (default: all cores).")
    Integer threads;

    @Mixin
    GenerationOptions generation;

    private final PrintStream out;
    private final PrintStream err;
    private final Function<String, String> environment;

    /** @param environment reads an environment variable (null when unset) */
    AlignerCommand(PrintStream out, PrintStream err, Function<String, String> environment) {
        this.out = out;
        this.err = err;
        this.environment = environment;
    }

    @Override
    public Integer call() throws Exception {
        long seed = generation.checkAndSeed();
        checkSources();
        AlignerTemplate template = template();
        Optional<String> apiKey = apiKey();
        List<AutoCloseable> open = new ArrayList<>();
        try {
            // the input is opened (and counted) before any model is loaded: an unreadable file fails at once
            BatchInput batchInput = input != null ? keep(open, BatchInput.open(input)) : null;
            Optional<Upstream> upstream = upstream(apiKey, open);
            Aligner aligner = aligner(template, seed, open);
            AlignerBatch batch = new AlignerBatch(aligner, upstream);
            InputLine.Item one = new InputLine.Item(TextNode.valueOf(question == null ? "" : question), question == null ? "" : question,
                    Optional.empty());
            if (batchInput == null && output == null) {
                return single(batch, one);
            }
            return batch(batch, batchInput != null ? AlignerBatch.Items.of(batchInput) : AlignerBatch.Items.of(List.of(one)));
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                open.get(i).close();
            }
        }
    }

    private void checkSources() {
        if ((question == null) == (input == null)) {
            throw new UserException(question == null ? "give the questions: --question TEXT or --input FILE.jsonl"
                    : "--question and --input exclude each other");
        }
        if (upstreamPath != null && upstreamUrl != null) {
            throw new UserException("--upstream and --upstream-url exclude each other");
        }
        if (question != null && upstreamPath == null && upstreamUrl == null) {
            throw new UserException("--question needs --upstream PATH or --upstream-url URL to answer it");
        }
        if (noUpstreamChatTemplate && upstreamChatTemplate != null) {
            throw new UserException("--upstream-chat-template and --no-upstream-chat-template exclude each other");
        }
        if (upstreamPath == null && (upstreamChatTemplate != null || noUpstreamChatTemplate)) {
            throw new UserException((upstreamChatTemplate != null ? "--upstream-chat-template" : "--no-upstream-chat-template")
                    + " applies to a local --upstream model only");
        }
        if (templateFile != null && !templateName.equals("v1")) {
            throw new UserException("--template and --template-file exclude each other");
        }
        if (retryErrors && output == null) {
            throw new UserException("--retry-errors needs --output");
        }
        if (maxItems != null && maxItems < 0) {
            throw new UserException("--max-items must be >= 0, got " + maxItems);
        }
        if (!(upstreamTimeout >= 0.001 && upstreamTimeout <= 86_400)) {
            throw new UserException("--upstream-timeout must be between 0.001 and 86400 seconds, got " + upstreamTimeout);
        }
        if (upstreamMaxTokens < 1) {
            throw new UserException("--upstream-max-tokens must be >= 1, got " + upstreamMaxTokens);
        }
        if (!upstreamFormat.contains(LocalModelUpstream.QUESTION)) {
            throw new UserException("--upstream-format must contain " + LocalModelUpstream.QUESTION);
        }
    }

    private AlignerTemplate template() throws IOException {
        if (templateFile != null) {
            return AlignerTemplate.Custom.load(templateFile);
        }
        return AlignerTemplate.Builtin.byId(templateName).orElseThrow(() -> new UserException(
                "unknown template '" + templateName + "' (valid: " + AlignerTemplate.Builtin.ids() + ", or --template-file PATH)"));
    }

    private Optional<String> apiKey() {
        String variable = apiKeyVariable != null ? apiKeyVariable : DEFAULT_KEY_VARIABLE;
        String key = environment.apply(variable);
        if (apiKeyVariable != null && (key == null || key.isEmpty())) {
            throw new UserException("the environment variable " + apiKeyVariable + " (--api-key-env) is not set");
        }
        return Optional.ofNullable(key).filter(k -> !k.isEmpty());
    }

    private Optional<Upstream> upstream(Optional<String> apiKey, List<AutoCloseable> open) throws IOException {
        if (upstreamUrl != null) {
            OpenAiUpstream.Settings settings = new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(upstreamUrl),
                    Optional.ofNullable(upstreamModel), apiKey, Duration.ofMillis(Math.round(upstreamTimeout * 1000)), upstreamMaxTokens);
            return Optional.of(keep(open, new OpenAiUpstream(settings)));
        }
        if (upstreamPath == null) {
            return Optional.empty();
        }
        ModelOptions options = modelOptions(upstreamPath);
        WorkerPool pool = keep(open, options.newPool());
        LoadedModel model = keep(open, options.load(pool));
        int modelContext = model.model().config().contextLength();
        int ctx = upstreamContext != null ? upstreamContext : Math.min(modelContext, DEFAULT_CONTEXT_CAP);
        if (ctx < 2 || ctx > modelContext) {
            throw new UserException("--upstream-context must be between 2 and the upstream model's context length " + modelContext + ", got " + ctx);
        }
        MemoryBudget.checkKvCache(model.model().config(), ctx, generation.pageSize, generation.kvType, model.file().fileSize(),
                "lower --upstream-context");
        ModelRunner runner = keep(open, new ModelRunner(model.model(), ctx, generation.pageSize, generation.kvType));
        String name = upstreamPath.getFileName().toString();
        Optional<ChatPrompt> chat = noUpstreamChatTemplate ? Optional.empty()
                : ChatPrompt.of(upstreamChatTemplate, model.file(), model.tokenizer(), upstreamChatDialect);
        if (chat.isEmpty()) {
            return Optional.of(keep(open, new LocalModelUpstream(name, runner, model.tokenizer(), upstreamFormat, upstreamMaxTokens, ctx)));
        }
        ChatPrompt prompt = chat.get();
        err.println("aligner: questions go to " + name + " as user messages in the chat template of " + prompt.origin()
                + " (--no-upstream-chat-template gives --upstream-format's text as it is)");
        String format = upstreamFormat;
        return Optional.of(keep(open, new LocalModelUpstream(name, runner, model.tokenizer(),
                question -> prompt.encodeQuestion(null, format.replace(LocalModelUpstream.QUESTION, question)), upstreamMaxTokens, ctx)));
    }

    private Aligner aligner(AlignerTemplate template, long seed, List<AutoCloseable> open) throws IOException {
        ModelOptions options = modelOptions(alignerPath);
        WorkerPool pool = keep(open, options.newPool());
        LoadedModel model = keep(open, options.load(pool));
        int ctx = generation.contextUpTo(model.model().config().contextLength(), DEFAULT_CONTEXT_CAP);
        if (ctx < 2) {
            throw new UserException("--context must be at least 2 for the aligner, got " + ctx);
        }
        int capacity = generation.capacityFor(ctx);
        MemoryBudget.checkKvCache(model.model().config(), capacity, generation.pageSize, generation.kvType, model.file().fileSize(),
                generation.capacityRemedy());
        ModelRunner runner = keep(open, new ModelRunner(model.model(), capacity, generation.pageSize, generation.kvType));
        Aligner.Settings settings = new Aligner.Settings(generation.samplingParams(seed), generation.maxTokens, generation.ignoreEos,
                generation.topLogits, ctx);
        return keep(open, new Aligner(runner, model.tokenizer(), template, settings));
    }

    private ModelOptions modelOptions(Path path) {
        ModelOptions options = new ModelOptions();
        options.model = path;
        options.threads = threads;
        return options;
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> open, T resource) {
        open.add(resource);
        return resource;
    }

    /** One question, printed: the corrected answer (text) or its JSON line; a failure is the command's failure. */
    private int single(AlignerBatch batch, InputLine line) throws Exception {
        AlignedItem item = batch.process(line);
        if (item.error().isPresent()) {
            throw new UserException(item.error().get());
        }
        reportTruncation(item);
        if (generation.json()) {
            ObjectMapper mapper = new ObjectMapper();
            out.println(mapper.writeValueAsString(item.toJson(mapper)));
        } else {
            out.println(item.correction().orElseThrow().text());
            err.printf("aligner: %.2f s (upstream %.2f s)%n", item.seconds(), item.upstreamSeconds());
        }
        return 0;
    }

    /** Many items (or one with --output): JSON lines to --output (resumable) or stdout, progress on stderr. */
    private int batch(AlignerBatch batch, AlignerBatch.Items lines) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        long start = System.nanoTime();
        int limit = maxItems != null ? maxItems : Integer.MAX_VALUE;
        AlignerBatch.Summary summary;
        AlignerBatch.Progress progress = (position, total, item) -> {
            err.println(Escape.visible(String.format("aligner: [%d/%s] %s: %.2f s%s", position, total < 0 ? "?" : total,
                    Escape.excerpt(item.id().toString(), 80), item.seconds(),
                    item.error().map(e -> ", failed: " + e).orElse(item.truncated() ? ", answer truncated to fit" : ""))));
            err.flush();
        };
        if (output != null) {
            try (ResumableOutput file = ResumableOutput.open(output, retryErrors)) {
                ResumableOutput.Resumed r = file.resumed();
                if (r.done() > 0 || r.cutBytes() > 0 || r.retriedErrors() > 0) {
                    err.println("aligner: resuming " + Escape.visible(output.toString()) + ": " + r.done() + " items done"
                            + (r.cutBytes() > 0 ? ", an unfinished last line (" + r.cutBytes() + " bytes) removed" : "")
                            + (r.retriedErrors() > 0 ? ", " + r.retriedErrors() + " failed items to do again" : ""));
                }
                summary = batch.run(lines, file::isDone, item -> file.append(item.id(), mapper.writeValueAsString(item.toJson(mapper))),
                        progress, limit);
            }
        } else {
            summary = batch.run(lines, id -> false, item -> {
                out.println(mapper.writeValueAsString(item.toJson(mapper)));
                out.flush();
            }, progress, limit);
        }
        err.printf("aligner: %d items: %d done in this run, %d skipped (done before), %d failed, %d truncated; %.1f s%s%n",
                summary.items(), summary.processed(), summary.skipped(), summary.failed(), summary.truncated(),
                (System.nanoTime() - start) / 1e9, summary.stopped() ? "; stopped at --max-items, run again to continue" : "");
        return 0;
    }

    private void reportTruncation(AlignedItem item) {
        item.correction().filter(c -> c.truncated()).ifPresent(c -> err.println("aligner: the answer was cut to its first "
                + c.answerUsed().length() + " of " + item.answer().map(String::length).orElse(0)
                + " characters to fit the aligner's context"));
    }
}
