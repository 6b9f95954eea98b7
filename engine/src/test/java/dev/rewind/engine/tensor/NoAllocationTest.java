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

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void dotAndMatvecAllocateNothingOnceCompiled(GgmlType type) {
        int rows = 64;
        int cols = 1024 + 64;
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
        try (Arena arena = Arena.ofShared()) {
            var segment = arena.allocate(4000);
            long cost = measuringCost();
            long start = System.nanoTime();
            long perBatch = Long.MAX_VALUE;
            float sink = 0;
            while (perBatch > 0 && System.nanoTime() - start < DEADLINE_NANOS) {
                long before = allocatedBytes();
                for (int i = 0; i < 1000; i++) {
                    sink += FloatOps.dot(a, 0, b, 0, 1000) + FloatOps.dot(a, 0, segment, 0, 1000) + FloatOps.sumOfSquares(a, 0, 1000);
                    FloatOps.axpy(1e-9f, segment, 0, b, 0, 1000);
                    FloatOps.axpy(1e-9f, a, 0, b, 0, 1000);
                    FloatOps.mul(a, 0, b, 0, b, 0, 1000);
                    FloatOps.add(b, 0, a, 0, 1000);
                    FloatOps.scale(b, 0, 1000, 0.5f);
                }
                perBatch = allocatedBytes() - before - cost;
            }
            assertTrue(perBatch == 0, "FloatOps still allocating " + perBatch + " bytes per batch (sink " + sink + ")");
        }
    }
}
