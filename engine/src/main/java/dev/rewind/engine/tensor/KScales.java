package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;

import static dev.rewind.engine.tensor.Simd.I8;

/**
 * The packed sub-block scales of the k-quant super-blocks, decoded one at a time (plain scalar
 * code, shared by the matrices and the quantizer, which writes the same packings).
 *
 * <p><b>Q4_K and Q5_K</b> ({@link #q4kScale}, {@link #q4kMin}): 12 bytes hold eight 6-bit scales
 * and eight 6-bit mins, one pair per 32-weight sub-block {@code j}:
 * <pre>
 *   j &lt; 4:  scale = b[j] &amp; 63               min = b[j + 4] &amp; 63
 *   j &ge; 4:  scale = (b[j + 4] &amp; 15) | (b[j - 4] &gt;&gt; 6) &lt;&lt; 4
 *           min   = (b[j + 4] &gt;&gt; 4)  | (b[j]     &gt;&gt; 6) &lt;&lt; 4
 * </pre>
 * (bytes 0–3 carry the first four scales and, in their top two bits, the high bits of scales 4–7;
 * bytes 4–7 the first four mins and the high bits of mins 4–7; bytes 8–11 the low nibbles of
 * scales 4–7 and, above them, of mins 4–7). This is ggml's {@code get_scale_min_k4}.
 *
 * <p><b>Q3_K</b> ({@link #q3kScale}): 12 bytes hold sixteen 6-bit scales, one per 16-weight
 * sub-block {@code s}: the low four bits are the low nibble of {@code b[s]} for {@code s < 8} and
 * the high nibble of {@code b[s - 8]} for {@code s ≥ 8}; the high two bits are bits
 * {@code 2·(s / 4)} and {@code 2·(s / 4) + 1} of {@code b[8 + s % 4]}. The stored code is the
 * scale plus 32: scales run from −32 to 31.
 */
final class KScales {

    private KScales() {
    }

    /** The 6-bit scale of sub-block {@code j} (0..7) of a Q4_K/Q5_K scale array at byte {@code at}. */
    static int q4kScale(MemorySegment data, long at, int j) {
        if (j < 4) {
            return u8(data, at + j) & 63;
        }
        return (u8(data, at + j + 4) & 0x0F) | (u8(data, at + j - 4) >> 6) << 4;
    }

    /** The 6-bit min of sub-block {@code j} (0..7) of a Q4_K/Q5_K scale array at byte {@code at}. */
    static int q4kMin(MemorySegment data, long at, int j) {
        if (j < 4) {
            return u8(data, at + j + 4) & 63;
        }
        return (u8(data, at + j + 4) >> 4) | (u8(data, at + j) >> 6) << 4;
    }

    /** The scale of sub-block {@code s} (0..15) of a Q3_K scale array at byte {@code at}: −32..31. */
    static int q3kScale(MemorySegment data, long at, int s) {
        int low = s < 8 ? u8(data, at + s) & 0x0F : u8(data, at + s - 8) >> 4;
        int high = (u8(data, at + 8 + s % 4) >> (2 * (s / 4))) & 3;
        return (low | high << 4) - 32;
    }

    static int u8(MemorySegment data, long at) {
        return data.get(I8, at) & 0xFF;
    }
}
