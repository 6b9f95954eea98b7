package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector conversions of 16-bit floats (IEEE binary16 "half" and bfloat16) to float. JDK 25's
 * Vector API has no float16 conversion operator, so the half conversion is done with integer
 * bit manipulation; it is exact for every one of the 65536 inputs and agrees with
 * {@link Float#float16ToFloat} bit for bit (NaN payloads are kept, as that method documents).
 */
public final class Halves {

    private Halves() {
    }

    /** A float's exponent bias minus a half's, in a float's exponent field. */
    private static final int REBIAS = (127 - 15) << 23;

    /**
     * Converts {@link Simd#LANES} halves to floats.
     *
     * <p>How, using integer operations and no arithmetic on subnormal floats (which costs a
     * microcode assist of ~100 cycles per instruction on x86, and real F16 weights do contain
     * subnormal halves): the half's magnitude bits shifted left by 13 line its 10 significand bits
     * up with a float's 23 and its 5 exponent bits with the low end of a float's 8, so adding
     * {@code 112 << 23} re-biases the exponent and gives every normal half exactly. Infinities and
     * NaNs (half exponent 31) get {@code 112 << 23} once more, reaching the float exponent 255 with
     * the significand (NaN payload) kept. Zeros and subnormals (half exponent 0) are
     * {@code significand · 2^-24}, computed as an exact int-to-float conversion and an exact
     * multiplication of normal floats. The sign bit is copied last.
     */
    public static FloatVector toFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, Simd.I, 0);
        IntVector magnitude = bits.and(0x7fff);
        IntVector normal = magnitude.lanewise(VectorOperators.LSHL, 13).add(REBIAS);
        IntVector finiteOrNot = normal.add(REBIAS, magnitude.compare(VectorOperators.GE, 0x7c00));
        VectorMask<Float> tiny = magnitude.compare(VectorOperators.LT, 0x0400).cast(Simd.F);
        FloatVector subnormal = ((FloatVector) magnitude.convert(VectorOperators.I2F, 0)).mul(0x1p-24f);
        FloatVector unsigned = finiteOrNot.reinterpretAsFloats().blend(subnormal, tiny);
        IntVector sign = bits.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000);
        return unsigned.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /**
     * Converts {@link Simd#LANES} finite halves to floats, exactly, in fewer operations than
     * {@link #toFloat}: the magnitude bits shifted into a float's place are the half's value times
     * 2^-112 (a subnormal half lands on a subnormal float, whose scaling is exact but slow on x86),
     * so one multiplication by 2^112 finishes the job; then the sign is copied. Infinities and NaNs
     * come out as large finite numbers: callers check their inputs are finite (the packed weight
     * layouts do when they are made).
     */
    public static FloatVector finiteToFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, Simd.I, 0);
        FloatVector magnitude = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        return magnitude.reinterpretAsInts().or(bits.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
    }

    /** True when the half {@code bits} is finite (not an infinity or a NaN). */
    public static boolean isFinite(short bits) {
        return (bits & 0x7c00) != 0x7c00;
    }

    /** Converts {@link Simd#LANES} bfloat16 values (the upper halves of floats) to floats; exact. */
    static FloatVector bf16ToFloat(ShortVector bf16) {
        IntVector bits = (IntVector) bf16.convertShape(VectorOperators.S2I, Simd.I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Scalar bfloat16 to float; exact. */
    static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat(bf16 << 16);
    }
}
