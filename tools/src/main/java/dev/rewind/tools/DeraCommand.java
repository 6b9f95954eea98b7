package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.decode.DeraDecoding;
import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.models.TransformerConfig;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code rewind dera}: decoding-time realignment, the logits of an aligned and a reference model mixed per token. */
@Command(name = "dera", mixinStandardHelpOptions = true,
        description = {"Generate with DeRa: an aligned and a reference model's logits mixed per token.",
                "h = λ·aligned + (1−λ)·reference at every step, before sampling: λ = 0 is the",
                "reference model, λ = 1 the aligned one, λ > 1 extrapolates the alignment.",
                "Both models must share one vocabulary; their forward passes run side by side.",
                "Sampling order: mix, repetition penalty, temperature, top-k, top-p, min-p, draw."})
final class DeraCommand implements Callable<Integer> {

    @Option(names = "--aligned", paramLabel = "PATH", required = true, description = "The aligned model (GGUF).")
    Path aligned;

    @Option(names = "--reference", paramLabel = "PATH", required = true, description = "The reference (SFT) model (GGUF).")
    Path reference;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true,
            description = "The prompt: a user message through the aligned model's chat template when it has one (or"
                    + " --chat-template's), else the text as it is; tokenized with the aligned model's tokenizer.")
    String prompt;

    @Mixin
    ChatTemplateOptions chatTemplate;

    @Option(names = "--no-chat-template", description = "Give the prompt to the models as it is, even when the aligned model has a chat template.")
    boolean noChatTemplate;

    /** One λ, or a sweep. */
    static final class Lambdas {
        @Option(names = "--lambda", paramLabel = "L", required = true,
                description = "The mixing weight λ of the aligned model (0: reference, 1: aligned, > 1 extrapolates).")
        Double lambda;

        @Option(names = "--lambda-sweep", paramLabel = "L", split = ",", required = true,
                description = "Generate once per λ with the same seed and print the continuations side by side.")
        List<Double> sweep;

        List<Double> values() {
            return lambda != null ? List.of(lambda) : sweep;
        }
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Lambdas lambdas;

    @Option(names = "--plausibility-top-p", paramLabel = "P",
            description = "Before sampling, keep only the aligned model's top-p set (a guard for λ > 1; not in the"
                    + " DeRa paper, so it is reported when on). Default: off.")
    Float plausibilityTopP;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads over both models; each model gets half, at least one (default: all cores).")
    Integer threads;

    @Mixin
    GenerationOptions generation;

    private final PrintStream out;
    private final PrintStream err;

    DeraCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        long actualSeed = generation.checkAndSeed();
        List<Double> values = lambdas.values();
        for (double l : values) {
            if (!Double.isFinite(l)) {
                throw new UserException("λ must be a finite number, got " + l);
            }
        }
        if (plausibilityTopP != null && !(plausibilityTopP > 0f && plausibilityTopP <= 1f)) {
            throw new UserException("--plausibility-top-p must be in (0, 1], got " + plausibilityTopP);
        }
        if (noChatTemplate && chatTemplate.file != null) {
            throw new UserException("--chat-template and --no-chat-template exclude each other");
        }
        int total = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        ModelOptions alignedOptions = modelOptions(aligned, (total + 1) / 2);
        ModelOptions referenceOptions = modelOptions(reference, Math.max(1, total / 2));
        String alignedName = aligned.getFileName().toString();
        String referenceName = reference.getFileName().toString();
        try (WorkerPool alignedPool = alignedOptions.newPool(); WorkerPool referencePool = referenceOptions.newPool();
             LoadedModel a = alignedOptions.load(alignedPool); LoadedModel r = referenceOptions.load(referencePool)) {
            SharedVocabulary vocabulary = Dera.checkVocabularies(alignedName, a, referenceName, r);
            if (vocabulary.maskedIds() > 0) {
                err.println("dera: masking " + vocabulary.maskedIds() + " padding ids (" + vocabulary.tokens() + " to "
                        + (vocabulary.logitsWidth() - 1) + ") that only one model has");
            }
            if (plausibilityTopP != null) {
                err.println("dera: plausibility guard on: only the aligned model's top-p " + plausibilityTopP
                        + " set is kept before sampling (a deviation from DeRa as published)");
            }
            Tokenizer tokenizer = a.tokenizer();
            Optional<ChatPrompt> chat = noChatTemplate ? Optional.empty() : chatTemplate.forModel(a);
            chat.ifPresent(c -> err.println("dera: the prompt is a user message in the chat template of " + c.origin()
                    + " (--no-chat-template gives it as it is)"));
            int[] promptIds = chat.isPresent() ? chat.get().encodeQuestion(null, prompt) : tokenizer.encode(prompt, true, true);
            TransformerConfig ca = a.model().config();
            TransformerConfig cr = r.model().config();
            int ctx = generation.contextFor(promptIds.length, Math.min(ca.contextLength(), cr.contextLength()));
            int capacity = generation.capacityFor(ctx);
            long weights = a.file().fileSize() + r.file().fileSize();
            MemoryBudget.checkKvCache(ca, capacity, generation.pageSize, generation.kvType, weights, generation.capacityRemedy());
            MemoryBudget.checkKvCache(cr, capacity, generation.pageSize, generation.kvType, weights, generation.capacityRemedy());
            boolean stream = !generation.json() && values.size() == 1;
            List<GenerationOptions.Completion> runs = new ArrayList<>();
            try (ModelRunner ra = new ModelRunner(a.model(), capacity, generation.pageSize, generation.kvType);
                 ModelRunner rr = new ModelRunner(r.model(), capacity, generation.pageSize, generation.kvType)) {
                for (double lambda : values) {
                    try (DeraDecoding dera = new DeraDecoding(ra, rr, lambda, vocabulary, Optional.ofNullable(plausibilityTopP),
                            tokenizer, ctx)) {
                        runs.add(generation.decode(dera, promptIds, actualSeed, stream ? out : null));
                    }
                }
            }
            if (generation.json()) {
                printJson(values, runs, actualSeed, alignedName, referenceName, vocabulary, chat.map(ChatPrompt::origin));
            } else if (stream) {
                out.println();
                out.flush();
                GenerationOptions.printSpeed(err, runs.getFirst().result());
            } else {
                printSideBySide(values, runs);
            }
            for (int i = 0; i < runs.size(); i++) {
                if (runs.get(i).result().stop() == GenerationContext.StopReason.CONTEXT_FULL) {
                    err.println("dera: λ = " + show(values.get(i)) + " stopped at the end of the context (" + ctx + " tokens); raise --context");
                }
            }
            return 0;
        }
    }

    private ModelOptions modelOptions(Path path, int threadCount) {
        ModelOptions options = new ModelOptions();
        options.model = path;
        options.threads = threadCount;
        return options;
    }

    /** One line per λ: the value, then the continuation with line breaks and tabs shown as \n and \t. */
    private void printSideBySide(List<Double> values, List<GenerationOptions.Completion> runs) {
        int width = "λ".length();
        for (double l : values) {
            width = Math.max(width, show(l).length());
        }
        out.println(pad("λ", width) + " | continuation");
        for (int i = 0; i < values.size(); i++) {
            String text = runs.get(i).text().replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
            out.println(pad(show(values.get(i)), width) + " | " + text);
        }
        out.flush();
        for (int i = 0; i < values.size(); i++) {
            err.print("λ = " + show(values.get(i)) + ": ");
            GenerationOptions.printSpeed(err, runs.get(i).result());
        }
    }

    private void printJson(List<Double> values, List<GenerationOptions.Completion> runs, long actualSeed,
                           String alignedName, String referenceName, SharedVocabulary vocabulary, Optional<String> chat) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        List<ObjectNode> objects = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            ObjectNode o = generation.toJson(mapper, runs.get(i), actualSeed);
            o.put("lambda", values.get(i));
            objects.add(o);
        }
        ObjectNode root;
        if (lambdas.lambda != null) {
            root = objects.getFirst();
        } else {
            root = mapper.createObjectNode();
            root.put("seed", actualSeed);
            ArrayNode array = root.putArray("runs");
            objects.forEach(array::add);
        }
        root.put("aligned", alignedName);
        root.put("reference", referenceName);
        if (plausibilityTopP != null) {
            root.put("plausibility_top_p", plausibilityTopP);
        } else {
            root.putNull("plausibility_top_p");
        }
        root.put("masked_ids", vocabulary.maskedIds());
        if (chat.isPresent()) {
            root.put("chat_template", chat.get());
        } else {
            root.putNull("chat_template");
        }
        out.println(mapper.writeValueAsString(root));
    }

    private static String show(double lambda) {
        return BigDecimal.valueOf(lambda).stripTrailingZeros().toPlainString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }
}
