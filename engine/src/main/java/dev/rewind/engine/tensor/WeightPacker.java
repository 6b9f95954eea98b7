package dev.rewind.engine.tensor;

import dev.rewind.engine.memory.OffHeap;
import dev.rewind.engine.parallel.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes the {@link Precision#FAST} forms of weight matrices: the quantized types with a packed
 * layout ({@link Q8_0Packed}, {@link Q4_0Packed}) are regrouped into off-heap memory (huge pages
 * where the OS gives them, {@link OffHeap}), in parallel over the pool; every other matrix is
 * returned as it is. The packer owns the memory of what it packed: closing it frees that memory,
 * after which those matrices must not be used. Thread-safe.
 */
public final class WeightPacker implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final WorkerPool pool;
    private long bytes;

    public WeightPacker(WorkerPool pool) {
        this.pool = Objects.requireNonNull(pool, "pool");
    }

    /**
     * The fast form of {@code w}: a packed copy for Q8_0 and Q4_0, {@code w} itself otherwise (and
     * for a matrix with a non-finite scale, which the packed kernels do not handle).
     */
    public WeightMatrix pack(WeightMatrix w) {
        AtomicBoolean finite = new AtomicBoolean(true);
        WeightMatrix packed = switch (w) {
            case Q4_0Matrix m -> {
                MemorySegment into = allocate(Q4_0Packed.bytesFor(m.rows(), m.cols()));
                Q4_0Packed p = new Q4_0Packed(m.name(), into, m.rows(), m.cols());
                pool.parallelFor(p.groups(), (from, to) -> {
                    if (!Q4_0Packed.pack(m, into, from, to)) {
                        finite.set(false);
                    }
                });
                yield p;
            }
            case Q8_0Matrix m -> {
                MemorySegment into = allocate(Q8_0Packed.bytesFor(m.rows(), m.cols()));
                Q8_0Packed p = new Q8_0Packed(m.name(), into, m.rows(), m.cols());
                pool.parallelFor(p.groups(), (from, to) -> {
                    if (!Q8_0Packed.pack(m, into, from, to)) {
                        finite.set(false);
                    }
                });
                yield p;
            }
            default -> w;
        };
        return finite.get() ? packed : w;
    }

    /** Bytes of packed weights held so far. */
    public synchronized long bytes() {
        return bytes;
    }

    private synchronized MemorySegment allocate(long size) {
        bytes += size;
        return OffHeap.allocate(arena, size);
    }

    /** Frees every packed matrix this packer made. */
    @Override
    public void close() {
        arena.close();
    }
}
