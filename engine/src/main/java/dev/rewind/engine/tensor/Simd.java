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
 * The vector species and memory layouts the kernels share (here and in the KV cache's attention). All species have the same lane count
 * {@link #LANES} as the float species (16 on AVX-512, 8 on AVX2), so that one vector of stored
 * elements (bytes, shorts) converts into exactly one vector of floats.
 *
 * <p>The width is the CPU's preferred one unless the system property {@value #BITS_PROPERTY}
 * names a narrower one (128, 256 or 512 bits): the tests run the kernels a second time at 256
 * bits, so that code for AVX2-only machines is exercised on an AVX-512 one. The kernels are
 * written once with these species; nothing else about them depends on the width. A width is
 * read once, when this class is initialised, so that the JIT sees the species as constants.
 */
public final class Simd {

    private Simd() {
    }

    /** System property that narrows the vector width, in bits (128, 256 or 512). */
    public static final String BITS_PROPERTY = "rewind.vector.bits";

    /** The float species every kernel uses. */
    public static final VectorSpecies<Float> F = floatSpecies();

    /** Float lanes per vector. */
    public static final int LANES = F.length();

    /** Ints with the float species' shape, for bit manipulation before reinterpreting as floats. */
    public static final VectorSpecies<Integer> I = IntVector.SPECIES_MAX.withShape(F.vectorShape());

    /** {@link #LANES} shorts (half the float shape), e.g. F16/BF16 weights. */
    public static final VectorSpecies<Short> S = ShortVector.SPECIES_MAX.withShape(VectorShape.forBitSize(LANES * Short.SIZE));

    /** {@code 2 * LANES} shorts: the float shape filled with 16-bit integers (the int16 kernels). */
    public static final VectorSpecies<Short> S2 = ShortVector.SPECIES_MAX.withShape(F.vectorShape());

    /**
     * True when the block kernels (Q8_0, Q4_0) can use vectors: they need a byte vector of
     * {@link #LANES} lanes that divides a Q4_0 block's 16 quant bytes, i.e. 8 or 16 float lanes
     * (AVX2 or AVX-512). Otherwise they fall back to their scalar reference.
     */
    public static final boolean BYTE_VECTORS = LANES == 8 || LANES == 16;

    /** {@link #LANES} bytes (a quarter of the float shape), e.g. Q8_0 quants; only if {@link #BYTE_VECTORS}. */
    public static final VectorSpecies<Byte> B = BYTE_VECTORS
            ? ByteVector.SPECIES_MAX.withShape(VectorShape.forBitSize(LANES * Byte.SIZE))
            : ByteVector.SPECIES_64;

    /** {@code 2 * LANES} bytes (half the float shape): one step of a packed Q4_0 group. */
    public static final VectorSpecies<Byte> B2 = ByteVector.SPECIES_MAX.withShape(VectorShape.forBitSize(2 * LANES * Byte.SIZE));

    public static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    public static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** The vector width in bits the kernels run at, e.g. for benchmark reports. */
    public static int bits() {
        return F.vectorBitSize();
    }

    private static VectorSpecies<Float> floatSpecies() {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        String asked = System.getProperty(BITS_PROPERTY);
        if (asked == null || asked.isBlank()) {
            return preferred;
        }
        int bits;
        try {
            bits = Integer.parseInt(asked.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(BITS_PROPERTY + " must be 128, 256 or 512, got '" + asked + "'");
        }
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException(BITS_PROPERTY + " must be 128, 256 or 512, got " + bits);
        }
        if (bits > preferred.vectorBitSize()) {
            throw new IllegalArgumentException(BITS_PROPERTY + " = " + bits + " is wider than this CPU's "
                    + preferred.vectorBitSize() + "-bit vectors");
        }
        return FloatVector.SPECIES_MAX.withShape(VectorShape.forBitSize(bits));
    }

    /**
     * The sum of the lanes of {@code v}, added in lane order. {@code reduceLanes(ADD)} leaves the
     * order open, and on this JDK it gives different bits before and after JIT compilation, which
     * would make the same computation differ between a cold and a warm JVM (seeded sampling, and
     * forked sequences that must equal independent ones bit for bit, depend on this).
     */
    public static float sum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < LANES; i++) {
            s += v.lane(i);
        }
        return s;
    }
}
