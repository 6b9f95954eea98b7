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

    /** 2^112: moves a half's exponent (bias 15) to a float's (bias 127). */
    private static final float HALF_TO_FLOAT_SCALE = 0x1p112f;

    /**
     * Converts {@link Simd#LANES} halves to floats.
     *
     * <p>How: the half's magnitude bits shifted left by 13 line its 10 significand bits up with a
     * float's 23 and its 5 exponent bits with the low end of a float's 8. Read as a float, that is
     * the half's value times 2^-112 — also for zero and subnormal halves, which land on float
     * subnormals — so one exact multiplication by 2^112 gives the value. Infinities and NaNs
     * (half exponent 31) instead get the float exponent 255 with the same significand. The sign
     * bit is copied last.
     */
    static FloatVector toFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, Simd.I, 0);
        IntVector magnitude = bits.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(HALF_TO_FLOAT_SCALE).reinterpretAsInts();
        VectorMask<Integer> infOrNan = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector unsigned = finite.blend(shifted.or(0x7f80_0000), infOrNan);
        IntVector sign = bits.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000);
        return unsigned.or(sign).reinterpretAsFloats();
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
