package dev.rewind.engine.tensor;

import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Once compiled, the kernels allocate nothing: every vector lives in registers. This is also the
 * symptom of the kernels' worst performance bug — if the JIT fails to inline code that passes
 * vectors around, the vectors are boxed on the heap and the kernel runs several times slower —
 * so the test guards speed as well as garbage. It runs the kernels until the JIT has compiled
 * them (allocation per batch drops to zero) and fails if that does not happen within the time
 * limit.
 */
class NoAllocationTest {

    private static final long DEADLINE_NANOS = 30_000_000_000L;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Bytes this thread has allocated so far. */
    private static long allocatedBytes() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }

    /** What one {@link #allocatedBytes} call itself allocates (the smallest of a few tries). */
    private static long measuringCost() {
        long cost = Long.MAX_VALUE;
        for (int i = 0; i < 100; i++) {
            long before = allocatedBytes();
            cost = Math.min(cost, allocatedBytes() - before);
        }
        return cost;
    }

    /**
     * Runs {@code work} in batches until a batch allocates nothing (then returns 0) or the deadline
     * passes (then returns what the last batch allocated). The work is called through a
     * {@link Runnable} that every test passes a different lambda to, so the JIT compiles the code
     * under test as its own unit, as in production (where it is reached through the pool's tasks),
     * and not inlined into this loop.
     */
    private static long allocatedPerBatch(Runnable work, int calls) {
        long cost = measuringCost();
        long start = System.nanoTime();
        long perBatch = Long.MAX_VALUE;
        while (perBatch > 0 && System.nanoTime() - start < DEADLINE_NANOS) {
            long before = allocatedBytes();
            for (int i = 0; i < calls; i++) {
                work.run();
            }
            perBatch = allocatedBytes() - before - cost;
        }
        return perBatch;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void dotAndMatvecAllocateNothingOnceCompiled(GgmlType type) {
        int rows = 64;
        int cols = 1024 + Math.max(64, type.blockSize());
        try (Arena arena = Arena.ofShared(); WorkerPool serial = new WorkerPool(1)) {
            WeightMatrix w = RandomWeights.matrix(arena, type, rows, cols, new Random(1));
            float[] x = RandomWeights.uniformVector(cols, new Random(2));
            float[] out = new float[rows];
            float[] row = new float[cols];
            long cost = measuringCost();
            long start = System.nanoTime();
            long perBatch = Long.MAX_VALUE;
            float sink = 0;
            while (perBatch > 0 && System.nanoTime() - start < DEADLINE_NANOS) {
                long before = allocatedBytes();
                for (int i = 0; i < 200; i++) {
                    MatVec.matvec(w, x, 0, out, 0);
                    sink += w.dot(i % rows, x, 0);
                    w.dequantizeRow(i % rows, row, 0);
                }
                perBatch = allocatedBytes() - before - cost;
            }
            assertTrue(perBatch == 0, type + ": still allocating " + perBatch + " bytes per 200 matvecs after "
                    + (System.nanoTime() - start) / 1_000_000 + " ms (sink " + sink + ")");
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q4_0"})
    void floatOpsAllocateNothingOnceCompiled(GgmlType unused) {
        float[] a = RandomWeights.uniformVector(1000, new Random(3));
        float[] b = RandomWeights.uniformVector(1000, new Random(4));
        {
            long cost = measuringCost();
            long start = System.nanoTime();
            long perBatch = Long.MAX_VALUE;
            float sink = 0;
            while (perBatch > 0 && System.nanoTime() - start < DEADLINE_NANOS) {
                long before = allocatedBytes();
                for (int i = 0; i < 1000; i++) {
                    sink += FloatOps.sumOfSquares(a, 0, 1000);
                    FloatOps.add(b, 0, a, 0, 1000);
                    FloatOps.scale(b, 0, 1000, 0.5f);
                }
                perBatch = allocatedBytes() - before - cost;
            }
            assertTrue(perBatch == 0, "FloatOps still allocating " + perBatch + " bytes per batch (sink " + sink + ")");
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
            "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"})
    void matmulAllocatesNothingOnceCompiled(GgmlType type) {
        int rows = 64;
        int cols = 512;
        try (Arena arena = Arena.ofShared(); WorkerPool serial = new WorkerPool(1); WeightPacker packer = new WeightPacker(serial)) {
            WeightMatrix exact = RandomWeights.matrix(arena, type, rows, cols, new Random(1));
            WeightMatrix fast = packer.pack(exact);
            float[] x = RandomWeights.uniformVector(5 * cols, new Random(2));
            float[] out = new float[5 * rows];
            MatMul m = new MatMul();
            for (int count : new int[]{1, 2, 5}) {
                long exactBytes = allocatedPerBatch(() -> m.matmul(exact, x, count, out, serial), 100);
                assertTrue(exactBytes == 0, type + " exact, " + count + " rows: MatMul still allocating " + exactBytes + " bytes per 100 products");
                long fastBytes = allocatedPerBatch(() -> m.matmul(fast, x, count, out, serial), 100);
                assertTrue(fastBytes == 0, type + " fast, " + count + " rows: MatMul still allocating " + fastBytes + " bytes per 100 products");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = dev.rewind.engine.kv.KvType.class)
    void attentionAndGatesAllocateNothingOnceCompiled(dev.rewind.engine.kv.KvType kv) {
        try (dev.rewind.engine.kv.PagePool pool = dev.rewind.engine.kv.PagePool.forTokens(1, 128, 16, 100, kv)) {
            dev.rewind.engine.kv.Sequence s = pool.newSequence();
            s.reserve(100);
            float[] k = RandomWeights.uniformVector(128, new Random(3));
            for (int p = 0; p < 100; p++) {
                s.write(0, p, k, 0, k, 0);
            }
            s.advance(100);
            float[] q = RandomWeights.uniformVector(4 * 64, new Random(4));
            float[] out = new float[4 * 64];
            float[] gate = RandomWeights.uniformVector(300, new Random(5));
            float[] up = RandomWeights.uniformVector(300, new Random(6));
            dev.rewind.engine.kv.PagedAttention.Scratch scratch = new dev.rewind.engine.kv.PagedAttention.Scratch();
            int[] i = {0};
            long attention = allocatedPerBatch(() -> {
                int n = i[0]++;
                dev.rewind.engine.kv.PagedAttention.attend(s, 0, 99 - n % 50, n % 7, 1, 64, q, 0, 4, 0.125f, n % 2 == 0 ? 0f : 30f, out, 0, scratch);
            }, 200);
            assertTrue(attention == 0, kv + ": attention still allocating " + attention + " bytes per 200 calls");
            long gates = allocatedPerBatch(() -> {
                MathOps.swiGlu(gate, up, 300);
                MathOps.geGlu(gate, up, 300);
            }, 200);
            assertTrue(gates == 0, "gates still allocating " + gates + " bytes per 200 calls");
        }
    }
}
