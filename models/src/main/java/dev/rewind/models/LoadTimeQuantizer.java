package dev.rewind.models;

import dev.rewind.engine.memory.OffHeap;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Quantizer;
import dev.rewind.engine.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;

/**
 * Turns F32, F16 and BF16 weight matrices into a quantized type while a model loads ({@code --quantize}:
 * one type, or a k-quant mixture, {@link Quantization}), into off-heap memory, rows in parallel over
 * the pool. A matrix that already has a quantized type, or whose rows are not a whole number of
 * Q8_0/Q4_0 blocks, is left as it is; a matrix whose rows a k-quant cannot take (not a multiple of
 * 256) is refused. When the quantized matrix is packed for the fast path, the quantized copy is freed
 * at once, so a model holds one copy of each matrix; otherwise this object owns it until closed.
 */
public final class LoadTimeQuantizer implements AutoCloseable {

    /** The types and mixtures a model can be quantized to while loading. */
    public static final List<Quantization> TYPES = Quantization.LOAD_TIME;

    private final Quantization target;
    private final WorkerPool pool;
    private final BiConsumer<String, Long> progress;
    private final List<Arena> kept = new ArrayList<>();
    private int layers;
    private int experts;
    private boolean tied;
    private long sourceBytes;

    /**
     * @param target   one of {@link #TYPES}
     * @param progress told (tensor name, source bytes quantized so far) after each matrix, or null
     */
    public LoadTimeQuantizer(Quantization target, WorkerPool pool, BiConsumer<String, Long> progress) {
        if (!TYPES.contains(target)) {
            throw new IllegalArgumentException("cannot quantize to " + target + " while loading (supported: "
                    + Quantization.names(TYPES) + ")");
        }
        this.target = target;
        this.pool = pool;
        this.progress = progress;
    }

    /** {@link #LoadTimeQuantizer(Quantization, WorkerPool, BiConsumer)} to every matrix in {@code type}. */
    public LoadTimeQuantizer(GgmlType type, WorkerPool pool, BiConsumer<String, Long> progress) {
        this(Quantization.pure(type), pool, progress);
    }

    public Quantization target() {
        return target;
    }

    /** Tells a mixture the model it quantizes: which layers get more bits and which matrix is the output. */
    synchronized void model(TransformerConfig config, boolean tiedOutput) {
        this.layers = config.layers();
        this.experts = config.experts().count();
        this.tied = tiedOutput;
    }

    /** {@code m} in this quantizer's type (kept until {@link #close}), or {@code m} itself when it cannot or need not be converted. */
    WeightMatrix quantize(WeightMatrix m) {
        return quantize(m, UnaryOperator.identity());
    }

    /**
     * {@code then} applied to {@code m} in this quantizer's type (or to {@code m} itself when it is not
     * converted). When {@code then} returns a new matrix (a packed copy), the quantized intermediate is
     * freed before this returns.
     *
     * @throws IllegalArgumentException when {@code m}'s rows cannot be blocks of a k-quant (the message says how long they are)
     */
    WeightMatrix quantize(WeightMatrix m, UnaryOperator<WeightMatrix> then) {
        GgmlType from = m.type();
        Optional<GgmlType> chosen;
        synchronized (this) {
            chosen = target.typeOf(m.name().replaceAll("\\[\\d+]$", ""), layers, experts, tied);
        }
        if (chosen.isEmpty() || (from != GgmlType.F32 && from != GgmlType.F16 && from != GgmlType.BF16) || chosen.get() == from) {
            return then.apply(m);
        }
        GgmlType type = chosen.get();
        if (m.cols() % type.blockSize() != 0) {
            if (Quantization.isKQuant(type)) {
                throw new IllegalArgumentException("has rows of " + m.cols() + " values, not a multiple of " + type.blockSize()
                        + ", so it cannot be quantized to " + type + " (Q8_0 and Q4_0 take rows of multiples of 32)");
            }
            return then.apply(m);
        }
        int rows = m.rows();
        int cols = m.cols();
        long rowBytes = type.byteSize(cols);
        Arena scratch = Arena.ofShared();
        WeightMatrix result;
        WeightMatrix quantized;
        try {
            MemorySegment into = OffHeap.allocate(scratch, rowBytes * rows);
            pool.parallelFor(rows, (start, end) -> {
                float[] row = new float[cols];
                for (int r = start; r < end; r++) {
                    m.dequantizeRow(r, row, 0);
                    Quantizer.quantize(type, row, 0, cols, into, r * rowBytes);
                }
            });
            quantized = WeightMatrix.of(m.name(), type, into, rows, cols);
            result = then.apply(quantized);
        } catch (RuntimeException e) {
            scratch.close();
            throw e;
        }
        synchronized (this) {
            if (result == quantized) {
                kept.add(scratch);
            }
            sourceBytes += m.data().byteSize();
        }
        if (result != quantized) {
            scratch.close(); // packed: the quantized copy is not needed any more
        }
        if (progress != null) {
            progress.accept(m.name(), sourceBytes);
        }
        return result;
    }

    @Override
    public synchronized void close() {
        for (Arena a : kept) {
            a.close();
        }
        kept.clear();
    }
}
