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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One step on {@code k} branches of a shared prompt: a trunk of {@code trunk} prompt tokens is
 * evaluated once, {@code k} branches are forked from it, and each invocation appends one token
 * (a different one per branch) to every branch and computes each branch's logits:
 * <ul>
 *   <li>{@link #batched}: all {@code k} tokens in one {@link Batch#step} forward call, so each
 *       weight matrix is read once for the {@code k} rows;</li>
 *   <li>{@link #oneByOne}: {@code k} single-token forward calls one after another, as a loop over
 *       the branches without batching would do.</li>
 * </ul>
 * After each invocation every branch is truncated back to the trunk's length, so every invocation
 * starts from the same state. The figure is time per invocation (all {@code k} branches advanced
 * by one token); the speed-up of batching is {@code oneByOne / batched}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class BranchBatchBenchmark {

    @Param({"1", "2", "4", "8", "16"})
    public int k;

    @Param("Q4_0")
    public String type;

    @Param("llama-1b")
    public String shape;

    /** Prompt tokens the branches share. */
    @Param("256")
    public int trunk;

    @Param("/tmp/rewind-synth")
    public String modelDir;

    private BenchModel model;
    private Sequence trunkSequence;
    private List<Sequence> branches;
    private int[] next;

    @Setup(Level.Trial)
    public void setUp() {
        model = new BenchModel(shape, type, modelDir, trunk + 16 * (k + 1));
        trunkSequence = model.runner.newSequence();
        model.runner.forward(Batch.single(trunkSequence, model.tokens(trunk, 0)));
        branches = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            branches.add(trunkSequence.fork());
        }
        next = new int[k];
        for (int i = 0; i < k; i++) {
            next[i] = model.tokens(1, i + 1)[0];
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public float batched() {
        Logits logits = model.runner.forward(Batch.step(branches, next));
        float sum = 0;
        for (int i = 0; i < k; i++) {
            sum += logits.row(i)[0];
        }
        rewind();
        return sum;
    }

    @Benchmark
    public float oneByOne() {
        float sum = 0;
        for (int i = 0; i < k; i++) {
            sum += model.runner.forward(Batch.single(branches.get(i), next[i])).row(0)[0];
        }
        rewind();
        return sum;
    }

    private void rewind() {
        for (Sequence b : branches) {
            b.truncate(trunk);
        }
    }
}
