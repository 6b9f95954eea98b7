package dev.rewind.tools.fuzz;

import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.engine.text.Escape;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tools.RewindCli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The fuzz suite: GGUF mutants of the shared models run through the command line in-process
 * ({@code generate}, {@code tokenize}, {@code info}), random strings through every shared tokenizer,
 * random JSONL batch files through the batch reader, mutated chat templates through the template engine
 * ({@link ChatTemplateFuzz}), mutated BERT files through {@code embed} ({@link BertFuzz}) and mutated HTTP
 * requests to an in-process {@code rewind serve} ({@link HttpFuzz}). Each case is fully determined by its case seed
 * and classified as an {@link Outcome}; a case still running after the watchdog is abandoned (its
 * thread left behind, as a JVM cannot stop it) and counted as a hang.
 */
public final class Fuzzer implements AutoCloseable {

    /** What a case feeds. */
    public enum Target { GGUF, TOKENIZER, TOKENIZER_JSON, JSONL, SAFETENSORS, CHAT_TEMPLATE, BERT, HTTP }

    /** A case that did not end cleanly: reproduce it with {@code rewind fuzz --target T --replay CASE_SEED}. */
    public record Failure(Target target, long caseSeed, String input, String what) {
        @Override
        public String toString() {
            return Escape.visible("FAIL " + target.name().toLowerCase() + " case seed " + Long.toUnsignedString(caseSeed)
                    + " (" + Escape.excerpt(input, 300) + "): " + Escape.excerpt(what, 500));
        }
    }

    /** How many cases of each target ended each way, and the failures. */
    public record Report(long seed, Map<Target, int[]> counts, List<Failure> failures, double seconds) {
        public int unclean() {
            return failures.size();
        }

        /** One line per target: cases, successes, clean errors, unclean. */
        public List<String> summary() {
            List<String> lines = new ArrayList<>();
            counts.forEach((t, c) -> lines.add(String.format("%-9s %7d cases: %7d accepted, %7d clean errors, %d unclean",
                    t.name().toLowerCase(), c[0] + c[1] + c[2], c[0], c[1], c[2])));
            return lines;
        }
    }

    /** The shared models the GGUF target mutates (small ones of every supported family and several quantizations). */
    public static final List<String> GGUF_BASES = List.of("stories260K.gguf", "tiny-llama-Q8_0.gguf", "tiny-llama-Q4_K_M.gguf",
            "tiny-llama-Q2_K.gguf", "tiny-llama-IQ4_NL.gguf", "tiny-llama-F16.gguf", "tiny-qwen2-Q4_0.gguf", "tiny-gemma-Q4_0.gguf",
            "tiny-phi3-Q4_0.gguf", "tiny-mixtral-Q4_K_M.gguf", "tiny-llama3rope-F32.gguf");

    /** The vocabularies the tokenizer target encodes with. */
    public static final List<String> VOCABULARIES = List.of("stories260K.gguf", "tokenizers/ggml-vocab-gpt-2.gguf",
            "tokenizers/ggml-vocab-llama-bpe.gguf", "tokenizers/ggml-vocab-llama-spm.gguf", "tokenizers/ggml-vocab-phi-3.gguf",
            "tokenizers/ggml-vocab-qwen2.gguf");

    /** The Hugging Face folders (of ../shared/hf) whose tokenizer.json the TOKENIZER_JSON target mutates (the two small ones). */
    public static final List<String> HF_FOLDERS = List.of("llama2-spm", "phi3-spm");

    /**
     * The Hugging Face folders (of ../shared/hf-models) whose model.safetensors and config.json the
     * SAFETENSORS target mutates: the two smallest (F16, BF16) and one F32 folder of two other families.
     */
    public static final List<String> SAFETENSORS_FOLDERS = List.of("tiny-llama-F16", "tiny-llama-BF16", "tiny-qwen2-F32", "tiny-gemma-F32");

    private final Path models;
    private final Path work;
    private final Duration watchdog;
    private final List<String> baseNames = new ArrayList<>();
    private final List<GgufMutator> mutators = new ArrayList<>();
    private final List<Tokenizer> tokenizers = new ArrayList<>();
    private final List<TokenizerJsonMutator> jsonMutators = new ArrayList<>();
    private final List<SafetensorsMutator> safetensorsMutators = new ArrayList<>();
    /** The folder and name of each safetensors base: {@link #SAFETENSORS_FOLDERS}, then {@link BertSeed}'s (run by embed). */
    private final List<Path> safetensorsBases = new ArrayList<>();
    private final List<String> safetensorsNames = new ArrayList<>();
    private ExecutorService runner = newRunner();
    private long counter;
    private ChatTemplateFuzz chatTemplates; // the targets added later are loaded on their first case
    private BertFuzz bert;
    private HttpFuzz http;

