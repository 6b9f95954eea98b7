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
final class Halves {

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
    static FloatVector toFloat(ShortVector halves) {
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
