package dev.rewind.bench;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.MatMul;
import dev.rewind.engine.tensor.Precision;
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
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The weight kernels on a synthetic random {@code rows × cols} matrix in off-heap memory
 * ({@link Arena#ofShared()}, like a mapped GGUF file), per supported type:
 * <ul>
 *   <li>{@link #matvec}: one full matrix-vector product ({@link MatMul} of one activation row,
 *       as a decode step computes it) across a {@link WorkerPool} of {@code threads} threads
 *       (0 = all processors);</li>
 *   <li>{@link #matvecSingleThread}: the same on a pool of one thread (with {@code -p rows=128}
 *       the matrix stays in L2 and the figure is the kernel's compute speed);</li>
 *   <li>{@link #dotRowInCache}: one row's {@link WeightMatrix#dot}, the same row every time, so
 *       the weights stay in L1/L2 (the exact path's row kernel; a packed matrix's {@code dot} is
 *       its scalar reference, its fast kernels work on groups of 16 rows).</li>
 * </ul>
 * {@code precision} chooses the form multiplied: {@code FAST} (the default path) regroups Q4_0 and
 * Q8_0 into their packed layouts with {@link WeightPacker}, as the model loader does; {@code EXACT}
 * multiplies the file's blocks in float. The other types are the same on both.
 * With {@code workingSetMiB > 0} the benchmark cycles through enough copies of the matrix to
 * fill that many MiB, so that the weights come from DRAM rather than from the CPU caches
 * (as for a real model, which is larger than the last-level cache).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBenchmark {

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    public String type;

    @Param("4096")
    public int rows;

    @Param("4096")
    public int cols;

    /** Threads for {@link #matvec}; 0 means {@link Runtime#availableProcessors()}. */
    @Param("0")
    public int threads;

    /** {@code FAST} or {@code EXACT}, see the class comment. */
    @Param("FAST")
    public String precision;

    /** 0: a single matrix; otherwise cycle through copies filling about this many MiB. */
    @Param("0")
    public int workingSetMiB;

    private Arena arena;
    private WorkerPool pool;
    private WorkerPool onePool;
    private final MatMul matmul = new MatMul();
    private WeightPacker packer;
    private WeightMatrix[] matrices;
    private int next;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        long bytes = t.byteSize((long) rows * cols);
        int copies = workingSetMiB == 0 ? 1 : (int) Math.max(1, ((long) workingSetMiB << 20) / bytes);
        arena = Arena.ofShared();
        SplittableRandom random = new SplittableRandom(42);
        matrices = new WeightMatrix[copies];
        pool = new WorkerPool(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        onePool = new WorkerPool(1);
        packer = Precision.valueOf(precision) == Precision.FAST ? new WeightPacker(pool) : null;
        for (int c = 0; c < copies; c++) {
            MemorySegment data = arena.allocate(bytes, 64);
            fill(t, data, random);
            WeightMatrix m = WeightMatrix.of("bench." + type + "." + c, t, data, rows, cols);
            matrices[c] = packer == null ? m : packer.pack(m);
        }
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        out = new float[rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        onePool.close();
        if (packer != null) {
            packer.close();
        }
        arena.close();
    }

    private WeightMatrix nextMatrix() {
        WeightMatrix w = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        return w;
    }

    @Benchmark
    public float[] matvec() {
        matmul.matmul(nextMatrix(), x, 1, out, pool);
        return out;
    }

    @Benchmark
    public float[] matvecSingleThread() {
        matmul.matmul(nextMatrix(), x, 1, out, onePool);
        return out;
    }

    @Benchmark
    public float dotRowInCache() {
        return matrices[0].dot(0, x, 0);
    }

    /** Random weights of realistic magnitude: floats in (-1, 1), quant blocks with small scales. */
    private static void fill(GgmlType type, MemorySegment data, SplittableRandom random) {
        ValueLayout.OfShort i16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        long n = data.byteSize();
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i += 4) {
                    data.set(f32, i, (float) random.nextDouble(-1, 1));
                }
            }
            case F16 -> {
                for (long i = 0; i < n; i += 2) {
                    data.set(i16, i, Float.floatToFloat16((float) random.nextDouble(-1, 1)));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i += 2) {
                    data.set(i16, i, (short) (Float.floatToRawIntBits((float) random.nextDouble(-1, 1)) >>> 16));
                }
            }
            case Q8_0, Q4_0 -> {
                int blockBytes = type.blockBytes();
                for (long at = 0; at < n; at += blockBytes) {
                    data.set(i16, at, Float.floatToFloat16((float) random.nextDouble(-0.01, 0.01)));
                    for (int j = 2; j < blockBytes; j++) {
                        data.set(ValueLayout.JAVA_BYTE, at + j, (byte) random.nextInt(256));
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
    }
}
