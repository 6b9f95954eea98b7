package dev.rewind.bench;

import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
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

import java.util.concurrent.TimeUnit;

/**
 * One decode step of a whole model: one new token through every layer and the output matrix, with
 * its next-token logits, for a sequence already holding {@code context} positions. The sequence
 * is truncated back to {@code context} after each step, so every step sees the same KV length
 * (the truncate costs nanoseconds; the step tens of milliseconds).
 *
 * <p>The figure is time per generated token; tokens/s is its inverse and the effective bandwidth
 * is the model file's bytes over it (a decode step reads every weight once).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class DecodeBenchmark {

    @Param({"Q4_0", "Q8_0", "F16"})
    public String type;

    @Param("llama-1b")
    public String shape;

    /** Positions in the KV cache before each step. */
    @Param("128")
    public int context;

    @Param("/tmp/rewind-synth")
    public String modelDir;

    private BenchModel model;
    private Sequence sequence;
    private int token;

    @Setup(Level.Trial)
    public void setUp() {
        model = new BenchModel(shape, type, modelDir, context + 64);
        sequence = model.runner.newSequence();
        model.runner.forward(Batch.single(sequence, model.tokens(context, 0)));
        token = model.tokens(1, 1)[0];
        System.out.printf("%n%s: %,d bytes, context %d%n", model.path, model.fileBytes(), sequence.length());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float step() {
        Logits logits = model.runner.forward(Batch.single(sequence, token));
        float first = logits.row(0)[0];
        sequence.truncate(context);
        return first;
    }
}
