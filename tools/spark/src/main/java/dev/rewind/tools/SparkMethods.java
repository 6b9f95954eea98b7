package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.aligner.AlignedItem;
import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.aligner.AlignerBatch;
import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.aligner.InputLine;
import dev.rewind.align.aligner.LocalModelUpstream;
import dev.rewind.align.aligner.OpenAiUpstream;
import dev.rewind.align.aligner.Upstream;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.MixtureSource;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.Embedder;
import dev.rewind.align.rain.EncoderEmbedder;
import dev.rewind.align.rain.HiddenStateEmbedder;
import dev.rewind.align.rain.JudgeTemplate;
import dev.rewind.align.rain.JudgeTemplates;
import dev.rewind.align.rain.ModelJudge;
import dev.rewind.align.rain.PromptTooLongException;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.spark.ItemProcessor;
import dev.rewind.spark.ItemResult;
import dev.rewind.spark.JobException;
import dev.rewind.spark.LockstepGeneration;
import dev.rewind.spark.Method;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The CLI's batch methods as item processors for the Spark job: a method's flags are parsed by the
 * command's own picocli definition (same names, defaults and conversions), its engine is built the way
 * the command builds it, and each item goes through the command's item-level code — {@link RainRun} and
 * its JSON for {@code rain}, {@link AlignerBatch#process} and {@link AlignedItem#toJson} for
 * {@code aligner}, {@link GenerationOptions#toJson} for {@code generate} and {@code dera} — so a line
 * carries the fields and values of the CLI's line for the same item, flags and seed.
 *
 * <p>This class lives in the tools package, in the Spark module, to reach the commands' package-private
 * option classes without widening their API; nothing in the tools module knows it.
 */
public final class SparkMethods {

    /** Flags a job does not take: the prompts come from its input and its results go to its output. */
    private static final Set<String> INPUT_FLAGS = Set.of("-p", "--prompt", "--question", "--input", "--output", "--trace",
            "--output-format", "--max-items", "--retry-errors");

    private SparkMethods() {
    }

    /**
     * Parses and checks {@code flags} as the method's command does before it loads anything.
     *
     * @throws JobException naming the flag
     */
    public static void check(Method method, List<String> flags) {
        try {
            switch (method) {
                case GENERATE -> checkGenerate(parse(new GenerateCommand(null, null), flags, true, true));
                case RAIN -> checkRain(parse(new RainCommand(null, null), flags, false, true));
                case DERA -> checkDera(parse(new DeraCommand(null, null), flags, true, false));
                case ALIGNER -> checkAligner(parse(new AlignerCommand(null, null, System::getenv), flags, false, false));
            }
        } catch (UserException | IllegalArgumentException e) {
            throw new JobException(method.command() + ": " + e.getMessage());
        }
    }

    /**
     * Loads the method's models and returns its processor.
     *
     * @param rowsPerForward how many prompts {@code generate} and {@code dera} evaluate in one forward call
     * @param err            where the command's one-time notes go (the executor's log)
     * @throws JobException naming the flag or file when the models cannot be loaded
     */
    public static ItemProcessor open(Method method, List<String> flags, int rowsPerForward, PrintStream err) {
        List<AutoCloseable> open = new ArrayList<>();
        try {
            return switch (method) {
                case GENERATE -> new GenerateItems(checkGenerate(parse(new GenerateCommand(null, null), flags, true, true)), rowsPerForward, open);
                case RAIN -> new RainItems(checkRain(parse(new RainCommand(null, null), flags, false, true)), open);
                case DERA -> new DeraItems(checkDera(parse(new DeraCommand(null, null), flags, true, false)), rowsPerForward, err, open);
                case ALIGNER -> new AlignerItems(checkAligner(parse(new AlignerCommand(null, null, System::getenv), flags, false, false)), err, open);
            };
        } catch (UserException | IllegalArgumentException | IOException e) {
            closeAll(open);
            throw new JobException(method.command() + ": " + e.getMessage());
        } catch (RuntimeException | Error e) {
            closeAll(open);
            throw e;
        }
    }

    private static <T> T parse(T command, List<String> flags, boolean promptRequired, boolean modelRequired) {
        for (String flag : flags) {
            String name = flag.contains("=") ? flag.substring(0, flag.indexOf('=')) : flag;
            if (INPUT_FLAGS.contains(name)) {
                throw new UserException(name + " is not a job flag: the items come from --input's \"id\"/\"prompt\" (or \"question\"/"
                        + "\"answer\") fields and the results go to --output");
            }
        }
        if (modelRequired && flags.stream().noneMatch(f -> f.equals("-m") || f.equals("--model") || f.startsWith("--model="))) {
            throw new UserException("give --model PATH, a path every executor can read (a job has no default model)");
        }
        List<String> args = new ArrayList<>(flags);
        if (promptRequired) {
            args.add("--prompt=");
        }
        if (!(command instanceof RainCommand)) {
            args.add("--output-format=json"); // what a job writes; --top-logits needs it
        }
        CommandLine cli = new CommandLine(command);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        try {
            cli.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new UserException(e.getMessage());
        }
        return command;
    }

    private static GenerateCommand checkGenerate(GenerateCommand c) {
        c.generation.checkAndSeed();
        if (c.generation.seed == null) {
            throw new UserException("give --seed S: every executor (and every retry of a task) must draw the same tokens");
        }
        if (!c.chat && (c.system != null || c.chatTemplate.file != null)) {
            throw new UserException((c.system != null ? "--system" : "--chat-template") + " needs --chat");
        }
        return c;
    }

    private static RainCommand checkRain(RainCommand c) {
        if (!c.embedderName.equals("minilm") && !c.embedderName.equals("hidden")) {
            throw new UserException("--embedder must be minilm or hidden, got '" + c.embedderName + "'");
        }
        RainPreset preset = RainPreset.named(c.preset);
        rainParams(c, preset);
        return c;
    }

    private static DeraCommand checkDera(DeraCommand c) {
        c.generation.checkAndSeed();
        if (c.generation.seed == null) {
            throw new UserException("give --seed S: every executor (and every retry of a task) must draw the same tokens");
        }
        for (double l : c.lambdas.values()) {
            if (!Double.isFinite(l)) {
                throw new UserException("λ must be a finite number, got " + l);
            }
        }
        if (c.plausibilityTopP != null && !(c.plausibilityTopP > 0f && c.plausibilityTopP <= 1f)) {
            throw new UserException("--plausibility-top-p must be in (0, 1], got " + c.plausibilityTopP);
        }
        if (c.noChatTemplate && c.chatTemplate.file != null) {
            throw new UserException("--chat-template and --no-chat-template exclude each other");
        }
        return c;
    }

    private static AlignerCommand checkAligner(AlignerCommand c) {
        c.generation.checkAndSeed();
        if (c.generation.seed == null) {
            throw new UserException("give --seed S: every executor (and every retry of a task) must draw the same tokens");
        }
        if (c.upstreamPath != null && c.upstreamUrl != null) {
            throw new UserException("--upstream and --upstream-url exclude each other");
        }
        if (c.noUpstreamChatTemplate && c.upstreamChatTemplate != null) {
            throw new UserException("--upstream-chat-template and --no-upstream-chat-template exclude each other");
        }
        if (c.upstreamPath == null && (c.upstreamChatTemplate != null || c.noUpstreamChatTemplate)) {
            throw new UserException((c.upstreamChatTemplate != null ? "--upstream-chat-template" : "--no-upstream-chat-template")
                    + " applies to a local --upstream model only");
        }
        if (c.templateFile != null && !c.templateName.equals("v1")) {
            throw new UserException("--template and --template-file exclude each other");
        }
        if (!(c.upstreamTimeout >= 0.001 && c.upstreamTimeout <= 86_400)) {
            throw new UserException("--upstream-timeout must be between 0.001 and 86400 seconds, got " + c.upstreamTimeout);
        }
        if (c.upstreamMaxTokens < 1) {
            throw new UserException("--upstream-max-tokens must be >= 1, got " + c.upstreamMaxTokens);
        }
        if (!c.upstreamFormat.contains(LocalModelUpstream.QUESTION)) {
            throw new UserException("--upstream-format must contain " + LocalModelUpstream.QUESTION);
        }
        return c;
    }

    /** RainCommand's parameters: the preset's, then each --param, --seed and -n. */
    private static RainParams rainParams(RainCommand c, RainPreset preset) {
        RainParams.Builder b = preset.builder();
        for (String assignment : c.params) {
            RainParamOverrides.apply(b, assignment);
        }
        if (c.seed != null) {
            b.seed = c.seed;
        }
        if (c.maxNewTokens != null) {
            b.maxNewTokens = c.maxNewTokens;
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UserException("bad RAIN parameter: " + e.getMessage());
        }
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> open, T resource) {
        open.add(resource);
        return resource;
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                // closing what was opened: nothing more to do with a failure here
            }
        }
        open.clear();
    }

    /** The text field {@code name} of an item, or null when the item is bad or the field is missing or not text. */
    private static String text(BatchItem item, String name) {
        return item instanceof BatchItem.Ok ok && ok.fields().path(name).isTextual() ? ok.fields().get(name).asText() : null;
    }

    /** Why a prompt item cannot run, in the CLI batch's words, or null. */
    private static String promptProblem(BatchItem item) {
        return switch (item) {
            case BatchItem.Bad bad -> bad.problem();
            case BatchItem.Ok ok -> ok.fields().path("prompt").isTextual() ? null
                    : (ok.line() > 0 ? "line " + ok.line() : "the row") + " has no string \"prompt\"";
        };
    }

    /** The CLI batch's error line: {@code id}, {@code prompt} ("" when none), {@code error}. */
    private static ItemResult failed(ObjectMapper json, BatchItem item, String error) {
        ObjectNode line = json.createObjectNode();
        line.set("id", item.id());
        String prompt = text(item, "prompt");
        line.put("prompt", prompt == null ? "" : prompt);
        line.put("error", error);
        return new ItemResult(item.id(), line, true, 0);
    }

    /** Groups of rows whose KV pages fit {@code capacity} together, at most {@code most} rows each. */
    private static List<List<Integer>> groups(List<Integer> rows, int[] contexts, int capacity, int pageSize, int most) {
        List<List<Integer>> groups = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        long used = 0;
        for (int i : rows) {
            long need = (long) Math.ceilDiv(contexts[i], pageSize) * pageSize + pageSize; // + a page a shared prefix's fork may copy
            if (!current.isEmpty() && (current.size() == most || used + need > capacity)) {
                groups.add(current);
                current = new ArrayList<>();
                used = 0;
            }
            current.add(i);
            used += need;
        }
        if (!current.isEmpty()) {
            groups.add(current);
        }
        return groups;
    }

    /** The executor's KV cache: --kv-capacity, or room for {@code rows} contexts of {@code ctx} tokens. */
    private static int executorCapacity(GenerationOptions g, int ctx, int rows) {
        if (g.pageSize < 1 || g.pageSize > 4096) {
            throw new UserException("--page-size must be between 1 and 4096, got " + g.pageSize);
        }
        long perRow = (long) Math.ceilDiv(ctx, g.pageSize) * g.pageSize + g.pageSize;
        return g.kvCapacity != null ? g.kvCapacity : (int) Math.min(Integer.MAX_VALUE / 2, perRow * rows);
    }

    private static String capacityRemedy(GenerationOptions g) {
        return g.kvCapacity != null ? "lower --kv-capacity" : "lower --rows-per-forward or --context, or give a smaller --kv-capacity";
    }

    /** Prompts generated side by side in groups (see {@link LockstepGeneration}), each row as {@code generate} would. */
    private abstract static class LockstepItems implements ItemProcessor {
        final ObjectMapper json = new ObjectMapper();
        final List<AutoCloseable> open;
        final GenerationOptions generation;
        final int rowsPerForward;
        final long seed;

        LockstepItems(GenerationOptions generation, int rowsPerForward, List<AutoCloseable> open) {
            this.generation = generation;
            this.rowsPerForward = Math.max(1, rowsPerForward);
            this.seed = generation.seed;
            this.open = open;
        }

        abstract Tokenizer tokenizer();

        abstract int modelContext();

        abstract int capacity();

        abstract int[] encode(String prompt) throws IOException;

        /** Generates a group, one source per run (one for generate, one per λ for dera); returns each row's runs. */
        abstract List<List<GenerationOptions.Completion>> generate(List<LockstepGeneration.Row> rows);

        /** The CLI's JSON object for a row's runs. */
        abstract ObjectNode toJson(List<GenerationOptions.Completion> runs);

        @Override
        public List<ItemResult> process(List<BatchItem> items) {
            ItemResult[] results = new ItemResult[items.size()];
            int[][] prompts = new int[items.size()][];
            int[] contexts = new int[items.size()];
            List<Integer> runnable = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                BatchItem item = items.get(i);
                String problem = promptProblem(item);
                if (problem == null) {
                    try {
                        prompts[i] = encode(text(item, "prompt"));
                        contexts[i] = generation.contextFor(prompts[i].length, modelContext());
                        if ((long) Math.ceilDiv(contexts[i], generation.pageSize) * generation.pageSize > capacity()) {
                            problem = "the context of " + contexts[i] + " tokens does not fit the executor's KV cache of " + capacity()
                                    + " tokens (raise --kv-capacity)";
                        }
                    } catch (UserException | IllegalArgumentException | IOException e) {
                        problem = e.getMessage();
                    }
                }
                if (problem != null) {
                    results[i] = failed(json, item, problem);
                } else {
                    runnable.add(i);
                }
            }
            for (List<Integer> group : groups(runnable, contexts, capacity(), generation.pageSize, rowsPerForward)) {
                List<LockstepGeneration.Row> rows = new ArrayList<>();
                for (int i : group) {
                    rows.add(new LockstepGeneration.Row(prompts[i], contexts[i]));
                }
                List<List<GenerationOptions.Completion>> runs;
                try {
                    runs = generate(rows);
                } catch (KvCacheFullException e) {
                    for (int i : group) {
                        results[i] = failed(json, items.get(i), e.getMessage() + " (raise --kv-capacity or lower --rows-per-forward)");
                    }
                    continue;
                }
                for (int k = 0; k < group.size(); k++) {
                    int i = group.get(k);
                    BatchItem item = items.get(i);
                    ObjectNode body = toJson(runs.get(k));
                    ObjectNode line = json.createObjectNode();
                    line.set("id", item.id());
                    line.put("prompt", text(item, "prompt"));
                    line.setAll(body);
                    long tokens = 0;
                    for (GenerationOptions.Completion c : runs.get(k)) {
                        tokens += c.result().promptTokens().length + c.result().tokens().length;
                    }
                    results[i] = new ItemResult(item.id(), line, false, tokens);
                }
            }
            return List.of(results);
        }

        List<GenerationOptions.Completion> oneRun(List<LockstepGeneration.Generated> generated, int k) {
            LockstepGeneration.Generated g = generated.get(k);
            return List.of(new GenerationOptions.Completion(g.result(), g.text()));
        }

        /**
         * Rows one at a time through the CLI's own generation loop (for {@code --top-logits}, whose steps the
         * lock-step loop does not record).
         */
        List<LockstepGeneration.Generated> generateOn(LogitsSource source, List<LockstepGeneration.Row> rows) {
            if (generation.topLogits == 0) {
                return LockstepGeneration.generate(source, tokenizer(), rows, generation.samplingParams(seed), generation.maxTokens,
                        generation.ignoreEos);
            }
            List<LockstepGeneration.Generated> out = new ArrayList<>();
            for (LockstepGeneration.Row r : rows) {
                GenerationOptions.Completion c = generation.generate(source, tokenizer(), r.prompt(), r.contextLength(), seed, null);
                out.add(new LockstepGeneration.Generated(c.result(), c.text()));
            }
            return out;
        }

        @Override
        public void close() {
            closeAll(open);
        }
    }

    /** {@code generate}: each row's line is {@code generate --output-format json}'s object with {@code id} and {@code prompt} first. */
    private static final class GenerateItems extends LockstepItems {
        private final GenerateCommand command;
        private final LoadedModel model;
        private final ModelRunner runner;
        private final int capacity;
        private final Optional<ChatPrompt> chat;

        GenerateItems(GenerateCommand c, int rowsPerForward, List<AutoCloseable> open) throws IOException {
            super(c.generation, rowsPerForward, open);
            this.command = c;
            WorkerPool pool = keep(open, c.modelOptions.newPool());
            this.model = keep(open, c.modelOptions.load(pool));
            this.chat = c.chat ? Optional.of(c.chatTemplate.require(model)) : Optional.empty();
            int modelContext = model.model().config().contextLength();
            this.capacity = executorCapacity(c.generation, c.generation.contextUpTo(modelContext, AlignerCommand.DEFAULT_CONTEXT_CAP),
                    this.rowsPerForward);
            MemoryBudget.checkKvCache(model.model().config(), capacity, c.generation.pageSize, c.generation.kvType, model.file().fileSize(),
                    capacityRemedy(c.generation));
            this.runner = keep(open, new ModelRunner(model.model(), capacity, c.generation.pageSize, c.generation.kvType));
        }

        @Override
        Tokenizer tokenizer() {
            return model.tokenizer();
        }

        @Override
        int modelContext() {
            return model.model().config().contextLength();
        }

        @Override
        int capacity() {
            return capacity;
        }

        @Override
        int[] encode(String prompt) {
            return chat.isPresent() ? chat.get().encodeQuestion(command.system, prompt) : model.tokenizer().encode(prompt, true, true);
        }

        @Override
        List<List<GenerationOptions.Completion>> generate(List<LockstepGeneration.Row> rows) {
            List<LockstepGeneration.Generated> g = generateOn(runner, rows);
            List<List<GenerationOptions.Completion>> out = new ArrayList<>();
            for (int k = 0; k < g.size(); k++) {
                out.add(oneRun(g, k));
            }
            return out;
        }

        @Override
        ObjectNode toJson(List<GenerationOptions.Completion> runs) {
            return generation.toJson(json, runs.getFirst(), seed);
        }
    }

    /** {@code dera}: each row's line is {@code dera --output-format json}'s object (one λ, or a sweep's {@code runs}). */
    private static final class DeraItems extends LockstepItems {
        private final DeraCommand command;
        private final LoadedModel aligned;
        private final ModelRunner alignedRunner;
        private final ModelRunner referenceRunner;
        private final SharedVocabulary vocabulary;
        private final Optional<ChatPrompt> chat;
        private final int modelContext;
        private final int capacity;
        private final String alignedName;
        private final String referenceName;

        DeraItems(DeraCommand c, int rowsPerForward, PrintStream err, List<AutoCloseable> open) throws IOException {
            super(c.generation, rowsPerForward, open);
            this.command = c;
            int total = c.threads == null ? Runtime.getRuntime().availableProcessors() : c.threads;
            ModelOptions ao = options(c.aligned, (total + 1) / 2);
            ModelOptions ro = options(c.reference, Math.max(1, total / 2));
            alignedName = c.aligned.getFileName().toString();
            referenceName = c.reference.getFileName().toString();
            WorkerPool ap = keep(open, ao.newPool());
            WorkerPool rp = keep(open, ro.newPool());
            this.aligned = keep(open, ao.load(ap));
            LoadedModel reference = keep(open, ro.load(rp));
            this.vocabulary = Dera.checkVocabularies(alignedName, aligned, referenceName, reference);
            if (vocabulary.maskedIds() > 0) {
                err.println("dera: masking " + vocabulary.maskedIds() + " padding ids (" + vocabulary.tokens() + " to "
                        + (vocabulary.logitsWidth() - 1) + ") that only one model has");
            }
            this.chat = c.noChatTemplate ? Optional.empty() : c.chatTemplate.forModel(aligned);
            this.modelContext = Math.min(aligned.model().config().contextLength(), reference.model().config().contextLength());
            this.capacity = executorCapacity(c.generation, c.generation.contextUpTo(modelContext, AlignerCommand.DEFAULT_CONTEXT_CAP),
                    this.rowsPerForward);
            long weights = aligned.file().fileSize() + reference.file().fileSize();
            MemoryBudget.checkKvCache(aligned.model().config(), capacity, c.generation.pageSize, c.generation.kvType, weights,
                    capacityRemedy(c.generation));
            MemoryBudget.checkKvCache(reference.model().config(), capacity, c.generation.pageSize, c.generation.kvType, weights,
                    capacityRemedy(c.generation));
            this.alignedRunner = keep(open, new ModelRunner(aligned.model(), capacity, c.generation.pageSize, c.generation.kvType));
            this.referenceRunner = keep(open, new ModelRunner(reference.model(), capacity, c.generation.pageSize, c.generation.kvType));
        }

        private static ModelOptions options(Path path, int threads) {
            ModelOptions o = new ModelOptions();
            o.model = path;
            o.threads = threads;
            return o;
        }

        @Override
        Tokenizer tokenizer() {
            return aligned.tokenizer();
        }

        @Override
        int modelContext() {
            return modelContext;
        }

        @Override
        int capacity() {
            return capacity;
        }

        @Override
        int[] encode(String prompt) {
            return chat.isPresent() ? chat.get().encodeQuestion(null, prompt) : aligned.tokenizer().encode(prompt, true, true);
        }

        @Override
        List<List<GenerationOptions.Completion>> generate(List<LockstepGeneration.Row> rows) {
            List<List<GenerationOptions.Completion>> out = new ArrayList<>();
            for (int k = 0; k < rows.size(); k++) {
                out.add(new ArrayList<>());
            }
            for (double lambda : command.lambdas.values()) {
                try (MixtureSource mixture = Dera.mixture(alignedRunner, referenceRunner, lambda, vocabulary,
                        Optional.ofNullable(command.plausibilityTopP), capacity)) {
                    List<LockstepGeneration.Generated> g = generateOn(mixture, rows);
                    for (int k = 0; k < g.size(); k++) {
                        out.get(k).add(new GenerationOptions.Completion(g.get(k).result(), g.get(k).text()));
                    }
                }
            }
            return out;
        }

        /** As {@code DeraCommand}'s JSON: one λ's object, or {@code seed} and a {@code runs} array; then the models and the guard. */
        @Override
        ObjectNode toJson(List<GenerationOptions.Completion> runs) {
            List<Double> values = command.lambdas.values();
            List<ObjectNode> objects = new ArrayList<>();
            for (int i = 0; i < values.size(); i++) {
                ObjectNode o = generation.toJson(json, runs.get(i), seed);
                o.put("lambda", values.get(i));
                objects.add(o);
            }
            ObjectNode root;
            if (command.lambdas.lambda != null) {
                root = objects.getFirst();
            } else {
                root = json.createObjectNode();
                root.put("seed", seed);
                ArrayNode array = root.putArray("runs");
                objects.forEach(array::add);
            }
            root.put("aligned", alignedName);
            root.put("reference", referenceName);
            if (command.plausibilityTopP != null) {
                root.put("plausibility_top_p", command.plausibilityTopP);
            } else {
                root.putNull("plausibility_top_p");
            }
            root.put("masked_ids", vocabulary.maskedIds());
            if (chat.isPresent()) {
                root.put("chat_template", chat.get().origin());
            } else {
                root.putNull("chat_template");
            }
            return root;
        }
    }

    /** {@code rain}: each item through {@link RainRun}, its line {@code rain --input}'s. */
    private static final class RainItems implements ItemProcessor {
        private final ObjectMapper json = new ObjectMapper();
        private final List<AutoCloseable> open;
        private final RainRun run;

        RainItems(RainCommand c, List<AutoCloseable> open) throws IOException {
            this.open = open;
            RainPreset preset = RainPreset.named(c.preset);
            RainParams params = rainParams(c, preset);
            Conversation conversation = c.rawPrompt ? Conversation.RAW : preset.conversation();
            JudgeTemplate template = c.judgeTemplate != null ? JudgeTemplates.read(c.judgeTemplate) : preset.judge();
            WorkerPool pool = keep(open, c.modelOptions.newPool());
            LoadedModel generator = keep(open, c.modelOptions.load(pool));
            int ctx = c.context != null ? c.context : generator.model().config().contextLength();
            LoadedModel judgeLoaded = generator;
            if (c.judgeModel != null) {
                ModelOptions judgeOptions = new ModelOptions();
                judgeOptions.model = c.judgeModel;
                judgeLoaded = keep(open, judgeOptions.load(pool));
            }
            int judgePrompt = RainCommand.judgePromptTokens(template, judgeLoaded.tokenizer());
            // a self-judge's sequences live in the generator's cache: it must hold the judge prompts as well
            ModelRunner runner = runner(c, generator, ctx, c.judgeModel == null ? judgePrompt : 0, params);
            ModelRunner judgeRunner = c.judgeModel == null ? runner
                    : runner(c, judgeLoaded, judgeLoaded.model().config().contextLength(), judgePrompt, params);
            ModelJudge judge = keep(open, new ModelJudge(judgeRunner, judgeLoaded.tokenizer(), template));
            Embedder embedder = switch (c.embedderName) {
                case "hidden" -> new HiddenStateEmbedder(judgeRunner, judgeLoaded.tokenizer(), 256);
                default -> new EncoderEmbedder(BertEmbedder.miniLm(pool), true);
            };
            keep(open, (AutoCloseable) embedder);
            Rain rain = new Rain(runner, generator.tokenizer(), judge, embedder, params, conversation, ctx);
            this.run = new RainRun(rain, runner, !c.noPlain);
        }

        /** RainCommand's runner: its context check, default capacity (room for the search tree within its reach) and memory check. */
        private ModelRunner runner(RainCommand c, LoadedModel model, int ctx, int judgePrompt, RainParams p) {
            if (ctx < 32) {
                throw new UserException("--context must be at least 32, got " + ctx);
            }
            if (c.pageSize < 1 || c.pageSize > 4096) {
                throw new UserException("--page-size must be between 1 and 4096, got " + c.pageSize);
            }
            long nodes = 2L * (p.maxSearches() + p.searchFloor()) * (p.expansionWidth() + 2);
            long tokens = 8L * RainCommand.reach(ctx, judgePrompt, p) + 4096 + nodes * 2 * c.pageSize;
            int capacity = c.kvCapacity != null ? c.kvCapacity : (int) Math.min(Integer.MAX_VALUE / 2, tokens);
            MemoryBudget.checkKvCache(model.model().config(), capacity, c.pageSize, c.kvType, model.file().fileSize(),
                    c.kvCapacity != null ? "lower --kv-capacity"
                            : "lower --param maxLength or --context (the default --kv-capacity grows with them) or give a smaller --kv-capacity");
            return keep(open, new ModelRunner(model.model(), capacity, c.pageSize, c.kvType));
        }

        @Override
        public List<ItemResult> process(List<BatchItem> items) {
            List<ItemResult> out = new ArrayList<>();
            for (BatchItem item : items) {
                String error = promptProblem(item);
                RainRun.Outcome o = null;
                if (error == null) {
                    try {
                        o = run.run(text(item, "prompt"), false);
                    } catch (PromptTooLongException e) {
                        error = e.getMessage() + "; raise --context (or --param maxLength) if the model can take it";
                    } catch (KvCacheFullException e) {
                        error = e.getMessage() + " (the search tree needs room: raise --kv-capacity, lower --page-size or maxSearches)";
                    } catch (UserException | IllegalArgumentException e) {
                        error = e.getMessage();
                    }
                }
                if (o == null) {
                    out.add(failed(json, item, error));
                } else {
                    out.add(new ItemResult(item.id(), o.toJson(json, item.id()), false, o.result().cost().totalTokens()));
                }
            }
            return out;
        }

        @Override
        public void close() {
            closeAll(open);
        }
    }

    /** {@code aligner}: each item through {@link AlignerBatch#process}, its line {@code aligner --input}'s. */
    private static final class AlignerItems implements ItemProcessor {
        private final ObjectMapper json = new ObjectMapper();
        private final List<AutoCloseable> open;
        private final AlignerBatch batch;

        AlignerItems(AlignerCommand c, PrintStream err, List<AutoCloseable> open) throws IOException {
            this.open = open;
            long seed = c.generation.seed;
            AlignerTemplate template = c.templateFile != null ? AlignerTemplate.Custom.load(c.templateFile)
                    : AlignerTemplate.Builtin.byId(c.templateName).orElseThrow(() -> new UserException("unknown template '" + c.templateName
                    + "' (valid: " + AlignerTemplate.Builtin.ids() + ", or --template-file PATH)"));
            Optional<Upstream> upstream = upstream(c, err);
            this.batch = new AlignerBatch(aligner(c, template, seed), upstream);
        }

        private Optional<Upstream> upstream(AlignerCommand c, PrintStream err) throws IOException {
            if (c.upstreamUrl != null) {
                String variable = c.apiKeyVariable != null ? c.apiKeyVariable : AlignerCommand.DEFAULT_KEY_VARIABLE;
                Optional<String> key = Optional.ofNullable(System.getenv(variable)).filter(k -> !k.isEmpty());
                if (c.apiKeyVariable != null && key.isEmpty()) {
                    throw new UserException("the environment variable " + c.apiKeyVariable + " (--api-key-env) is not set on this executor");
                }
                OpenAiUpstream.Settings settings = new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(c.upstreamUrl),
                        Optional.ofNullable(c.upstreamModel), key, Duration.ofMillis(Math.round(c.upstreamTimeout * 1000)), c.upstreamMaxTokens);
                return Optional.of(keep(open, new OpenAiUpstream(settings)));
            }
            if (c.upstreamPath == null) {
                return Optional.empty();
            }
            ModelOptions options = options(c, c.upstreamPath);
            WorkerPool pool = keep(open, options.newPool());
            LoadedModel model = keep(open, options.load(pool));
            int modelContext = model.model().config().contextLength();
            int ctx = c.upstreamContext != null ? c.upstreamContext : Math.min(modelContext, AlignerCommand.DEFAULT_CONTEXT_CAP);
            if (ctx < 2 || ctx > modelContext) {
                throw new UserException("--upstream-context must be between 2 and the upstream model's context length " + modelContext + ", got " + ctx);
            }
            MemoryBudget.checkKvCache(model.model().config(), ctx, c.generation.pageSize, c.generation.kvType, model.file().fileSize(),
                    "lower --upstream-context");
            ModelRunner runner = keep(open, new ModelRunner(model.model(), ctx, c.generation.pageSize, c.generation.kvType));
            String name = c.upstreamPath.getFileName().toString();
            Optional<ChatPrompt> chat = c.noUpstreamChatTemplate ? Optional.empty()
                    : ChatPrompt.of(c.upstreamChatTemplate, model.file(), model.tokenizer(), c.upstreamChatDialect);
            if (chat.isEmpty()) {
                return Optional.of(keep(open, new LocalModelUpstream(name, runner, model.tokenizer(), c.upstreamFormat, c.upstreamMaxTokens, ctx)));
            }
            ChatPrompt prompt = chat.get();
            err.println("aligner: questions go to " + name + " as user messages in the chat template of " + prompt.origin());
            String format = c.upstreamFormat;
            return Optional.of(keep(open, new LocalModelUpstream(name, runner, model.tokenizer(),
                    question -> prompt.encodeQuestion(null, format.replace(LocalModelUpstream.QUESTION, question)), c.upstreamMaxTokens, ctx)));
        }

        private Aligner aligner(AlignerCommand c, AlignerTemplate template, long seed) throws IOException {
            ModelOptions options = options(c, c.alignerPath);
            WorkerPool pool = keep(open, options.newPool());
            LoadedModel model = keep(open, options.load(pool));
            GenerationOptions g = c.generation;
            int ctx = g.contextUpTo(model.model().config().contextLength(), AlignerCommand.DEFAULT_CONTEXT_CAP);
            if (ctx < 2) {
                throw new UserException("--context must be at least 2 for the aligner, got " + ctx);
            }
            int capacity = g.capacityFor(ctx);
            MemoryBudget.checkKvCache(model.model().config(), capacity, g.pageSize, g.kvType, model.file().fileSize(), g.capacityRemedy());
            ModelRunner runner = keep(open, new ModelRunner(model.model(), capacity, g.pageSize, g.kvType));
            Aligner.Settings settings = new Aligner.Settings(g.samplingParams(seed), g.maxTokens, g.ignoreEos, g.topLogits, ctx);
            return keep(open, new Aligner(runner, model.tokenizer(), template, settings));
        }

        private static ModelOptions options(AlignerCommand c, Path path) {
            ModelOptions options = new ModelOptions();
            options.model = path;
            options.threads = c.threads;
            return options;
        }

        @Override
        public List<ItemResult> process(List<BatchItem> items) {
            List<ItemResult> out = new ArrayList<>();
            for (BatchItem item : items) {
                AlignedItem aligned = batch.process(InputLine.of(item));
                long tokens = aligned.correction().map(c -> (long) c.result().promptTokens().length + c.result().tokens().length).orElse(0L);
                out.add(new ItemResult(item.id(), aligned.toJson(json), aligned.error().isPresent(), tokens));
            }
            return out;
        }

        @Override
        public void close() {
            closeAll(open);
        }
    }

}
