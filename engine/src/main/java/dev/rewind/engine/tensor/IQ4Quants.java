package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The quantizers of the two non-linear 4-bit types, {@link GgmlType#IQ4_NL} and
 * {@link GgmlType#IQ4_XS}: what ggml's {@code quantize_iq4_nl} and {@code quantize_iq4_xs} compute
 * without an importance matrix (the functions {@code llama-quantize} calls; note that ggml's
 * {@code quantize_row_iq4_nl_ref} searches fewer scales and gives other bytes), in the same float
 * operations in the same order. The layouts are those {@link IQ4_NLMatrix} and
 * {@link IQ4_XSMatrix} read.
 *
 * <p>Each block of 32 is fitted on its own: with {@code max} its value of largest magnitude, the
 * scale {@code d} is tried at {@code max / (-127 + t)} for {@code t = -7..7} (and at
 * {@code max / 127} first); each weight takes the level ({@link IQ4_NLMatrix#LEVELS}) nearest to
 * {@code x / d}, and the scale kept is the weighted least-squares one ({@code Σ w q x / Σ w q²},
 * weights {@code x²}) of the candidate that fits best. IQ4_NL stores that scale as the block's
 * half and re-picks the levels against it. IQ4_XS then quantizes the eight block scales of a
 * super-block to 6 signed bits against {@code d = -max_scale / 32} (stored as a half) and
 * re-picks every block's levels against its scale {@code d · l} — computed from the float
 * {@code d}, as ggml does, not from its half.
 */
final class IQ4Quants {

    private static final int BLOCK = 32;
    private static final int SUPER = 256;
    private static final int NTRY = 7;
    private static final float GROUP_MAX_EPS = 1e-15f;
    private static final int[] LEVELS = IQ4_NLMatrix.LEVELS;

    private IQ4Quants() {
    }

    /** Working arrays for one call. */
    private record Scratch(int[] quants, float[] weights, float[] scales, byte[] block) {
    }

    /** Quantizes {@code n} weights (whole blocks of {@code type}) from {@code x[at ..]} to {@code type} at {@code out}. */
    static void quantize(GgmlType type, float[] x, int at, int n, MemorySegment dst, long out) {
        int superBlock = type.blockSize();
        Scratch s = new Scratch(new int[superBlock], new float[BLOCK], new float[superBlock / BLOCK], new byte[type.blockBytes()]);
        for (int b = 0; b < n / superBlock; b++) {
            Arrays.fill(s.block(), (byte) 0);
            switch (type) {
                case IQ4_NL -> nl(x, at + b * superBlock, s);
                case IQ4_XS -> xs(x, at + b * superBlock, s);
                default -> throw new IllegalArgumentException(type.toString());
            }
            MemorySegment.copy(s.block(), 0, dst, ValueLayout.JAVA_BYTE, out + (long) b * type.blockBytes(), type.blockBytes());
        }
    }

    /** One IQ4_NL block: bytes 0–1 d, 2–17 nibbles. */
    private static void nl(float[] x, int at, Scratch s) {
        float scale = fitBlock(x, at, s.weights(), s.quants(), 0);
        KQuants.putHalf(s.block(), 0, scale);
        float id = scale != 0 ? 1 / scale : 0;
        for (int j = 0; j < BLOCK; j++) {
            s.quants()[j] = nearestLevel(id * x[at + j]);
        }
        packNibbles(s.quants(), s.block(), 2, BLOCK);
    }

    /** One IQ4_XS super-block: bytes 0–1 d, 2–3 scales_h, 4–7 scales_l, 8–135 nibbles. */
    private static void xs(float[] x, int at, Scratch s) {
        float[] scales = s.scales();
        byte[] y = s.block();
        float maxScale = 0;
        float amaxScale = 0;
        for (int ib = 0; ib < SUPER / BLOCK; ib++) {
            scales[ib] = fitBlock(x, at + ib * BLOCK, s.weights(), s.quants(), ib * BLOCK);
            float abs = Math.abs(scales[ib]);
            if (abs > amaxScale) {
                amaxScale = abs;
                maxScale = scales[ib];
            }
        }
        float d = -maxScale / 32;
        KQuants.putHalf(y, 0, d);
        float id = d != 0 ? 1 / d : 0f;
        int scalesH = 0;
        for (int ib = 0; ib < SUPER / BLOCK; ib++) {
            int l = KQuants.nearestInt(id * scales[ib]);
            l = Math.max(-32, Math.min(31, l));
            float dl = d * l;
            float idl = dl != 0 ? 1 / dl : 0f;
            for (int j = 0; j < BLOCK; j++) {
                s.quants()[ib * BLOCK + j] = nearestLevel(idl * x[at + ib * BLOCK + j]);
            }
            l += 32;
            y[4 + ib / 2] |= (byte) ((l & 0x0F) << (4 * (ib % 2)));
            scalesH |= (l >> 4) << (2 * ib);
        }
        y[2] = (byte) scalesH;
        y[3] = (byte) (scalesH >> 8);
        packNibbles(s.quants(), y, 8, SUPER);
    }

    /**
     * The best scale of the 32 values at {@code x[at ..]} (0 for an all-zero block); the levels of
     * the first candidate go to {@code quants[qAt ..]} (ggml keeps them there; both callers then
     * re-pick them against the final scale).
     */
    private static float fitBlock(float[] x, int at, float[] weights, int[] quants, int qAt) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < BLOCK; j++) {
            weights[j] = x[at + j] * x[at + j];
            float ax = Math.abs(x[at + j]);
            if (ax > amax) {
                amax = ax;
                max = x[at + j];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            return 0;
        }
        float d = -max / LEVELS[0];
        float id = 1 / d;
        float sumqx = 0;
        float sumq2 = 0;
        for (int j = 0; j < BLOCK; j++) {
            int l = nearestLevel(id * x[at + j]);
            quants[qAt + j] = l;
            float q = LEVELS[l];
            float w = weights[j];
            sumqx += w * q * x[at + j];
            sumq2 += w * q * q;
        }
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -NTRY; itry <= NTRY; itry++) {
            id = (itry + LEVELS[0]) / max;
            sumqx = 0;
            sumq2 = 0;
            for (int j = 0; j < BLOCK; j++) {
                float q = LEVELS[nearestLevel(id * x[at + j])];
                float w = weights[j];
                sumqx += w * q * x[at + j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    /**
     * ggml's {@code best_index_int8}: the index of the level nearest to {@code v} (the upper one
     * when {@code v} is exactly between two), by bisection.
     */
    static int nearestLevel(float v) {
        if (v <= LEVELS[0]) {
            return 0;
        }
        if (v >= LEVELS[15]) {
            return 15;
        }
        int lo = 0;
        int hi = 15;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (v < LEVELS[mid]) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return v - LEVELS[hi - 1] < LEVELS[hi] - v ? hi - 1 : hi;
    }

    /** Byte {@code 16·i + j} of {@code y[at ..]} holds levels {@code 32·i + j} (low) and {@code 32·i + 16 + j} (high). */
    private static void packNibbles(int[] quants, byte[] y, int at, int n) {
        for (int i = 0; i < n / BLOCK; i++) {
            for (int j = 0; j < 16; j++) {
                y[at + 16 * i + j] = (byte) (quants[32 * i + j] | quants[32 * i + 16 + j] << 4);
            }
        }
    }
}
