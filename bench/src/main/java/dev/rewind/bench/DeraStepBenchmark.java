package dev.rewind.bench;

import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.MixtureSource;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.models.SyntheticModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One DeRa decode step (two models' forward passes for one token, run concurrently, then the
 * logit mix) against one single-model decode step, on two random-weight {@code llama} models of
 * the same shape and vocabulary (seeds 1 and 2, written to a temporary folder at set-up):
 * <ul>
 *   <li>{@link #singleModelStep}: one token through one model, its {@link WorkerPool} on every core —
 *       what {@code rewind generate} does per token;</li>
 *   <li>{@link #deraStep}: one token through the {@link MixtureSource} at λ = 0.5 — what
 *       {@code rewind dera} does per token: each model on its own pool of {@code deraThreads} threads,
 *       the two forward passes at the same time;</li>
 *   <li>{@link #twoModelsOneAfterTheOther}: the two forward passes in sequence, each on every core,
 *       without the mix — the cost DeRa would have without overlapping them.</li>
 * </ul>
 * Every step appends one token after a 32-token prompt; at 160 positions the sequences are
 * truncated back to the prompt, so attention spans 32–160 positions in every benchmark alike.
 * The goal: a DeRa step under twice a single-model step.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class DeraStepBenchmark {

    /** {@code tiny}: the shape of the shared tiny-llama files; {@code medium}: 1024 wide, 8 layers, 32000 tokens (≈170 M weights). */
    @Param({"tiny", "medium"})
    public String shape;

    @Param({"Q8_0"})
    public String type;

    /** Threads of each model's pool in {@link #deraStep}; 0 means half the processors (as {@code rewind dera}). */
    @Param({"0"})
    public int deraThreads;

    private static final SyntheticModel.Shape MEDIUM =
            new SyntheticModel.Shape("medium", 1024, 8, 16, 4, 2816, 32000, 2048, 10000.0, 1e-5f, false);
    private static final int PROMPT = 32;
    private static final int MAX_LENGTH = 160;
    private static final int CAPACITY = 256;

    private Path dir;
    private final List<AutoCloseable> open = new ArrayList<>();

    private ModelRunner single;
    private TokenSequence singleSequence;

    private MixtureSource dera;
    private TokenSequence deraSequence;

    private ModelRunner serialA;
    private ModelRunner serialB;
    private TokenSequence serialSequenceA;
    private TokenSequence serialSequenceB;

    private int token = 300;

    /**
     * Writes the two model files and loads only what the running benchmark measures, so that no other
     * configuration's forward passes shape how the JIT compiles the kernels in this trial's JVM.
     */
    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws IOException {
        SyntheticModel.Shape s = switch (shape) {
            case "tiny" -> SyntheticModel.TINY;
            case "medium" -> MEDIUM;
            default -> throw new IllegalArgumentException("unknown shape " + shape + " (tiny, medium)");
        };
        GgmlType t = GgmlType.valueOf(type);
        dir = Files.createTempDirectory("dera-bench");
        Path a = dir.resolve("aligned.gguf");
        Path r = dir.resolve("reference.gguf");
        int cores = Runtime.getRuntime().availableProcessors();
        WorkerPool all = keep(new WorkerPool(cores));
        SyntheticModel.write(a, s, t, 1, all, done -> { });
        SyntheticModel.write(r, s, t, 2, all, done -> { });
        String benchmark = params.getBenchmark();
        if (benchmark.endsWith(".singleModelStep")) {
            single = runner(load(a, all));
            singleSequence = prefill(single);
        } else if (benchmark.endsWith(".deraStep")) {
            int each = deraThreads > 0 ? deraThreads : Math.max(1, cores / 2);
            LoadedModel da = load(a, keep(new WorkerPool(each)));
            LoadedModel dr = load(r, keep(new WorkerPool(each)));
            SharedVocabulary vocabulary = Dera.checkVocabularies("aligned", da, "reference", dr);
            dera = keep(Dera.mixture(runner(da), runner(dr), 0.5, vocabulary, Optional.empty(), CAPACITY));
            deraSequence = prefill(dera);
        } else {
            serialA = runner(load(a, all));
            serialB = runner(load(r, all));
            serialSequenceA = prefill(serialA);
            serialSequenceB = prefill(serialB);
        }
    }

    private <T extends AutoCloseable> T keep(T resource) {
        open.add(resource);
        return resource;
    }

    private LoadedModel load(Path path, WorkerPool pool) throws IOException {
        LoadedModel m = keep(ModelLoader.load(path, pool));
        m.prefetch(done -> { });
        return m;
    }

    private ModelRunner runner(LoadedModel m) {
        return keep(new ModelRunner(m.model(), CAPACITY, PagePool.DEFAULT_PAGE_SIZE, KvType.F32));
    }

    private static TokenSequence prefill(LogitsSource source) {
        TokenSequence s = source.newSequence();
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = 260 + i;
        }
        source.forward(Batch.single(s, prompt));
        return s;
    }

    private int nextToken() {
        token = token == 500 ? 300 : token + 1;
        return token;
    }

    private static void rewindIfLong(TokenSequence s) {
        if (s.length() >= MAX_LENGTH) {
            s.truncate(PROMPT);
        }
    }

    @Benchmark
    public float singleModelStep() {
        rewindIfLong(singleSequence);
        return single.forward(Batch.single(singleSequence, nextToken())).row(0)[0];
    }

    @Benchmark
    public float deraStep() {
        rewindIfLong(deraSequence);
        return dera.forward(Batch.single(deraSequence, nextToken())).row(0)[0];
    }

    @Benchmark
    public float twoModelsOneAfterTheOther() {
        rewindIfLong(serialSequenceA);
        rewindIfLong(serialSequenceB);
        int t = nextToken();
        float x = serialA.forward(Batch.single(serialSequenceA, t)).row(0)[0];
        return x + serialB.forward(Batch.single(serialSequenceB, t)).row(0)[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        open.clear();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
