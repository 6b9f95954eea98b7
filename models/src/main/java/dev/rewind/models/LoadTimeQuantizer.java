package dev.rewind.models;

import dev.rewind.engine.memory.OffHeap;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Quantizer;
import dev.rewind.engine.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Turns F32, F16 and BF16 weight matrices into a quantized type while a model loads ({@code --quantize}),
 * into off-heap memory this object owns, rows in parallel over the pool. A matrix whose rows are not a
 * whole number of the type's blocks, or that already has a quantized type, is left as it is. Closing
 * frees the quantized matrices.
 */
public final class LoadTimeQuantizer implements AutoCloseable {

    /** The types a model can be quantized to while loading. */
    public static final List<GgmlType> TYPES = List.of(GgmlType.Q8_0, GgmlType.Q4_0);

    private final GgmlType type;
    private final WorkerPool pool;
    private final BiConsumer<String, Long> progress;
    private final Arena arena = Arena.ofShared();
    private long sourceBytes;

    /**
     * @param type     one of {@link #TYPES}
     * @param progress told (tensor name, source bytes quantized so far) after each matrix, or null
     */
    public LoadTimeQuantizer(GgmlType type, WorkerPool pool, BiConsumer<String, Long> progress) {
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException("cannot quantize to " + type + " while loading (supported: Q8_0, Q4_0)");
        }
        this.type = type;
        this.pool = pool;
        this.progress = progress;
    }

    public GgmlType type() {
        return type;
    }

    /** {@code m} in this quantizer's type, or {@code m} itself when it cannot or need not be converted. */
    WeightMatrix quantize(WeightMatrix m) {
        GgmlType from = m.type();
        if ((from != GgmlType.F32 && from != GgmlType.F16 && from != GgmlType.BF16) || m.cols() % type.blockSize() != 0) {
            return m;
        }
        int rows = m.rows();
        int cols = m.cols();
        long rowBytes = type.byteSize(cols);
        MemorySegment into;
        synchronized (this) {
            into = OffHeap.allocate(arena, rowBytes * rows);
        }
        pool.parallelFor(rows, (start, end) -> {
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                m.dequantizeRow(r, row, 0);
                Quantizer.quantize(type, row, 0, cols, into, r * rowBytes);
            }
        });
        synchronized (this) {
            sourceBytes += m.data().byteSize();
        }
        if (progress != null) {
            progress.accept(m.name(), sourceBytes);
        }
        return WeightMatrix.of(m.name(), type, into, rows, cols);
    }

    @Override
    public void close() {
        arena.close();
    }
}
