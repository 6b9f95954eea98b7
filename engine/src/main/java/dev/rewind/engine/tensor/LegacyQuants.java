package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.rewind.engine.tensor.Simd.I16_LE;
import static dev.rewind.engine.tensor.Simd.I32_LE;

/**
 * The reference quantizers of ggml's 32-weight "legacy" types with a minimum or a fifth bit:
 * {@link GgmlType#Q4_1}, {@link GgmlType#Q5_0} and {@link GgmlType#Q5_1} (the layouts are those
 * {@link Q4_1Matrix}, {@link Q5_0Matrix} and {@link Q5_1Matrix} read). This is the arithmetic of
 * ggml's {@code quantize_row_q4_1_ref}, {@code _q5_0_ref} and {@code _q5_1_ref} (what
 * {@code llama-quantize} runs without an importance matrix), in the same float operations in the
 * same order, so the bytes are the same:
 * <ul>
 *   <li>Q4_1 and Q5_1: {@code min} and {@code max} of the block; {@code d = (max - min) / 15}
 *       (Q5_1: {@code / 31}); {@code id = d != 0 ? 1 / d : 0}; stored {@code d} and {@code min}
 *       as halves; quant {@code (int) ((x - min) · id + 0.5)}, truncated (so rounded half up),
 *       clamped to 15 for Q4_1 and not clamped for Q5_1, as ggml does.</li>
 *   <li>Q5_0: as Q4_0 with 5 bits: {@code max} is the value of largest magnitude with its sign,
 *       {@code d = max / -16}, quant {@code min(31, (int) (x · id + 16.5))}; the fifth bits go to
 *       the {@code qh} word.</li>
 * </ul>
 * Note that {@code id} comes from the float {@code d}, not its half, and that the quants are
 * computed from {@code min} itself while the stored minimum is its half.
 */
final class LegacyQuants {

    private static final int BLOCK = 32;
    private static final int HALF_BLOCK = BLOCK / 2;

    private LegacyQuants() {
    }

    /** Quantizes {@code n} (a multiple of 32) weights from {@code x[at ..]} to {@code type} at {@code out}. */
    static void quantize(GgmlType type, float[] x, int at, int n, MemorySegment dst, long out) {
        for (int b = 0; b < n / BLOCK; b++) {
            long to = out + (long) b * type.blockBytes();
            int from = at + b * BLOCK;
            switch (type) {
                case Q4_1 -> q4_1(x, from, dst, to);
                case Q5_0 -> q5_0(x, from, dst, to);
                case Q5_1 -> q5_1(x, from, dst, to);
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
    }

    private static void q4_1(float[] x, int at, MemorySegment dst, long out) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < BLOCK; j++) {
            float v = x[at + j];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
        float d = (max - min) / 15;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(I16_LE, out, Float.floatToFloat16(d));
        dst.set(I16_LE, out + 2, Float.floatToFloat16(min));
        for (int j = 0; j < HALF_BLOCK; j++) {
            int lo = Math.min(15, truncateToByte((x[at + j] - min) * id + 0.5f));
            int hi = Math.min(15, truncateToByte((x[at + HALF_BLOCK + j] - min) * id + 0.5f));
            dst.set(ValueLayout.JAVA_BYTE, out + 4 + j, (byte) (lo | hi << 4));
        }
    }

    private static void q5_0(float[] x, int at, MemorySegment dst, long out) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float v = x[at + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -16;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(I16_LE, out, Float.floatToFloat16(d));
        int qh = 0;
        for (int j = 0; j < HALF_BLOCK; j++) {
            int lo = Math.min(31, truncateToByte(x[at + j] * id + 16.5f));
            int hi = Math.min(31, truncateToByte(x[at + HALF_BLOCK + j] * id + 16.5f));
            dst.set(ValueLayout.JAVA_BYTE, out + 6 + j, (byte) ((lo & 0x0F) | (hi & 0x0F) << 4));
            qh |= ((lo & 0x10) >> 4) << j;
            qh |= ((hi & 0x10) >> 4) << (j + HALF_BLOCK);
        }
        dst.set(I32_LE, out + 2, qh);
    }

    private static void q5_1(float[] x, int at, MemorySegment dst, long out) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < BLOCK; j++) {
            float v = x[at + j];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
        float d = (max - min) / 31;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(I16_LE, out, Float.floatToFloat16(d));
        dst.set(I16_LE, out + 2, Float.floatToFloat16(min));
        int qh = 0;
        for (int j = 0; j < HALF_BLOCK; j++) {
            // ggml converts to uint8_t without clamping; (x - min) · id never exceeds 31 by a half.
            int lo = truncateToByte((x[at + j] - min) * id + 0.5f) & 0xFF;
            int hi = truncateToByte((x[at + HALF_BLOCK + j] - min) * id + 0.5f) & 0xFF;
            dst.set(ValueLayout.JAVA_BYTE, out + 8 + j, (byte) ((lo & 0x0F) | (hi & 0x0F) << 4));
            qh |= ((lo & 0x10) >> 4) << j;
            qh |= ((hi & 0x10) >> 4) << (j + HALF_BLOCK);
        }
        dst.set(I32_LE, out + 4, qh);
    }

    /**
     * C's conversion of a float to {@code int8_t}: truncation toward zero (done through an int, as
     * x86 code does; the values here are small and non-negative, so the byte keeps them).
     */
    private static int truncateToByte(float v) {
        return (byte) (int) v;
    }
}
