package dev.rewind.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The reference quantizers of the k-quants, {@link GgmlType#Q2_K} … {@link GgmlType#Q6_K}: what
 * ggml's {@code quantize_row_q*_K_ref} compute (and so what {@code llama-quantize} writes when it
 * is given no importance matrix), re-implemented from ggml-quants.c in the same float operations
 * in the same order, so that the bytes are the same. The layouts are those the matrices read
 * ({@link Q2_KMatrix} … {@link Q6_KMatrix}, {@link KScales}).
 *
 * <p>Each type first fits every sub-block on its own, then quantizes the sub-block scales (and
 * mins) against the super-block's largest, and finally re-rounds every weight against the scale
 * it will actually be decoded with:
 * <ul>
 *   <li><b>Q2_K</b> (16 sub-blocks of 16, quants 0..3, {@code w = d·sc·q - dmin·m}): each
 *       sub-block by {@link #fitScaleAndMin} with weights {@code |x|}, minimising the absolute
 *       error over 16 candidate scales; scale and min codes 4 bits each, {@code round(15 · v / max)}.</li>
 *   <li><b>Q3_K</b> (16 of 16, quants −4..3, {@code w = d·sc·q}): {@link #fitSymmetric3}, an
 *       iterative least-squares fit weighted by {@code x²}; signed 6-bit scale codes against the
 *       scale of largest magnitude, {@code round(-32 · v / max)}.</li>
 *   <li><b>Q4_K</b>, <b>Q5_K</b> (8 of 32, quants 0..15 or 0..31, {@code w = d·sc·q - dmin·m}):
 *       {@link #fitScaleAndMin} with weights {@code rms(x) + |x|}, minimising the squared error
 *       over 21 (Q4_K) or 16 (Q5_K) candidates; 6-bit scale and min codes, {@code round(63 · v / max)}.</li>
 *   <li><b>Q6_K</b> (16 of 16, quants −32..31, {@code w = d·sc·q}): {@link #fitSymmetric}, the
 *       best of 19 candidate scales by weighted least squares ({@code x²}); signed 8-bit scale
 *       codes, {@code round(-128 · v / max)} (at most 127).</li>
 * </ul>
 * All roundings to an integer are ggml's {@code nearest_int} ({@link #nearestInt}: to nearest,
 * ties to even); halves are rounded to nearest even.
 */
final class KQuants {

    private static final int QK = 256;

    /** ggml's {@code GROUP_MAX_EPS}: a group whose largest magnitude is below this is all zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private KQuants() {
    }

    /** Working arrays for one call (nothing is allocated per super-block); {@code codes} views {@code block}. */
    private record Scratch(int[] quants, int[] aux, float[] weights, float[] scales, float[] mins, byte[] block,
                           MemorySegment codes) {
        Scratch(byte[] block) {
            this(new int[QK], new int[32], new float[32], new float[16], new float[16], block, MemorySegment.ofArray(block));
        }
    }

    /** Quantizes {@code n} (a multiple of 256) weights from {@code x[at ..]} to {@code type} at {@code out}. */
    static void quantize(GgmlType type, float[] x, int at, int n, MemorySegment dst, long out) {
        Scratch s = new Scratch(new byte[type.blockBytes()]);
        for (int b = 0; b < n / QK; b++) {
            int from = at + b * QK;
            Arrays.fill(s.block(), (byte) 0);
            switch (type) {
                case Q2_K -> q2K(x, from, s);
                case Q3_K -> q3K(x, from, s);
                case Q4_K -> q45K(x, from, s, false);
                case Q5_K -> q45K(x, from, s, true);
                case Q6_K -> q6K(x, from, s);
                default -> throw new IllegalArgumentException(type.toString());
            }
            MemorySegment.copy(s.block(), 0, dst, ValueLayout.JAVA_BYTE, out + (long) b * type.blockBytes(), type.blockBytes());
        }
    }

    // ------------------------------------------------------------------ Q2_K

    private static void q2K(float[] x, int at, Scratch s) {
        int[] quants = s.quants();
        float[] scales = s.scales();
        float[] mins = s.mins();
        byte[] y = s.block();
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++) {
                s.weights()[l] = Math.abs(x[at + 16 * j + l]);
            }
            scales[j] = fitScaleAndMin(16, 3, x, at + 16 * j, s.weights(), quants, 16 * j, s.aux(), -0.5f, 0.1f, 15, true, mins, j);
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        // bytes 0–15 scale (low nibble) and min (high nibble) codes, 16–79 quants, 80 d, 82 dmin
        if (maxScale > 0) {
            float iscale = 15f / maxScale;
            for (int j = 0; j < 16; j++) {
                y[j] = (byte) nearestInt(iscale * scales[j]);
            }
            putHalf(y, 80, maxScale / 15f);
        } else {
            putHalf(y, 80, 0f);
        }
        if (maxMin > 0) {
            float iscale = 15f / maxMin;
            for (int j = 0; j < 16; j++) {
                y[j] |= (byte) (nearestInt(iscale * mins[j]) << 4);
            }
            putHalf(y, 82, maxMin / 15f);
        } else {
            putHalf(y, 82, 0f);
        }
        for (int j = 0; j < 16; j++) {
            float d = half(y, 80) * (y[j] & 0x0F);
            if (d == 0) {
                continue;
            }
            float dm = half(y, 82) * ((y[j] & 0xFF) >> 4);
            for (int i = 0; i < 16; i++) {
                int l = nearestInt((x[at + 16 * j + i] + dm) / d);
                quants[16 * j + i] = Math.max(0, Math.min(3, l));
            }
        }
        packTwoBits(quants, y, 16);
    }

    /** Q2_K/Q3_K quant order: byte {@code 32·h + l} holds weights {@code 128·h + l + 32·k} in bit pair {@code k}. */
    private static void packTwoBits(int[] quants, byte[] y, int at) {
        for (int j = 0; j < QK; j += 128) {
            for (int l = 0; l < 32; l++) {
                y[at + j / 4 + l] = (byte) (quants[j + l] | quants[j + l + 32] << 2 | quants[j + l + 64] << 4 | quants[j + l + 96] << 6);
            }
        }
    }

    // ------------------------------------------------------------------ Q3_K

    private static void q3K(float[] x, int at, Scratch s) {
        int[] quants = s.quants();
        float[] scales = s.scales();
        byte[] y = s.block();
        float maxScale = 0;
        float amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fitSymmetric3(x, at + 16 * j, quants, 16 * j);
            float scale = Math.abs(scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = scales[j];
            }
        }
        // bytes 0–31 hmask, 32–95 low bits, 96–107 scales, 108 d
        int sc = 96;
        if (maxScale != 0) { // a NaN counts as set, as in C
            float iscale = -32f / maxScale;
            for (int j = 0; j < 16; j++) {
                int l = (byte) nearestInt(iscale * scales[j]);
                l = Math.max(-32, Math.min(31, l)) + 32;
                if (j < 8) {
                    y[sc + j] = (byte) (l & 0x0F);
                } else {
                    y[sc + j - 8] |= (byte) ((l & 0x0F) << 4);
                }
                l >>= 4;
                y[sc + 8 + j % 4] |= (byte) (l << (2 * (j / 4)));
            }
            putHalf(y, 108, 1 / iscale);
        } else {
            putHalf(y, 108, 0f);
        }
        for (int j = 0; j < 16; j++) {
            int code = j < 8 ? y[sc + j] & 0x0F : (y[sc + j - 8] & 0xFF) >> 4;
            code = (code | (((y[sc + 8 + j % 4] & 0xFF) >> (2 * (j / 4))) & 3) << 4) - 32;
            float d = half(y, 108) * code;
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int l = nearestInt(x[at + 16 * j + i] / d);
                quants[16 * j + i] = Math.max(-4, Math.min(3, l)) + 4;
            }
        }
        // The third bit of weight j goes to bit j / 32 of hmask[j % 32]; the low two bits stay.
        for (int j = 0; j < QK; j++) {
            if (quants[j] > 3) {
                y[j % 32] |= (byte) (1 << (j / 32));
                quants[j] -= 4;
            }
        }
        packTwoBits(quants, y, 32);
    }

    // ------------------------------------------------------------------ Q4_K and Q5_K

    private static void q45K(float[] x, int at, Scratch s, boolean five) {
        int nmax = five ? 31 : 15;
        int[] quants = s.quants();
        float[] scales = s.scales();
        float[] mins = s.mins();
        float[] weights = s.weights();
        byte[] y = s.block();
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[at + 32 * j + l] * x[at + 32 * j + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[at + 32 * j + l]);
            }
            scales[j] = five
                    ? fitScaleAndMin(32, 31, x, at + 32 * j, weights, quants, 32 * j, s.aux(), -0.5f, 0.1f, 15, false, mins, j)
                    : fitScaleAndMin(32, 15, x, at + 32 * j, weights, quants, 32 * j, s.aux(), -1f, 0.1f, 20, false, mins, j);
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        // bytes 0 d, 2 dmin, 4–15 scales; Q4_K: 16–143 quants; Q5_K: 16–47 fifth bits, 48–175 low bits
        int sc = 4;
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF); // C stores these in a uint8_t first
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                y[sc + j] = (byte) ls;
                y[sc + j + 4] = (byte) lm;
            } else {
                y[sc + j + 4] = (byte) ((ls & 0x0F) | (lm & 0x0F) << 4);
                y[sc + j - 4] |= (byte) ((ls >> 4) << 6);
                y[sc + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        putHalf(y, 0, maxScale / 63f);
        putHalf(y, 2, maxMin / 63f);
        for (int j = 0; j < 8; j++) {
            float d = half(y, 0) * KScales.q4kScale(s.codes(), sc, j);
            if (d == 0) {
                continue;
            }
            float dm = half(y, 2) * KScales.q4kMin(s.codes(), sc, j);
            for (int i = 0; i < 32; i++) {
                int l = nearestInt((x[at + 32 * j + i] + dm) / d);
                quants[32 * j + i] = Math.max(0, Math.min(nmax, l));
            }
        }
        int qs = five ? 48 : 16;
        for (int j = 0; j < QK; j += 64) {
            int shift = j / 32; // the fifth bits of this pair of sub-blocks: bits j/32 and j/32 + 1
            for (int l = 0; l < 32; l++) {
                int lo = quants[j + l];
                int hi = quants[j + l + 32];
                if (five && lo > 15) {
                    lo -= 16;
                    y[16 + l] |= (byte) (1 << shift);
                }
                if (five && hi > 15) {
                    hi -= 16;
                    y[16 + l] |= (byte) (2 << shift);
                }
                y[qs + j / 2 + l] = (byte) (lo | hi << 4);
            }
        }
    }

    // ------------------------------------------------------------------ Q6_K

    private static void q6K(float[] x, int at, Scratch s) {
        int[] quants = s.quants();
        float[] scales = s.scales();
        byte[] y = s.block();
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = fitSymmetric(16, 32, x, at + 16 * ib, quants, 16 * ib);
            scales[ib] = scale;
            float abs = Math.abs(scale);
            if (abs > maxAbsScale) {
                maxAbsScale = abs;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            return; // an all-zero super-block: every byte 0, d = +0
        }
        // bytes 0–127 low bits, 128–191 high bits, 192–207 scales, 208 d
        float iscale = -128f / maxScale;
        putHalf(y, 208, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            y[192 + ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
        }
        for (int j = 0; j < 16; j++) {
            float d = half(y, 208) * y[192 + j];
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < 16; i++) {
                int l = nearestInt(x[at + 16 * j + i] / d);
                quants[16 * j + i] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        for (int j = 0; j < QK; j += 128) {
            int ql = j / 2;
            int qh = 128 + j / 4;
            for (int l = 0; l < 32; l++) {
                int q1 = quants[j + l];
                int q2 = quants[j + l + 32];
                int q3 = quants[j + l + 64];
                int q4 = quants[j + l + 96];
                y[ql + l] = (byte) ((q1 & 0x0F) | (q3 & 0x0F) << 4);
                y[ql + l + 32] = (byte) ((q2 & 0x0F) | (q4 & 0x0F) << 4);
                y[qh + l] = (byte) ((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }

    // ------------------------------------------------------------------ sub-block fits

    /**
     * ggml's {@code make_qkx2_quants}: quants {@code 0..nmax} and a scale and min such that
     * {@code x ≈ scale · q - min}, for the {@code n} values at {@code x[at ..]}, with per-value
     * {@code weights}. It starts from the range {@code [min(x, 0), max(x)]} divided into
     * {@code nmax} steps, then tries {@code nstep + 1} other step counts
     * {@code nmax + rmin + rdelta·i}, each with the scale and min that minimise the weighted
     * squared error for its rounding (a 2 × 2 least-squares solve, the min kept at or below 0),
     * and keeps the best by weighted absolute ({@code useMad}) or squared error.
     *
     * @return the scale; {@code -min} (a non-negative offset) goes to {@code theMin[minAt]} and
     *         the quants to {@code quants[qAt ..]}
     */
    static float fitScaleAndMin(int n, int nmax, float[] x, int at, float[] weights, int[] quants, int qAt, int[] aux,
                                float rmin, float rdelta, int nstep, boolean useMad, float[] theMin, int minAt) {
        float min = x[at];
        float max = x[at];
        float sumW = weights[0];
        float sumX = sumW * x[at];
        for (int i = 1; i < n; i++) {
            float xi = x[at + i];
            if (xi < min) {
                min = xi;
            }
            if (xi > max) {
                max = xi;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                quants[qAt + i] = 0;
            }
            theMin[minAt] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestMad = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[at + i] - min));
            quants[qAt + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * quants[qAt + i] + min - x[at + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestMad += weights[i] * diff;
        }
        if (nstep < 1) {
            theMin[minAt] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[at + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[at + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float mad = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[at + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    mad += weights[i] * diff;
                }
                if (mad < bestMad) {
                    System.arraycopy(aux, 0, quants, qAt, n);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[minAt] = -min;
        return scale;
    }

    /**
     * ggml's {@code make_q3_quants} with {@code nmax = 4} and its RMSE refinement: quants
     * {@code -4..3} for {@code x ≈ scale · q}, starting from the value of largest magnitude at
     * {@code -4} and then changing one quant at a time, up to five passes, wherever that raises
     * the weighted fit {@code (Σ w x q)² / Σ w q²} with {@code w = x²}.
     *
     * @return the scale; the quants plus 4 (0..7) go to {@code quants[qAt .. qAt + 16)}
     */
    static float fitSymmetric3(float[] x, int at, int[] quants, int qAt) {
        int n = 16;
        int nmax = 4;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[at + i]);
            if (ax > amax) {
                amax = ax;
                max = x[at + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                quants[qAt + i] = 0;
            }
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * x[at + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            quants[qAt + i] = l;
            float w = x[at + i] * x[at + i];
            sumlx += w * x[at + i] * l;
            suml2 += w * l * l;
        }
        for (int itry = 0; itry < 5; itry++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[at + i];
                float w = xi * xi;
                int li = quants[qAt + i];
                float slx = sumlx - w * xi * li;
                if (slx > 0) {
                    float sl2 = suml2 - w * li * li;
                    int newL = nearestInt(xi * sl2 / slx);
                    newL = Math.max(-nmax, Math.min(nmax - 1, newL));
                    if (newL != li) {
                        slx += w * xi * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                            quants[qAt + i] = newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) {
                break;
            }
        }
        for (int i = 0; i < n; i++) {
            quants[qAt + i] += nmax;
        }
        return sumlx / suml2;
    }

    /**
     * ggml's {@code make_qx_quants} with its RMSE choice 1 (weights {@code x²}) and no importance
     * matrix: quants {@code -nmax..nmax-1} for {@code x ≈ scale · q}; the value of largest
     * magnitude maps to {@code -nmax}, then 18 nearby step sizes {@code -(nmax + 0.1·i) / max}
     * are tried and the one with the best weighted least-squares fit is kept.
     *
     * @return the scale; the quants plus {@code nmax} go to {@code quants[qAt .. qAt + n)}
     */
    static float fitSymmetric(int n, int nmax, float[] x, int at, int[] quants, int qAt) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[at + i]);
            if (ax > amax) {
                amax = ax;
                max = x[at + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                quants[qAt + i] = 0;
            }
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * x[at + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            quants[qAt + i] = l + nmax;
            float w = x[at + i] * x[at + i];
            sumlx += w * x[at + i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * x[at + i]);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = x[at + i] * x[at + i];
                sumlx += w * x[at + i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * x[at + i]);
                    quants[qAt + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    // ------------------------------------------------------------------ helpers

    /**
     * ggml's {@code nearest_int}: adding 1.5 · 2^23 leaves the integer nearest to {@code v} (ties
     * to even) in the low mantissa bits, for {@code |v| < 2^22}. Written as ggml computes it, so
     * that out-of-range inputs give the same (meaningless) integer too.
     */
    static int nearestInt(float v) {
        float shifted = v + 12582912f;
        return (Float.floatToRawIntBits(shifted) & 0x007f_ffff) - 0x0040_0000;
    }

    /** Stores {@code v} rounded to a half, little-endian, at {@code y[at]}. */
    static void putHalf(byte[] y, int at, float v) {
        short h = Float.floatToFloat16(v);
        y[at] = (byte) h;
        y[at + 1] = (byte) (h >> 8);
    }

    /** The little-endian half at {@code y[at]}, as a float. */
    static float half(byte[] y, int at) {
        return Float.float16ToFloat((short) ((y[at] & 0xFF) | y[at + 1] << 8));
    }
}
