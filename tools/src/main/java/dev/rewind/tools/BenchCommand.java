package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.Simd;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.WeightTensor;
import dev.rewind.models.ModelRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code rewind bench}: llama.cpp's {@code llama-bench} for Rewind, with its flags, its tests and
 * its output, so the two can be run on the same file and compared line for line. A {@code ppN}
 * test evaluates a prompt of N random tokens in one batch; a {@code tgN} test generates N tokens
 * one at a time; each test runs once to warm up, then {@code -r} times from an empty cache, and
 * reports tokens per second (mean ± standard deviation over the repetitions).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark prompt processing (ppN) and generation (tgN) like llama.cpp's llama-bench, with its flags and output.",
                "Prompts are random token ids; each test runs once to warm up, then -r times from an empty cache."})
final class BenchCommand implements Callable<Integer> {

    enum Output { md, json, jsonl, csv }

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", required = true, split = ",",
            description = "GGUF model file(s) or Hugging Face model folder(s), comma-separated or repeated.")
    List<Path> models;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", split = ",", defaultValue = "512",
            description = "Prompt lengths (ppN tests); 0 for none (default: ${DEFAULT-VALUE}).")
    List<Integer> prompts;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", split = ",", defaultValue = "128",
            description = "Generation lengths (tgN tests); 0 for none (default: ${DEFAULT-VALUE}).")
    List<Integer> gens;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", split = ",",
            description = "Thread counts (default: all cores).")
    List<Integer> threads;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "5",
            description = "Repetitions of each test (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = {"-o", "--output"}, paramLabel = "FMT", defaultValue = "md",
            description = "Output format: md, json, jsonl or csv (default: ${DEFAULT-VALUE}).")
    Output output;

    @Option(names = {"-ctk", "--cache-type-k", "-ctv", "--cache-type-v", "--kv-type"}, paramLabel = "T", defaultValue = "f16",
            description = "KV cache type, f16 or f32 (default: ${DEFAULT-VALUE}, as llama-bench's).")
    String kvType;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fast", converter = ModelOptions.PrecisionConverter.class,
            description = "fast (default) or exact; see 'rewind generate --help'.")
    Precision precision;

    @Option(names = "--progress", description = "Print progress on stderr.")
    boolean progress;

    private final PrintStream out;
    private final PrintStream err;

    BenchCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** One test's result, with llama-bench's fields. */
    record Result(Path file, String modelType, long modelSize, long params, int threads, KvType kv, int prompt, int gen,
                  String testTime, long[] samplesNs) {

        String test() {
            return prompt > 0 && gen == 0 ? "pp" + prompt : gen > 0 && prompt == 0 ? "tg" + gen : "pp" + prompt + "+tg" + gen;
        }

        double[] samplesTs() {
            double[] ts = new double[samplesNs.length];
            for (int i = 0; i < ts.length; i++) {
                ts[i] = (prompt + gen) * 1e9 / samplesNs[i];
            }
            return ts;
        }

        static double mean(double[] v) {
            double s = 0;
            for (double x : v) {
                s += x;
            }
            return v.length == 0 ? 0 : s / v.length;
        }

        static double stddev(double[] v) {
            if (v.length < 2) {
                return 0;
            }
            double m = mean(v);
            double s = 0;
            for (double x : v) {
                s += (x - m) * (x - m);
            }
            return Math.sqrt(s / (v.length - 1));
        }

        double[] ns() {
            double[] v = new double[samplesNs.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = samplesNs[i];
            }
            return v;
        }
    }

    @Override
    public Integer call() throws Exception {
        KvType kv = switch (kvType.toLowerCase(java.util.Locale.ROOT)) {
            case "f16" -> KvType.F16;
            case "f32" -> KvType.F32;
            default -> throw new UserException("--kv-type must be f16 or f32, got '" + kvType + "'");
        };
        if (repetitions < 1 || repetitions > 1000) {
            throw new UserException("--repetitions must be between 1 and 1000, got " + repetitions);
        }
        for (int p : prompts) {
            if (p < 0 || p > 1 << 20) {
                throw new UserException("--n-prompt values must be between 0 and 1048576, got " + p);
            }
        }
        for (int n : gens) {
            if (n < 0 || n > 1 << 20) {
                throw new UserException("--n-gen values must be between 0 and 1048576, got " + n);
            }
        }
        List<Integer> threadCounts = threads == null ? List.of(Runtime.getRuntime().availableProcessors()) : threads;
        for (int t : threadCounts) {
            if (t < 1 || t > 1024) {
                throw new UserException("--threads must be between 1 and 1024, got " + t);
            }
        }
        for (Path m : models) {
            if (!Files.isRegularFile(m) && !Files.isDirectory(m)) {
                throw new UserException(Files.exists(m) ? m + " is neither a file nor a folder" : "no such model file: " + m);
            }
        }
        List<Result> results = new ArrayList<>();
        Printer printer = new Printer();
        printer.header();
        for (Path file : models) {
            for (int t : threadCounts) {
                try (WorkerPool pool = new WorkerPool(t); LoadedModel loaded = ModelLoader.load(file, pool, precision)) {
                    List<int[]> tests = new ArrayList<>();
                    for (int p : prompts) {
                        if (p > 0) {
                            tests.add(new int[]{p, 0});
                        }
                    }
                    for (int n : gens) {
                        if (n > 0) {
                            tests.add(new int[]{0, n});
                        }
                    }
                    for (int[] test : tests) {
                        Result r = run(file, loaded, t, kv, test[0], test[1]);
                        results.add(r);
                        printer.row(r);
                    }
                }
            }
        }
        printer.footer(results);
        return 0;
    }

    private Result run(Path file, LoadedModel loaded, int threads, KvType kv, int prompt, int gen) throws IOException {
        int capacity = Math.max(prompt + gen, 1);
        if (capacity > loaded.model().config().contextLength() * 4L) {
            throw new UserException(file + ": a test of " + capacity + " tokens is longer than four times the model's context ("
                    + loaded.model().config().contextLength() + ")");
        }
        MemoryBudget.checkKvCache(loaded.model().config(), capacity, PagePool.DEFAULT_PAGE_SIZE, kv, loaded.file().fileSize(),
                "lower -p or -n");
        long[] samples = new long[repetitions];
        String testTime = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        try (ModelRunner runner = new ModelRunner(loaded.model(), capacity, PagePool.DEFAULT_PAGE_SIZE, kv)) {
            Random random = new Random(1);
            int vocab = runner.vocabularySize();
            int[] framing = loaded.tokenizer().encode("", true, false);
            int bos = framing.length > 0 ? framing[0] : -1; // the BOS the vocabulary adds, as llama-bench starts with
            progress("%s %s: warm-up", file.getFileName(), prompt > 0 ? "pp" + prompt : "tg" + gen);
            once(runner, prompt > 0 ? prompt : 0, prompt > 0 ? 0 : 1, vocab, bos, random);
            for (int i = 0; i < repetitions; i++) {
                progress("%s %s: run %d/%d", file.getFileName(), prompt > 0 ? "pp" + prompt : "tg" + gen, i + 1, repetitions);
                samples[i] = once(runner, prompt, gen, vocab, bos, random);
            }
        }
        return new Result(file, modelType(loaded), modelSize(loaded), params(loaded), threads, kv, prompt, gen, testTime, samples);
    }

    /** One timed run from an empty cache: a prompt of {@code prompt} random tokens in one batch, then {@code gen} single steps. */
    private static long once(ModelRunner runner, int prompt, int gen, int vocab, int bos, Random random) {
        try (Sequence s = runner.newSequence()) {
            long start = System.nanoTime();
            if (prompt > 0) {
                int[] tokens = new int[prompt];
                for (int i = 0; i < prompt; i++) {
                    tokens[i] = i == 0 && bos >= 0 ? bos : random.nextInt(vocab);
                }
                runner.forward(Batch.single(s, tokens));
            }
            int token = bos >= 0 ? bos : random.nextInt(vocab);
            for (int i = 0; i < gen; i++) {
                runner.forward(Batch.single(s, token));
                token = random.nextInt(vocab);
            }
            return System.nanoTime() - start;
        }
    }

    private void progress(String format, Object... args) {
        if (progress) {
            err.println("rewind bench: " + String.format(format, args));
        }
    }

    /** llama.cpp's description: architecture, size class and the weights' dominant type, e.g. {@code llama 1B Q4_0}. */
    static String modelType(LoadedModel loaded) {
        Map<GgmlType, Long> bytes = new EnumMap<>(GgmlType.class);
        for (WeightTensor t : loaded.file().tensors()) {
            if (t.shape().length >= 2) {
                bytes.merge(t.type(), t.byteSize(), Long::sum);
            }
        }
        String type = bytes.entrySet().stream().max(Map.Entry.comparingByValue()).map(e -> e.getKey().name()).orElse("?");
        long p = params(loaded);
        String size = p >= 1_000_000_000L ? Math.round(p / 1e9) + "B" : p >= 1_000_000L ? Math.round(p / 1e6) + "M" : Math.round(p / 1e3) + "K";
        return loaded.model().config().architecture() + " " + size + " " + type;
    }

    static long modelSize(LoadedModel loaded) {
        return loaded.file().tensors().stream().mapToLong(WeightTensor::byteSize).sum();
    }

    static long params(LoadedModel loaded) {
        long n = 0;
        for (WeightTensor t : loaded.file().tensors()) {
            long e = 1;
            for (long d : t.shape()) {
                e *= d;
            }
            n += e;
        }
        return n;
    }

    /** The backend column: the JVM, with the vector width in the JSON's {@code backends} and the table's footer. */
    static String backend() {
        return "Java";
    }

    static String backends() {
        return "Java Vector API " + Simd.bits() + "-bit";
    }

    static String cpuInfo() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }

    /** Prints results in the chosen format as they come (md, jsonl, csv) or at the end (json). */
    private final class Printer {
        private final ObjectMapper json = new ObjectMapper();

        void header() {
            switch (output) {
                case md -> {
                    out.printf("| %-30s | %10s | %10s | %-10s | %7s | %13s | %20s |%n", "model", "size", "params", "backend", "threads", "test", "t/s");
                    out.printf("| %s | %s: | %s: | %s | %s: | %s: | %s: |%n", "-".repeat(30), "-".repeat(9), "-".repeat(9), "-".repeat(10),
                            "-".repeat(6), "-".repeat(12), "-".repeat(19));
                }
                case csv -> out.println(String.join(",", FIELDS));
                default -> {
                }
            }
        }

        void row(Result r) {
            double[] ts = r.samplesTs();
            switch (output) {
                case md -> out.printf("| %-30s | %10s | %10s | %-10s | %7d | %13s | %20s |%n", r.modelType(), size(r.modelSize()),
                        params(r.params()), backend(), r.threads(), r.test(),
                        String.format("%.2f ± %.2f", Result.mean(ts), Result.stddev(ts)));
                case jsonl -> out.println(node(r));
                case csv -> {
                    ObjectNode n = node(r);
                    List<String> cells = new ArrayList<>();
                    for (String f : FIELDS) {
                        String v = n.get(f).isTextual() ? n.get(f).asText() : n.get(f).toString();
                        cells.add('"' + v.replace("\"", "\"\"") + '"');
                    }
                    out.println(String.join(",", cells));
                }
                case json -> {
                }
            }
        }

        void footer(List<Result> results) {
            switch (output) {
                case md -> out.printf("%nbuild: rewind, Java %s, %s, precision %s%n", Runtime.version(), backends(),
                        precision.name().toLowerCase(java.util.Locale.ROOT));
                case json -> {
                    ArrayNode a = json.createArrayNode();
                    results.forEach(r -> a.add(node(r)));
                    try {
                        out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(a));
                    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                        throw new IllegalStateException(e);
                    }
                }
                default -> {
                }
            }
        }

        private ObjectNode node(Result r) {
            ObjectNode n = json.createObjectNode();
            n.put("build_commit", "rewind");
            n.put("build_number", 0);
            n.put("cpu_info", cpuInfo());
            n.put("gpu_info", "");
            n.put("backends", backends());
            n.put("model_filename", r.file().toString());
            n.put("model_type", r.modelType());
            n.put("model_size", r.modelSize());
            n.put("model_n_params", r.params());
            n.put("n_batch", Math.max(r.prompt(), 1));
            n.put("n_ubatch", Math.max(r.prompt(), 1));
            n.put("n_threads", r.threads());
            n.put("type_k", r.kv().name().toLowerCase(java.util.Locale.ROOT));
            n.put("type_v", r.kv().name().toLowerCase(java.util.Locale.ROOT));
            n.put("precision", precision.name().toLowerCase(java.util.Locale.ROOT));
            n.put("use_mmap", true);
            n.put("n_prompt", r.prompt());
            n.put("n_gen", r.gen());
            n.put("test_time", r.testTime());
            double[] ns = r.ns();
            double[] ts = r.samplesTs();
            n.put("avg_ns", Math.round(Result.mean(ns)));
            n.put("stddev_ns", Math.round(Result.stddev(ns)));
            n.put("avg_ts", Result.mean(ts));
            n.put("stddev_ts", Result.stddev(ts));
            ArrayNode sn = n.putArray("samples_ns");
            for (long s : r.samplesNs()) {
                sn.add(s);
            }
            ArrayNode st = n.putArray("samples_ts");
            for (double s : ts) {
                st.add(s);
            }
            return n;
        }
    }

    private static final List<String> FIELDS = List.of("build_commit", "build_number", "cpu_info", "gpu_info", "backends", "model_filename",
            "model_type", "model_size", "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "type_v", "precision", "use_mmap",
            "n_prompt", "n_gen", "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts");

    static String size(long bytes) {
        return bytes < 1L << 30 ? String.format("%.2f MiB", bytes / 1024.0 / 1024.0) : String.format("%.2f GiB", bytes / 1024.0 / 1024.0 / 1024.0);
    }

    static String params(long n) {
        return n < 1_000_000_000L ? String.format("%.2f M", n / 1e6) : String.format("%.2f B", n / 1e9);
    }
}
