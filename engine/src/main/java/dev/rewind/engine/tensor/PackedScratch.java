package dev.rewind.engine.tensor;

import static dev.rewind.engine.tensor.Simd.LANES;

/**
 * The buffers the packed kernels ({@link PackedMatrix}'s 8-bit-activation forms) pass integer
 * sums, decoded quants and accumulators through between their small methods, so that no vector
 * crosses a call of ours. One per thread ({@link MatMul} keeps one in a thread-local); a kernel call
 * uses it only while it runs. Not thread-safe.
 */
final class PackedScratch {

    private static final int G = LANES;

    /** Four rows' block sums of {@link Q4_0Packed}; {@link Q6_KPacked}'s eight decoded quant vectors of a half block. */
    final short[] sums = new short[16 * G];
    /**
     * {@link Q6_KPacked}'s sums of a super-block for four rows: 4 · 8 blocks · 2 halves · 2G shorts
     * (also {@link Q4_KPacked}'s, {@link Q4_1Packed}'s, {@link Q2_KPacked}'s and {@link IQ4_XSPacked}'s, in the same shape or smaller).
     */
    final short[] superBlockSums = new short[128 * G];
    /** Four rows' float accumulators of one row group. */
    final float[] accs = new float[4 * G];
}
