package dev.rewind.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import static dev.rewind.engine.tensor.Simd.F;
import static dev.rewind.engine.tensor.Simd.LANES;
import static dev.rewind.engine.tensor.Simd.S;

/**
 * Activation rows quantized the way ggml quantizes the activations of a Q4_0 (or Q8_0) matrix
 * product ("Q8_0" blocks): each block of 32 values {@code x} gets the scale
 * {@code d = max|x| / 127}, stored rounded to a half as ggml stores it, and the quants
 * {@code q = round-half-even(x · 127 / max|x|)}, integers in [-127, 127]; {@code d · q}
 * approximates {@code x}. The int16 kernels ({@link Q4_0Packed}) read the quants two at a time:
 * {@code pairs[row * cols / 2 + m]} holds quants {@code 2m} (low 16 bits) and {@code 2m + 1}
 * (high 16 bits) of the row, so that one broadcast int fills a vector of 16-bit lanes with the
 * pair alternating. {@code offsets} holds {@code 8 · Σq} per block: what the Q4_0 kernels
 * subtract for the weights' bias of 8. {@code halfSums[2 · block + h]} holds, for half {@code h}
 * (columns {@code 16h .. 16h + 15}) of a block, {@code 32 · Σq} over its even columns (low 16
 * bits) and over its odd columns (high 16 bits), each wrapped to 16 bits: what {@link Q6_KPacked}
 * subtracts, in 16-bit lanes, for Q6_K's bias of 32.
 *
 * <p>Buffers grow to the largest call and are reused; quantizing allocates nothing then.
 * Not thread-safe: one instance per caller.
 */
final class Q8Rows {

    static final int BLOCK = 32;

    int count;
    int cols;
    /** count × cols/32 block scales. */
    float[] scales = new float[0];
    /** count × cols/32 values of 8 · Σq. */
    int[] offsets = new int[0];
    /** count × cols/2 pairs of 16-bit quants. */
    int[] pairs = new int[0];
    /** count × cols/32 × 2 pairs of wrapped 16-bit sums, see the class comment. */
    int[] halfSums = new int[0];
    /** count × cols/32 × 2 sums Σq over columns {@code 16h .. 16h + 15} of a block ({@link Q2_KPacked}'s per-16 minima). */
    int[] sums16 = new int[0];

    /** The magic constant that makes float addition round to an integer, half to even (|v| &lt; 2^22). */
    private static final float ROUNDER = 0x1.8p23f;

    /**
     * Sizes the buffers for {@code count} rows of {@code cols} values; then {@link #quantize}
     * fills them (from several threads at once if wanted, each with its own rows).
     *
     * @throws IllegalArgumentException if {@code cols} is not a multiple of 32
     */
    void prepare(int count, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException(cols + " columns are not a multiple of " + BLOCK);
        }
        int needBlocks = Math.multiplyExact(count, cols / BLOCK);
        if (scales.length < needBlocks) {
            scales = new float[needBlocks];
            offsets = new int[needBlocks];
            halfSums = new int[2 * needBlocks];
            sums16 = new int[2 * needBlocks];
        }
        if (pairs.length < needBlocks * (BLOCK / 2)) {
            pairs = new int[needBlocks * (BLOCK / 2)];
        }
        this.count = count;
        this.cols = cols;
    }

    /** Quantizes rows {@code from .. to-1} of {@code x} (rows of {@link #cols} values, back to back), after {@link #prepare}. */
    void quantize(float[] x, int from, int to) {
        int blocks = cols / BLOCK;
        for (int t = from; t < to; t++) {
            for (int b = 0; b < blocks; b++) {
                int at = t * cols + b * BLOCK;
                int block = t * blocks + b;
                if (Simd.BYTE_VECTORS) {
                    quantizeBlock(x, at, block);
                } else {
                    quantizeBlockScalar(x, at, block);
                }
                halfSums(block);
            }
        }
    }

    private void quantizeBlock(float[] x, int at, int block) {
        FloatVector amax = FloatVector.zero(F);
        for (int j = 0; j < BLOCK; j += LANES) {
            amax = amax.max(FloatVector.fromArray(F, x, at + j).abs());
        }
        float max = amax.reduceLanes(VectorOperators.MAX);
        float id = max == 0f ? 0f : 127f / max;
        scales[block] = Float.float16ToFloat(Float.floatToFloat16(max / 127f));
        int sum = 0;
        for (int j = 0; j < BLOCK; j += LANES) {
            IntVector q = (IntVector) FloatVector.fromArray(F, x, at + j).mul(id).add(ROUNDER).sub(ROUNDER)
                    .convert(VectorOperators.F2I, 0);
            sum += q.reduceLanes(VectorOperators.ADD);
            ShortVector q16 = (ShortVector) q.convertShape(VectorOperators.I2S, S, 0);
            q16.reinterpretAsInts().intoArray(pairs, block * (BLOCK / 2) + j / 2);
        }
        offsets[block] = 8 * sum;
    }

    /** The definition the vector version follows. */
    private void quantizeBlockScalar(float[] x, int at, int block) {
        float max = 0f;
        for (int j = 0; j < BLOCK; j++) {
            max = Math.max(max, Math.abs(x[at + j]));
        }
        float id = max == 0f ? 0f : 127f / max;
        scales[block] = Float.float16ToFloat(Float.floatToFloat16(max / 127f));
        int sum = 0;
        for (int j = 0; j < BLOCK; j += 2) {
            int q0 = (int) Math.rint(x[at + j] * id);
            int q1 = (int) Math.rint(x[at + j + 1] * id);
            sum += q0 + q1;
            pairs[block * (BLOCK / 2) + j / 2] = (q0 & 0xFFFF) | (q1 << 16);
        }
        offsets[block] = 8 * sum;
    }

    /** Fills {@link #halfSums} and {@link #sums16} of a block from its quants. */
    private void halfSums(int block) {
        for (int h = 0; h < 2; h++) {
            int even = 0;
            int odd = 0;
            for (int m = 0; m < 8; m++) {
                int pair = pairs[block * (BLOCK / 2) + 8 * h + m];
                even += (short) pair;
                odd += pair >> 16;
            }
            halfSums[2 * block + h] = (32 * even & 0xFFFF) | (32 * odd) << 16;
            sums16[2 * block + h] = even + odd;
        }
    }

    /** Quant {@code j} of block {@code block} (for tests and scalar twins). */
    int quant(int block, int j) {
        int pair = pairs[block * (BLOCK / 2) + j / 2];
        return (j & 1) == 0 ? (short) pair : pair >> 16;
    }
}
