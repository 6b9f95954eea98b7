package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Converts float weights to the stored bytes of a GGUF tensor, producing exactly the bytes
 * llama.cpp's reference converters write (those {@code llama-quantize} uses when no importance
 * matrix is given), so a file written here is byte-identical to one llama.cpp would make from the
 * same floats. The block layouts are those the {@link WeightMatrix} implementations read.
 *
 * <p>The arithmetic, type by type (every step in {@code float}, rounded to nearest even unless
 * stated otherwise, as C evaluates it on x86-64 without fused multiply-add):
 * <ul>
 *   <li>{@link GgmlType#F32}: the floats themselves, little-endian.</li>
 *   <li>{@link GgmlType#F16}: IEEE binary16, round to nearest even ({@link Float#floatToFloat16});
 *       values beyond the half range become infinities. A NaN stays a quiet NaN keeping its upper
 *       payload bits, as x86's F16C conversion (which llama.cpp uses where available) does; ggml's
 *       portable fallback would write {@code 0x7E00} with the sign instead.</li>
 *   <li>{@link GgmlType#BF16}: the upper 16 bits of the float, rounded to nearest even; a NaN keeps
 *       its upper bits and is made quiet (bit 6 of the half set); subnormals are kept, not flushed.
 *       (ggml's {@code ggml_compute_fp32_to_bf16}.)</li>
 *   <li>{@link GgmlType#Q8_0}: per block of 32, {@code amax} = the largest {@code |x|};
 *       {@code d = amax / 127}; {@code id = d != 0 ? 1 / d : 0}; stored: {@code d} as a half, then
 *       {@code q[j] = roundf(x[j] * id)} — rounded half <em>away from zero</em>, C's {@code roundf},
 *       not to even. Note that {@code id} comes from the float {@code d}, not from its half.</li>
 *   <li>{@link GgmlType#Q4_0}: per block of 32, {@code max} = the value of largest magnitude with
 *       its sign (the first one on ties); {@code d = max / -8}; {@code id = d != 0 ? 1 / d : 0};
 *       stored: {@code d} as a half, then nibbles
 *       {@code q[j] = min(15, (int) (x[j] * id + 8.5f))} — truncated, so the value is rounded half
 *       up, and the element equal to {@code max} maps to 0, i.e. weight {@code -8d = max} exactly,
 *       while its mirror image {@code -max} would need 16 and is clamped to 15. Byte {@code j}
 *       (0..15) holds {@code q[j]} in its low nibble and {@code q[j + 16]} in its high nibble.</li>
 *   <li>{@link GgmlType#Q4_1}, {@link GgmlType#Q5_0}, {@link GgmlType#Q5_1}: {@link LegacyQuants}
 *       (min/max or signed-maximum scales, like the two above).</li>
 *   <li>{@link GgmlType#Q2_K} … {@link GgmlType#Q6_K}: {@link KQuants} (per sub-block least-squares
 *       fits, then the sub-block scales quantized against the super-block's largest).</li>
 *   <li>{@link GgmlType#IQ4_NL}, {@link GgmlType#IQ4_XS}: {@link IQ4Quants} (a search over 15
 *       candidate scales per block of 32 for the non-linear levels).</li>
 * </ul>
 * Those three classes follow ggml's reference code float operation by float operation; the
 * tests compare their output byte for byte with files {@code llama-quantize} wrote.
 *
 * <p>Stateless and thread-safe: threads may quantize disjoint parts of one segment at once.
 */
public final class Quantizer {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Weights per Q8_0 and Q4_0 block. */
    private static final int BLOCK = 32;
    private static final int HALF_BLOCK = BLOCK / 2;

    /** The types this class writes: every type with kernels ({@link WeightMatrix#SUPPORTED_TYPES}). */
    public static final List<GgmlType> TYPES = WeightMatrix.SUPPORTED_TYPES;

    /** {@link #TYPES} as shown to users. */
    public static final String TYPES_TEXT = TYPES.stream().map(GgmlType::name).collect(Collectors.joining(", "));

    private Quantizer() {
    }

    /**
     * Bytes that {@code n} weights of {@code type} take.
     *
     * @throws IllegalArgumentException if {@code type} is not one of {@link #TYPES}
     *                                  (the message names it), {@code n} is negative or not a whole
     *                                  number of the type's blocks, or the size overflows a long
     */
    public static long bytes(GgmlType type, long n) {
        Objects.requireNonNull(type, "type");
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException("cannot quantize to " + type + ": supported types are " + TYPES_TEXT);
        }
        if (n < 0 || n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " weights are not a whole number of " + type + " blocks of " + type.blockSize());
        }
        try {
            return type.byteSize(n);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(n + " weights of " + type + " overflow a long byte size", e);
        }
    }

    /**
     * Converts {@code src[srcOffset .. srcOffset + n)} to {@code type} and writes the
     * {@link #bytes bytes(type, n)} bytes to {@code dst} at {@code dstOffset}. Allocates nothing
     * for the float and 8-bit types, and a few small working arrays per call (none per block) for
     * the others.
     *
     * @param n a multiple of the type's block size (32, or 256 for the k-quants and IQ4_XS)
     * @throws IllegalArgumentException  if the type is unsupported or {@code n} is not a whole number of blocks
     * @throws IndexOutOfBoundsException if {@code src} or {@code dst} is too short for the range
     * @throws UnsupportedOperationException if {@code dst} is read-only
     */
    public static void quantize(GgmlType type, float[] src, int srcOffset, int n, MemorySegment dst, long dstOffset) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        long size = bytes(type, n);
        Objects.checkFromIndexSize(srcOffset, n, src.length);
        Objects.checkFromIndexSize(dstOffset, size, dst.byteSize());
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, F32_LE, dstOffset, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16_LE, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(I16_LE, dstOffset + 2L * i, toBF16(src[srcOffset + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / BLOCK; b++) {
                    q8_0Block(src, srcOffset + b * BLOCK, dst, dstOffset + (long) b * GgmlType.Q8_0.blockBytes());
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / BLOCK; b++) {
                    q4_0Block(src, srcOffset + b * BLOCK, dst, dstOffset + (long) b * GgmlType.Q4_0.blockBytes());
                }
            }
            case Q4_1, Q5_0, Q5_1 -> LegacyQuants.quantize(type, src, srcOffset, n, dst, dstOffset);
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> KQuants.quantize(type, src, srcOffset, n, dst, dstOffset);
            case IQ4_NL, IQ4_XS -> IQ4Quants.quantize(type, src, srcOffset, n, dst, dstOffset);
            default -> throw new AssertionError(type); // bytes() accepted only supported types
        }
    }

    /**
     * The bfloat16 bits of {@code x}: round to nearest even by adding {@code 0x7fff} plus the lowest
     * kept bit and truncating; NaNs are truncated and forced quiet instead (rounding could carry a
     * NaN's payload into the exponent and make it an infinity).
     */
    static short toBF16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7fff_ffff) > 0x7f80_0000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void q8_0Block(float[] x, int at, MemorySegment dst, long out) {
        float amax = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float a = Math.abs(x[at + j]);
            amax = amax > a ? amax : a; // C's MAX(amax, a): a NaN is not kept (unlike Math.max)
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(I16_LE, out, Float.floatToFloat16(d));
        for (int j = 0; j < BLOCK; j++) {
            dst.set(ValueLayout.JAVA_BYTE, out + 2 + j, (byte) roundHalfAwayFromZero(x[at + j] * id));
        }
    }

    private static void q4_0Block(float[] x, int at, MemorySegment dst, long out) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float v = x[at + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(I16_LE, out, Float.floatToFloat16(d));
        for (int j = 0; j < HALF_BLOCK; j++) {
            int lo = nibble(x[at + j] * id);
            int hi = nibble(x[at + HALF_BLOCK + j] * id);
            dst.set(ValueLayout.JAVA_BYTE, out + 2 + j, (byte) (lo | hi << 4));
        }
    }

    /** {@code scaled} is in [-8, 8] (up to rounding), so the sum is positive and the cast truncates it. */
    private static int nibble(float scaled) {
        return Math.min(15, (int) (scaled + 8.5f));
    }

    /**
     * C's {@code roundf}: the nearest integer, halves away from zero. In double, {@code |v| + 0.5}
     * is exact for every float below 2^29, so flooring it cannot round up a value just under a half
     * (as {@code floor(v + 0.5f)} in float would for 0.49999997).
     */
    private static int roundHalfAwayFromZero(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }
}