    /**
     * @param models   the shared models folder
     * @param work     an empty folder for the mutants (each is deleted after its case)
     * @param watchdog how long a case may run
     */
    public Fuzzer(Path models, Path work, Duration watchdog) throws IOException {
        this.models = models;
        this.work = work;
        this.watchdog = watchdog;
        for (String name : GGUF_BASES) {
            baseNames.add(name);
            mutators.add(new GgufMutator(GgufImage.parse(Files.readAllBytes(models.resolve(name)))));
        }
        for (String name : VOCABULARIES) {
            tokenizers.add(ModelLoader.loadTokenizer(models.resolve(name)));
        }
        for (String name : HF_FOLDERS) {
            jsonMutators.add(new TokenizerJsonMutator(hfFolder(name).resolve("tokenizer.json")));
        }
        for (String name : SAFETENSORS_FOLDERS) {
            safetensorsBases.add(hfModelFolder(name));
            safetensorsNames.add(name);
        }
        safetensorsBases.add(BertSeed.write(work.resolve("seed-" + BertSeed.NAME)));
        safetensorsNames.add(BertSeed.NAME);
        for (Path base : safetensorsBases) {
            safetensorsMutators.add(new SafetensorsMutator(base));
        }
    }

    private Path hfModelFolder(String name) {
        return models.toAbsolutePath().getParent().resolve("hf-models").resolve(name);
    }

    private Path hfFolder(String name) {
        return models.toAbsolutePath().getParent().resolve("hf").resolve(name);
    }

