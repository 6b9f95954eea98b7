package dev.rewind.bench;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.MatMul;
import dev.rewind.engine.tensor.Quantizer;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.engine.tensor.WeightPacker;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One matrix-vector product per weight type on both precision paths, as a decode step runs it
 * ({@link MatMul} with one activation row): {@code fast} multiplies the form {@link WeightPacker}
 * makes at load (a packed layout, or the matrix itself for the types without one), {@code exact}
 * the matrix read in place. The weights are Gaussian rows quantized by {@link Quantizer}, so every
 * scale is realistic; {@code copies} matrices are cycled so that the weights come from DRAM
 * (16 copies of 4096 × 4096 are 144 MiB of Q4_0 and more for the wider types, well past the L3).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TypeKernelBenchmark {

    @Param({"Q4_0", "Q8_0", "Q4_K", "Q5_K", "Q6_K", "Q3_K", "Q5_0", "IQ4_NL", "Q4_1", "Q5_1", "Q2_K", "IQ4_XS"})
    public String type;

    @Param("4096")
    public int rows;

    @Param("4096")
    public int cols;

    @Param("16")
    public int copies;

    @Param("2")
    public int threads;

    private Arena arena;
    private WorkerPool pool;
    private WeightPacker packer;
    private WeightMatrix[] exact;
    private WeightMatrix[] fast;
    private int next;
    private float[] x;
    private float[] out;
    private final MatMul matmul = new MatMul();

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        packer = new WeightPacker(pool);
        exact = new WeightMatrix[copies];
        fast = new WeightMatrix[copies];
        long rowBytes = Quantizer.bytes(t, cols);
        for (int c = 0; c < copies; c++) {
            MemorySegment data = arena.allocate(rowBytes * rows, 64);
            long seed = 42 + c;
            pool.parallelFor(rows, (from, to) -> {
                float[] row = new float[cols];
                for (int r = from; r < to; r++) {
                    SplittableRandom random = new SplittableRandom(seed * 1_000_003 + r);
                    for (int i = 0; i < cols; i++) {
                        row[i] = (float) (random.nextGaussian() / Math.sqrt(cols));
                    }
                    Quantizer.quantize(t, row, 0, cols, data, r * rowBytes);
                }
            });
            exact[c] = WeightMatrix.of("bench." + type + "." + c, t, data, rows, cols);
            fast[c] = packer.pack(exact[c]);
        }
        SplittableRandom random = new SplittableRandom(7);
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        out = new float[rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        packer.close();
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] fast() {
        WeightMatrix w = fast[next];
        next = next + 1 == copies ? 0 : next + 1;
        matmul.matmul(w, x, 1, out, pool);
        return out;
    }

    @Benchmark
    public float[] exact() {
        WeightMatrix w = exact[next];
        next = next + 1 == copies ? 0 : next + 1;
        matmul.matmul(w, x, 1, out, pool);
        return out;
    }
}
