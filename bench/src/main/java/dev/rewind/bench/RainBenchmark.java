package dev.rewind.bench;

import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.HiddenStateEmbedder;
import dev.rewind.align.rain.JudgeTemplate;
import dev.rewind.align.rain.ModelJudge;
import dev.rewind.align.rain.PlainBaseline;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.align.rain.RainResult;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * RAIN on a shared model ({@code ../shared/models}, run from the repository root), self-judged, with the
 * hidden-state embedder, on the raw prompt "Once upon a time":
 * <ul>
 *   <li>{@link #innerIteration}: the first {@value #ITERATIONS} inner iterations of a request (select,
 *       simulate, judge, expand, back up), per iteration — the tree grows as it would;</li>
 *   <li>{@link #request}: a whole request of {@code tokens} answer tokens with the preset's rules;</li>
 *   <li>{@link #plain}: plain greedy generation of the same number of tokens, the baseline.</li>
 * </ul>
 * Every invocation starts with a new judge and embedder (a new {@link Rain}), so nothing a previous
 * invocation judged or embedded is reused: the judge's few-shot prefix is evaluated in each invocation
 * too. The {@code judge} parameter picks the official HH template (3,400 tok512 tokens of few-shot) or
 * a short one-example template of the paper's sentiment kind.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class RainBenchmark {

    static final int ITERATIONS = 20;

    @Param({"stories260K.gguf"})
    public String model;

    @Param({"kind"})
    public String judge;

    @Param("24")
    public int tokens;

    @Param("../shared/models")
    public String modelDir;

    private WorkerPool pool;
    private LoadedModel loaded;
    private ModelRunner runner;
    private RainParams params;
    private int[] promptTokens;

    /** The short judge: one example, the paper's sentiment form turned to kindness. */
    static final JudgeTemplate KIND = new JudgeTemplate.TwoOrders(
            "Consider the following story. Determine if the story is kind.\n\nStory: The dog helped the cat.\n"
                    + "Options:\n(A) The story is kind.\n(B) The story is unkind.\nThe answer is: (A) The story is kind.",
            "Options:\n(A) The story is kind.\n(B) The story is unkind.\nThe answer is: (",
            "Options:\n(A) The story is unkind.\n(B) The story is kind.\nThe answer is: (", "A", "B");

    @Setup(Level.Trial)
    public void setUp() {
        pool = new WorkerPool();
        try {
            loaded = ModelLoader.load(Path.of(modelDir, model), pool);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        loaded.prefetch(done -> { });
        runner = new ModelRunner(loaded.model(), 131072, PagePool.DEFAULT_PAGE_SIZE, KvType.F32);
        params = RainPreset.HH.builder().seed(1).maxNewTokens(tokens).build();
        promptTokens = loaded.tokenizer().encode("Once upon a time", true, true);
    }

    /** A fresh judge and embedder: nothing judged or embedded before is reused. */
    private record Fresh(Rain rain, ModelJudge judge, HiddenStateEmbedder embedder) implements AutoCloseable {
        @Override
        public void close() {
            embedder.close();
            judge.close();
        }
    }

    private Fresh fresh() {
        ModelJudge modelJudge = new ModelJudge(runner, loaded.tokenizer(), judge.equals("hh") ? JudgeTemplate.HH : KIND);
        HiddenStateEmbedder embedder = new HiddenStateEmbedder(runner, loaded.tokenizer(), 256);
        return new Fresh(new Rain(runner, loaded.tokenizer(), modelJudge, embedder, params, Conversation.RAW, 8192), modelJudge, embedder);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        runner.close();
        loaded.close();
        pool.close();
    }

    @Benchmark
    @OperationsPerInvocation(ITERATIONS)
    public void innerIteration() {
        try (Fresh f = fresh(); Rain.Session s = f.rain().open("Once upon a time")) {
            for (int i = 0; i < ITERATIONS; i++) {
                s.search();
            }
        }
    }

    @Benchmark
    public RainResult request() {
        try (Fresh f = fresh()) {
            return f.rain().run("Once upon a time", false);
        }
    }

    @Benchmark
    public PlainBaseline.Cost plain() {
        return PlainBaseline.measure(runner, promptTokens, tokens);
    }
}