    private static ExecutorService newRunner() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }

    /** The seed of case {@code index} of {@code target} in a run seeded {@code seed}. */
    public static long caseSeed(long seed, Target target, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L + target.ordinal() * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Runs the cases, reporting each failure to {@code onFailure} as it happens. */
    public Report run(long seed, Map<Target, Integer> cases, Consumer<Failure> onFailure) {
        long start = System.nanoTime();
        Map<Target, int[]> counts = new EnumMap<>(Target.class);
        List<Failure> failures = new ArrayList<>();
        cases.forEach((target, n) -> {
            int[] c = counts.computeIfAbsent(target, t -> new int[3]);
            for (int i = 0; i < n; i++) {
                long caseSeed = caseSeed(seed, target, i);
                String[] input = {""};
                Outcome o = runCase(target, caseSeed, input, null);
                switch (o) {
                    case Outcome.Success s -> c[0]++;
                    case Outcome.CleanError e -> c[1]++;
                    case Outcome.Unclean u -> {
                        c[2]++;
                        Failure f = new Failure(target, caseSeed, input[0], u.what());
                        failures.add(f);
                        onFailure.accept(f);
                    }
                }
            }
            if (n > 0) {
                String[] input = {"after all " + n + " cases"};
                if (afterTarget(target, input) instanceof Outcome.Unclean u) {
                    c[2]++;
                    Failure f = new Failure(target, caseSeed(seed, target, n - 1), input[0], u.what());
                    failures.add(f);
                    onFailure.accept(f);
                }
            }
        });
        return new Report(seed, counts, failures, (System.nanoTime() - start) / 1e9);
    }

    /**
     * The check a target makes once its cases have run (for HTTP: every KV page back in the pool); a success for
     * the others. {@code input} receives its description.
     */
    public Outcome afterTarget(Target target, String[] input) {
        if (target != Target.HTTP || http == null) {
            return new Outcome.Success();
        }
        input[0] = input[0] + ": the KV pages in use";
        Future<Outcome> future = runner.submit(() -> http.leakCheck());
        try {
            return future.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            return new Outcome.Unclean("the KV page check did not end within 60 s");
        } catch (ExecutionException e) {
            return new Outcome.Unclean("the KV page check failed: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.Unclean("interrupted");
        }
    }

    /**
     * Runs one case under the watchdog. {@code input} receives a description of the case; {@code keep},
     * when not null, receives a copy of the input file.
     */
    public Outcome runCase(Target target, long caseSeed, String[] input, Path keep) {
        Future<Outcome> future = runner.submit(() -> {
            try {
                return switch (target) {
                    case GGUF -> ggufCase(caseSeed, input, keep);
                    case TOKENIZER -> tokenizerCase(caseSeed, input);
                    case TOKENIZER_JSON -> tokenizerJsonCase(caseSeed, input, keep);
                    case JSONL -> jsonlCase(caseSeed, input, keep);
                    case SAFETENSORS -> safetensorsCase(caseSeed, input, keep);
                    case CHAT_TEMPLATE -> chatTemplates().run(caseSeed, input);
                    case BERT -> bert().run(caseSeed, input, keep);
                    case HTTP -> http().run(caseSeed, input);
                };
            } catch (Throwable t) { // an OutOfMemoryError or StackOverflowError too: anything escaping is a defect
                return new Outcome.Unclean("escaped " + t);
            }
        });
        try {
            return future.get(watchdog.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            runner.shutdownNow();
            runner = newRunner();
            return new Outcome.Unclean("still running after " + watchdog.toMillis() / 1000.0 + " s (hang)");
        } catch (ExecutionException e) {
            return new Outcome.Unclean("escaped " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.Unclean("interrupted");
        }
    }

    private ChatTemplateFuzz chatTemplates() throws IOException {
        if (chatTemplates == null) {
            chatTemplates = ChatTemplateFuzz.load(models.toAbsolutePath().getParent(), work);
        }
        return chatTemplates;
    }

    private BertFuzz bert() throws IOException {
        if (bert == null) {
            bert = BertFuzz.load(work);
        }
        return bert;
    }

    private HttpFuzz http() throws Exception {
        if (http == null) {
            http = HttpFuzz.start(models);
        }
        return http;
    }

    // ---------------------------------------------------------------- GGUF through the command line

    private Outcome ggufCase(long caseSeed, String[] input, Path keep) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        int base = random.nextInt(mutators.size());
        GgufMutator.Mutant mutant = mutators.get(base).mutate(random);
        Path file = work.resolve("mutant-" + counter++ + ".gguf");
        Files.write(file, mutant.bytes());
        int pick = random.nextInt(20);
        String[] args = pick == 0 ? new String[]{"info", file.toString()}
                : pick <= 2 ? new String[]{"tokenize", "--model", file.toString(), "--prompt", "Once upon a time <s> 12345"}
                : new String[]{"generate", "--model", file.toString(), "--prompt", "Once upon a time", "-n", "2", "--threads", "1",
                "--temperature", "0"};
        input[0] = baseNames.get(base) + ": " + mutant.description() + "; " + args[0];
        try {
            if (keep != null) {
                Files.copy(file, keep, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            return classify(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** What a user would make of a command's exit code and streams: accepted, a clean refusal, or unclean. */
    public static Outcome classify(int exit, String out, String err) {
        if (exit == 0) {
            return new Outcome.Success();
        }
        String message = err.stripTrailing();
        if (exit != 1) {
            return new Outcome.Unclean("exit " + exit + ": " + message);
        }
        if (message.isEmpty()) {
            return new Outcome.Unclean("exit 1 without a message");
        }
        if (message.contains("\n") || message.contains("\r")) {
            return new Outcome.Unclean("a message of several lines: " + message);
        }
        if (!Escape.isVisible(message)) {
            return new Outcome.Unclean("control characters in the message: " + message);
        }
        if (!out.isEmpty()) {
            return new Outcome.Unclean("output printed before the refusal: " + out + " / " + message);
        }
        return new Outcome.CleanError(message);
    }

    // ---------------------------------------------------------------- tokenizers

    private static final String[] SPECIAL_TEXTS = {"<s>", "</s>", "<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>",
            "<|begin_of_text|>", "<|eot_id|>", "<|user|>", "<|end|>", "<0x0A>", "\u2581"};

    private Outcome tokenizerCase(long caseSeed, String[] input) {
        SplittableRandom random = new SplittableRandom(caseSeed);
        int which = random.nextInt(tokenizers.size());
        Tokenizer tokenizer = tokenizers.get(which);
        String text = randomText(random);
        boolean addSpecial = random.nextBoolean();
        boolean parseSpecial = random.nextBoolean();
        input[0] = VOCABULARIES.get(which) + " " + text.length() + " chars " + Escape.quote(Escape.excerpt(text, 120));
        int[] ids = tokenizer.encode(text, addSpecial, parseSpecial);
        int size = tokenizer.vocabulary().size();
        for (int id : ids) {
            if (id < 0 || id >= size) {
                return new Outcome.Unclean("token id " + id + " outside the vocabulary of " + size);
            }
            tokenizer.tokenBytes(id);
        }
        tokenizer.decode(ids);
        return new Outcome.Success();
    }

    private static String randomText(SplittableRandom random) {
        int length = random.nextInt(10) == 0 ? random.nextInt(5000) : random.nextInt(80);
        StringBuilder b = new StringBuilder();
        while (b.length() < length) {
            int run = random.nextInt(6) == 0 ? 1 + random.nextInt(300) : 1;
            String unit = switch (random.nextInt(12)) {
                case 0 -> SPECIAL_TEXTS[random.nextInt(SPECIAL_TEXTS.length)];
                case 1 -> String.valueOf((char) random.nextInt(0x20)); // controls
                case 2 -> String.valueOf((char) (0xD800 + random.nextInt(0x800))); // a lone surrogate
                case 3 -> Character.toString(0x1F600 + random.nextInt(0x50)); // emoji
                case 4 -> String.valueOf((char) (0x4E00 + random.nextInt(0x5000))); // CJK
                case 5 -> String.valueOf((char) (0x0300 + random.nextInt(0x70))); // combining marks
                case 6 -> " \t\n\r\u00a0\u3000\u2028\ufeff".substring(0, 1 + random.nextInt(8)).substring(random.nextInt(1));
                case 7 -> String.valueOf((char) ('0' + random.nextInt(10)));
                case 8 -> String.valueOf((char) random.nextInt(0x10000)); // anything in the BMP
                case 9 -> Character.toString(random.nextInt(0x110000));
                default -> String.valueOf((char) (0x20 + random.nextInt(0x5f)));
            };
            b.append(unit.repeat(run));
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- safetensors folders through the command line

    /** The one refusal of a loaded folder that is about the run, not the file: a prompt longer than a (tiny) context. */
    private static final String RUN_LEVEL = "but the context holds";

    private Outcome safetensorsCase(long caseSeed, String[] input, Path keep) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        int base = random.nextInt(safetensorsMutators.size());
        SafetensorsMutator.Mutant mutant = safetensorsMutators.get(base).mutate(random);
        Path folder = SafetensorsMutator.writeFolder(work.resolve("st-" + counter++), mutant, safetensorsBases.get(base));
        int pick = random.nextInt(20);
        String[] args = safetensorsNames.get(base).equals(BertSeed.NAME)
                ? new String[]{"embed", "--model", folder.toString(), "--text", "Once upon a time [SEP] 12345", "--threads", "1"}
                : pick == 0 ? new String[]{"info", folder.toString()}
                : pick == 1 ? new String[]{"tokenize", "--model", folder.toString(), "--prompt", "Once upon a time <s> 12345"}
                : new String[]{"generate", "--model", folder.toString(), "--prompt", "Once upon a time", "-n", "1", "--threads", "1",
                "--temperature", "0"};
        input[0] = safetensorsNames.get(base) + ": " + mutant.description() + "; " + args[0];
        try {
            if (keep != null) {
                SafetensorsMutator.writeFolder(keep, mutant, safetensorsBases.get(base));
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            Outcome o = classify(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
            if (o instanceof Outcome.CleanError e && !e.message().contains(folder.toString()) && !e.message().contains(RUN_LEVEL)) {
                return new Outcome.Unclean("a refusal that does not name the folder or its file: " + e.message());
            }
            return o;
        } finally {
            try (var files = Files.walk(folder)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    // ---------------------------------------------------------------- tokenizer.json

    private Outcome tokenizerJsonCase(long caseSeed, String[] input, Path keep) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        int base = random.nextInt(jsonMutators.size());
        GgufMutator.Mutant mutant = jsonMutators.get(base).mutate(random);
        input[0] = HF_FOLDERS.get(base) + "/tokenizer.json: " + mutant.description();
        Path folder = TokenizerJsonMutator.writeFolder(work.resolve("hf-" + counter++), mutant.bytes(), hfFolder(HF_FOLDERS.get(base)));
        try {
            if (keep != null) {
                Files.write(keep, mutant.bytes());
            }
            Tokenizer tokenizer;
            try {
                tokenizer = Tokenizer.fromHuggingFace(folder);
            } catch (IOException | dev.rewind.tokenizer.TokenizerException e) {
                return refusal(e.getMessage());
            }
            int[] ids = tokenizer.encode("Hello world, <s> 123 \u4e00\u6211 \ud83d\ude00 \t\n", true, true);
            tokenizer.decode(ids);
            return new Outcome.Success();
        } finally {
            try (var files = Files.walk(folder)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** A refusal by exception: clean when its message is one visible, non-empty line. */
    static Outcome refusal(String message) {
        if (message == null || message.isBlank()) {
            return new Outcome.Unclean("a refusal without a message");
        }
        if (message.contains("\n") || message.contains("\r") || !Escape.isVisible(message)) {
            return new Outcome.Unclean("a refusal that is not one visible line: " + message);
        }
        return new Outcome.CleanError(message);
    }

    // ---------------------------------------------------------------- JSONL batch input

    private static final String[] LINE_TEMPLATES = {"{\"id\": 1, \"question\": \"q\", \"answer\": \"a\"}", "{\"id\": \"x\", \"prompt\": \"p\"}",
            "{\"question\": \"no id\"}", "{\"id\": null, \"prompt\": \"null id\"}", "{\"id\": \"line:3\", \"prompt\": \"reserved\"}",
            "{\"id\": 1.5}", "{\"id\": [1]}", "{\"id\": {}}", "{\"id\": true}", "{\"id\": 100000000000000000000000000000}",
            "{\"id\": 1, \"id\": 2}", "[1, 2]", "\"just a string\"", "42", "null", "{\"id\": 7, \"prompt\": \"\\ud800 lone\"}",
            "{\"id\": 1e400}", "{\"id\": -0}", "{\"prompt\": \"tab\tinside\"}", "{\"id\": \"\\u0000nul\"}", "{", "}", "",
            "   ", "{\"id\": 2}{\"id\": 3}", "{\"id\": 3} trailing", "{'id': 4}", "{\"id\": NaN}", "{\"id\": \"é\"}"};

    private Outcome jsonlCase(long caseSeed, String[] input, Path keep) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (random.nextInt(10) == 0) {
            bytes.writeBytes(new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}); // a BOM
        }
        int lines = 1 + random.nextInt(12);
        for (int i = 0; i < lines; i++) {
            byte[] line = switch (random.nextInt(8)) {
                case 0 -> ("[".repeat(1 + random.nextInt(5000)) + "]".repeat(random.nextInt(3) == 0 ? 0 : 5000)).getBytes(StandardCharsets.US_ASCII);
                case 1 -> ("{\"id\": \"" + "a".repeat(random.nextInt(6000)) + "\"}").getBytes(StandardCharsets.US_ASCII);
                default -> LINE_TEMPLATES[random.nextInt(LINE_TEMPLATES.length)].getBytes(StandardCharsets.UTF_8);
            };
            line = line.clone();
            if (line.length > 0 && random.nextInt(3) == 0) {
                for (int k = 0; k < 1 + random.nextInt(3); k++) {
                    line[random.nextInt(line.length)] = (byte) (random.nextBoolean() ? 0xff : random.nextInt(256));
                }
            }
            if (line.length > 0 && random.nextInt(8) == 0) {
                line = java.util.Arrays.copyOf(line, random.nextInt(line.length));
            }
            bytes.writeBytes(line);
            if (i + 1 < lines || random.nextBoolean()) {
                bytes.writeBytes(random.nextInt(5) == 0 ? new byte[]{'\r', '\n'} : new byte[]{'\n'});
            }
        }
        Path file = work.resolve("batch-" + counter++ + ".jsonl");
        Files.write(file, bytes.toByteArray());
        input[0] = lines + " lines, " + bytes.size() + " bytes";
        try {
            if (keep != null) {
                Files.copy(file, keep, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            Set<String> ids = new HashSet<>();
            int count = 0;
            try (BatchInput in = BatchInput.open(file, 4096)) {
                for (BatchItem item = in.next(); item != null; item = in.next()) {
                    count++;
                    if (!ids.add(item.id().toString())) {
                        return new Outcome.Unclean("two items with the id " + item.id() + " (the second on line " + item.line() + ")");
                    }
                    if (item instanceof BatchItem.Bad bad) {
                        if (bad.problem().contains("\n") || !Escape.isVisible(bad.problem()) || !bad.problem().contains("line " + bad.line())) {
                            return new Outcome.Unclean("the problem of line " + bad.line() + " is not one visible line naming it: " + bad.problem());
                        }
                    }
                }
                if (count != in.items()) {
                    return new Outcome.Unclean("counted " + in.items() + " items but read " + count);
                }
            }
            return new Outcome.Success();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Override
    public void close() {
        runner.shutdownNow();
        if (http != null) {
            try {
                http.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not stop the fuzzed server: " + e, e);
            }
        }
    }
}
