package dev.rewind.bench;

import dev.rewind.engine.memory.OffHeap;
import dev.rewind.engine.parallel.WorkerPool;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorSpecies;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The machine's memory-read limit, the ceiling of a decode step: a streaming read of a
 * pre-touched off-heap segment ({@link OffHeap}, huge pages where the OS gives them, as packed
 * weights are) of {@code mib} MiB with vector loads of the preferred width into four
 * independent accumulators, on {@code threads} threads taking 64 contiguous chunks each in turn.
 * It does no arithmetic worth the name, so bytes / time is what the memory system delivers to
 * Java code. GB/s = {@code mib × 2^20 / time}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MemoryReadBenchmark {

    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;

    @Param("1024")
    public int mib;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment data;
    private WorkerPool pool;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        data = OffHeap.allocate(arena, (long) mib << 20);
        for (long at = 0; at < data.byteSize(); at += 8) {
            data.set(ValueLayout.JAVA_LONG, at, at);
        }
        pool = new WorkerPool(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public long read() {
        int chunks = 64 * threads;
        long share = data.byteSize() / chunks;
        AtomicLong total = new AtomicLong();
        pool.parallelFor(chunks, (from, to) -> {
            for (int c = from; c < to; c++) {
                total.addAndGet(sum(data, c * share, (c + 1) * share));
            }
        });
        return total.get();
    }

    /** Sum of the longs in [from, to), four vectors per iteration; to - from is a multiple of 4 vectors. */
    private static long sum(MemorySegment data, long from, long to) {
        long step = L.vectorByteSize();
        LongVector a0 = LongVector.zero(L);
        LongVector a1 = LongVector.zero(L);
        LongVector a2 = LongVector.zero(L);
        LongVector a3 = LongVector.zero(L);
        for (long at = from; at < to; at += 4 * step) {
            a0 = a0.add(LongVector.fromMemorySegment(L, data, at, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(LongVector.fromMemorySegment(L, data, at + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(LongVector.fromMemorySegment(L, data, at + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(LongVector.fromMemorySegment(L, data, at + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
