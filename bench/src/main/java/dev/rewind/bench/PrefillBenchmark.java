package dev.rewind.bench;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
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

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Evaluating a prompt of {@code promptTokens} tokens into a fresh sequence (closed afterwards),
 * up to the last token's logits:
 * <ul>
 *   <li>{@link #oneBatch}: the whole prompt in one forward call ({@code Batch.Entry} with
 *       {@code Wanted.LAST}): each weight matrix is read once and multiplied with all rows;</li>
 *   <li>{@link #chunked}: in forward calls of {@link GenerationContext#PREFILL_CHUNK} tokens, as
 *       {@code GenerationContext} evaluates a prompt;</li>
 *   <li>{@link #tokenByToken}: one single-token forward call per prompt token, i.e. what the prompt
 *       would cost at decode speed.</li>
 * </ul>
 * Each invocation is timed alone ({@code SingleShotTime}: one call takes seconds); the warm-up
 * iteration also grows the workspace's buffers to the call's rows, so the measured calls allocate no
 * activations. Prompt tokens/s = {@code promptTokens} / time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PrefillBenchmark {

    @Param("Q4_0")
    public String type;

    @Param("llama-1b")
    public String shape;

    @Param("512")
    public int promptTokens;

    @Param("/tmp/rewind-synth")
    public String modelDir;

    private BenchModel model;
    private int[] prompt;

    @Setup(Level.Trial)
    public void setUp() {
        model = new BenchModel(shape, type, modelDir, promptTokens + 16);
        prompt = model.tokens(promptTokens, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float oneBatch() {
        try (Sequence s = model.runner.newSequence()) {
            return model.runner.forward(Batch.of(List.of(new Batch.Entry(s, prompt, Batch.Wanted.LAST)))).row(0)[0];
        }
    }

    @Benchmark
    public float chunked() {
        try (Sequence s = model.runner.newSequence()) {
            float first = 0;
            for (int from = 0; from < prompt.length; from += GenerationContext.PREFILL_CHUNK) {
                int to = Math.min(prompt.length, from + GenerationContext.PREFILL_CHUNK);
                boolean last = to == prompt.length;
                var logits = model.runner.forward(Batch.of(List.of(new Batch.Entry(s, Arrays.copyOfRange(prompt, from, to),
                        last ? Batch.Wanted.LAST : Batch.Wanted.NONE))));
                if (last) {
                    first = logits.row(0)[0];
                }
            }
            return first;
        }
    }

    @Benchmark
    public float tokenByToken() {
        try (Sequence s = model.runner.newSequence()) {
            float first = 0;
            for (int token : prompt) {
                first = model.runner.forward(Batch.single(s, token)).row(0)[0];
            }
            return first;
        }
    }
}
