package dev.rewind.engine.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The vector species and memory layouts the kernels share. All species have the same lane count
 * {@link #LANES} as the preferred float species (16 on AVX-512, 8 on AVX2), so that one vector of
 * stored elements (bytes, shorts) converts into exactly one vector of floats.
 */
final class Simd {

    private Simd() {
    }

    /** The widest float species the CPU supports well. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** Float lanes per vector. */
    static final int LANES = F.length();

    /** Ints with the float species' shape, for bit manipulation before reinterpreting as floats. */
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;

    /** {@link #LANES} shorts (half the float shape), e.g. F16/BF16 weights. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LANES * Short.SIZE));

    /**
     * True when the block kernels (Q8_0, Q4_0) can use vectors: they need a byte vector of
     * {@link #LANES} lanes that divides a Q4_0 block's 16 quant bytes, i.e. 8 or 16 float lanes
     * (AVX2 or AVX-512). Otherwise they fall back to their scalar reference.
     */
    static final boolean BYTE_VECTORS = LANES == 8 || LANES == 16;

    /** {@link #LANES} bytes (a quarter of the float shape), e.g. Q8_0 quants; only if {@link #BYTE_VECTORS}. */
    static final VectorSpecies<Byte> B = BYTE_VECTORS
            ? ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LANES * Byte.SIZE))
            : ByteVector.SPECIES_64;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /**
     * The sum of the lanes of {@code v}, added in lane order. {@code reduceLanes(ADD)} leaves the
     * order open, and on this JDK it gives different bits before and after JIT compilation, which
     * would make the same computation differ between a cold and a warm JVM (seeded sampling, and
     * forked sequences that must equal independent ones bit for bit, depend on this).
     */
    static float sum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < LANES; i++) {
            s += v.lane(i);
        }
        return s;
    }
}
