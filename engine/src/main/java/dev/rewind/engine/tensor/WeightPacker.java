package dev.rewind.engine.tensor;

import dev.rewind.engine.memory.OffHeap;
import dev.rewind.engine.parallel.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.function.Function;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Makes the {@link Precision#FAST} forms of weight matrices: the quantized types, each with a
 * packed layout ({@link Q8_0Packed}, {@link Q4_0Packed}, {@link Q4_KPacked}, {@link Q6_KPacked},
 * {@link Q5_KPacked}, {@link Q3_KPacked}, {@link Q4_1Packed} for Q4_1 and Q5_1, {@link Q2_KPacked},
 * {@link IQ4_XSPacked}; Q5_0 and IQ4_NL, whose weights are a half times an 8-bit integer, go into
 * Q8_0's layout bit for bit) are regrouped into off-heap memory (huge pages where the OS gives
 * them, {@link OffHeap}), in parallel over the pool; every other matrix (F32, F16, BF16) is
 * returned as it is and runs its float kernel. The packer owns the memory of what it packed: closing it frees that memory,
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
     * The fast form of {@code w}: a packed copy for the types above, {@code w} itself otherwise (and
     * for a matrix with a non-finite scale, which the packed kernels do not handle).
     */
    public WeightMatrix pack(WeightMatrix w) {
        return switch (w) {
            case Q4_0Matrix m -> packed(w, Q4_0Packed.bytesFor(m.rows(), m.cols()),
                    into -> new Q4_0Packed(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q4_0Packed.pack(m, into, from, to));
            case Q8_0Matrix m -> packed(w, Q8_0Packed.bytesFor(m.rows(), m.cols()),
                    into -> new Q8_0Packed(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q8_0Packed.pack(m, into, from, to));
            case Q4_KMatrix m -> packed(w, Q4_KPacked.bytesFor(m.rows(), m.cols()),
                    into -> new Q4_KPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q4_KPacked.pack(m, into, from, to));
            case Q6_KMatrix m -> packed(w, Q6_KPacked.bytesFor(m.rows(), m.cols()),
                    into -> new Q6_KPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q6_KPacked.pack(m, into, from, to));
            case Q5_KMatrix m -> packed(w, Q5_KPacked.bytesFor(m.rows(), m.cols()),
                    into -> new Q5_KPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q5_KPacked.pack(m, into, from, to));
            case Q3_KMatrix m -> packed(w, Q3_KPacked.bytesFor(m.rows(), m.cols()),
                    into -> new Q3_KPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q3_KPacked.pack(m, into, from, to));
            case Q4_1Matrix _, Q5_1Matrix _ -> packed(w, Q4_1Packed.bytesFor(w.type(), w.rows(), w.cols()),
                    into -> new Q4_1Packed(w.name(), w.type(), into, w.rows(), w.cols()), (into, from, to) -> Q4_1Packed.pack(w, into, from, to));
            case Q2_KMatrix m -> packed(w, Q2_KPacked.bytesFor(m.rows(), m.cols()),
                    into -> new Q2_KPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> Q2_KPacked.pack(m, into, from, to));
            case IQ4_XSMatrix m -> packed(w, IQ4_XSPacked.bytesFor(m.rows(), m.cols()),
                    into -> new IQ4_XSPacked(m.name(), into, m.rows(), m.cols()), (into, from, to) -> IQ4_XSPacked.pack(m, into, from, to));
            case Q5_0Matrix _, IQ4_NLMatrix _ -> {
                // d · (integer of at most 8 bits) with a half d: exactly a Q8_0 block, so the
                // weights are regrouped into Q8_0's packed layout through a Q8_0 copy
                try (Arena scratch = Arena.ofShared()) {
                    Q8_0Matrix asQ8 = new Q8_0Matrix(w.name(), scratch.allocate(GgmlType.Q8_0.byteSize((long) w.rows() * w.cols())),
                            w.rows(), w.cols());
                    pool.parallelFor(w.rows(), (from, to) -> toQ8_0(w, asQ8.data(), from, to));
                    yield packed(w, Q8_0Packed.bytesFor(w.rows(), w.cols()),
                            into -> new Q8_0Packed(w.name(), into, w.rows(), w.cols()), (into, from, to) -> Q8_0Packed.pack(asQ8, into, from, to));
                }
            }
            default -> w;
        };
    }

    /** A packed record's {@code pack}: groups {@code [fromGroup, toGroup)} into {@code into}; false if a scale is not finite. */
    @FunctionalInterface
    private interface GroupPacker {
        boolean pack(MemorySegment into, int fromGroup, int toGroup);
    }

    /**
     * The packed form {@code make} gives over {@code bytes} of packed memory, its row groups
     * packed in parallel over the pool; {@code w} itself if one of its scales is not finite.
     */
    private WeightMatrix packed(WeightMatrix w, long bytes, Function<MemorySegment, PackedMatrix> make, GroupPacker groups) {
        MemorySegment into = allocate(bytes);
        PackedMatrix p = make.apply(into);
        AtomicBoolean finite = new AtomicBoolean(true);
        pool.parallelFor(p.groups(), (from, to) -> {
            if (!groups.pack(into, from, to)) {
                finite.set(false);
            }
        });
        return finite.get() ? p : w;
    }

    /**
     * Rows {@code [from, to)} of a Q5_0 or IQ4_NL matrix as Q8_0 blocks: the same half scale and
     * the integer each weight is that scale times ({@code q − 16}, or the IQ4_NL level), so every
     * dequantized weight is bit for bit the same.
     */
    static void toQ8_0(WeightMatrix w, MemorySegment q8, int from, int to) {
        int blocks = w.cols() / 32;
        int srcBytes = w.type().blockBytes();
        MemorySegment src = w.data();
        for (long r = from; r < to; r++) {
            for (int b = 0; b < blocks; b++) {
                long in = (r * blocks + b) * srcBytes;
                long out = (r * blocks + b) * 34;
                q8.set(ValueLayout.JAVA_SHORT_UNALIGNED, out, src.get(ValueLayout.JAVA_SHORT_UNALIGNED, in));
                int qh = w.type() == GgmlType.Q5_0 ? src.get(Simd.I32_LE, in + 2) : 0;
                long qs = in + (w.type() == GgmlType.Q5_0 ? 6 : 2);
                for (int j = 0; j < 32; j++) {
                    int nibble = (src.get(Simd.I8, qs + j % 16) >> (j < 16 ? 0 : 4)) & 0xF;
                    int value = w.type() == GgmlType.Q5_0 ? (nibble | ((qh >>> j) & 1) << 4) - 16 : IQ4_NLMatrix.LEVELS[nibble];
                    q8.set(Simd.I8, out + 2 + j, (byte) value);
                }
            }
        }
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
