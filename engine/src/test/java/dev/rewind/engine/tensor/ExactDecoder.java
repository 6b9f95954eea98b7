package dev.rewind.engine.tensor;

import java.math.BigDecimal;

/**
 * An independent decoding of the quantized block formats, for tests: written from the block
 * layouts the way ggml's {@code dequantize_row_*} loops walk them (outer loops over halves and
 * quarters, running output index), not the way the matrices address a weight, and in exact
 * decimal arithmetic. Each weight is the exact real number the format defines ({@code d · q + m}
 * and the like, halves decoded exactly); rounding it once to float is what a correct decoder that
 * computes in float must produce, because every product in these formulas is exact in float and
 * only the final addition of a min rounds.
 */
final class ExactDecoder {

    private ExactDecoder() {
    }

    /** ggml's {@code kvalues_iq4nl}. */
    private static final int[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /**
     * The exact weights of one block of {@code type} held in {@code b[at .. at + type.blockBytes())},
     * written to {@code out[0 .. type.blockSize())}.
     */
    static void decode(GgmlType type, byte[] b, int at, BigDecimal[] out) {
        switch (type) {
            case Q4_1 -> {
                BigDecimal d = half(b, at);
                BigDecimal m = half(b, at + 2);
                for (int j = 0; j < 16; j++) {
                    out[j] = d.multiply(BigDecimal.valueOf(u8(b, at + 4 + j) & 15)).add(m);
                    out[j + 16] = d.multiply(BigDecimal.valueOf(u8(b, at + 4 + j) >> 4)).add(m);
                }
            }
            case Q5_0, Q5_1 -> {
                boolean withMin = type == GgmlType.Q5_1;
                BigDecimal d = half(b, at);
                BigDecimal m = withMin ? half(b, at + 2) : BigDecimal.ZERO;
                int qhAt = at + (withMin ? 4 : 2);
                long qh = u8(b, qhAt) | u8(b, qhAt + 1) << 8 | u8(b, qhAt + 2) << 16 | (long) u8(b, qhAt + 3) << 24;
                int qs = qhAt + 4;
                int offset = withMin ? 0 : 16;
                for (int j = 0; j < 16; j++) {
                    long high0 = ((qh >> j) << 4) & 0x10;
                    long high1 = (qh >> (j + 12)) & 0x10;
                    out[j] = d.multiply(BigDecimal.valueOf(((u8(b, qs + j) & 15) | high0) - offset)).add(m);
                    out[j + 16] = d.multiply(BigDecimal.valueOf(((u8(b, qs + j) >> 4) | high1) - offset)).add(m);
                }
            }
            case IQ4_NL -> {
                BigDecimal d = half(b, at);
                for (int j = 0; j < 16; j++) {
                    out[j] = d.multiply(BigDecimal.valueOf(IQ4_LEVELS[u8(b, at + 2 + j) & 15]));
                    out[j + 16] = d.multiply(BigDecimal.valueOf(IQ4_LEVELS[u8(b, at + 2 + j) >> 4]));
                }
            }
            case Q2_K -> q2k(b, at, out);
            case Q3_K -> q3k(b, at, out);
            case Q4_K, Q5_K -> q45k(type == GgmlType.Q5_K, b, at, out);
            case Q6_K -> q6k(b, at, out);
            case IQ4_XS -> iq4xs(b, at, out);
            default -> throw new IllegalArgumentException(type.toString());
        }
    }

    private static void q2k(byte[] b, int at, BigDecimal[] out) {
        BigDecimal d = half(b, at + 80);
        BigDecimal min = half(b, at + 82);
        int y = 0;
        int is = 0;
        for (int n = 0; n < 256; n += 128) {
            int q = at + 16 + n / 4;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    int sc = u8(b, at + is++);
                    BigDecimal dl = d.multiply(BigDecimal.valueOf(sc & 15));
                    BigDecimal ml = min.multiply(BigDecimal.valueOf(sc >> 4));
                    for (int l = 0; l < 16; l++) {
                        out[y++] = dl.multiply(BigDecimal.valueOf((u8(b, q + 16 * part + l) >> shift) & 3)).subtract(ml);
                    }
                }
            }
        }
    }

    private static void q3k(byte[] b, int at, BigDecimal[] out) {
        BigDecimal d = half(b, at + 108);
        // The sixteen 6-bit scales, unpacked 32 bits at a time as ggml does: four words whose bytes
        // are scales 0–3, 4–7, 8–11 and 12–15, low nibbles from words 0 and 1, high pairs from word 2.
        long w0 = word(b, at + 96);
        long w1 = word(b, at + 100);
        long w2 = word(b, at + 104);
        long lowNibbles = 0x0f0f0f0fL;
        long lowPairs = 0x03030303L;
        long[] words = {
            (w0 & lowNibbles) | ((w2 & lowPairs) << 4),
            (w1 & lowNibbles) | (((w2 >> 2) & lowPairs) << 4),
            ((w0 >> 4) & lowNibbles) | (((w2 >> 4) & lowPairs) << 4),
            ((w1 >> 4) & lowNibbles) | (((w2 >> 6) & lowPairs) << 4),
        };
        int[] scales = new int[16];
        for (int i = 0; i < 16; i++) {
            scales[i] = (int) ((words[i / 4] >> (8 * (i % 4))) & 0xFF) - 32;
        }
        int y = 0;
        int is = 0;
        int mask = 1;
        for (int n = 0; n < 256; n += 128) {
            int q = at + 32 + n / 4;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    BigDecimal dl = d.multiply(BigDecimal.valueOf(scales[is++]));
                    for (int l = 0; l < 16; l++) {
                        int low = (u8(b, q + 16 * part + l) >> shift) & 3;
                        boolean high = (u8(b, at + 16 * part + l) & mask) != 0;
                        out[y++] = dl.multiply(BigDecimal.valueOf(low - (high ? 0 : 4)));
                    }
                }
                mask <<= 1;
            }
        }
    }

    private static void q45k(boolean five, byte[] b, int at, BigDecimal[] out) {
        BigDecimal d = half(b, at);
        BigDecimal min = half(b, at + 2);
        int qh = at + 16;
        int ql = at + (five ? 48 : 16);
        int y = 0;
        int u1 = 1;
        int u2 = 2;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
            BigDecimal d1 = d.multiply(BigDecimal.valueOf(scaleK4(b, at + 4, is)));
            BigDecimal m1 = min.multiply(BigDecimal.valueOf(minK4(b, at + 4, is)));
            BigDecimal d2 = d.multiply(BigDecimal.valueOf(scaleK4(b, at + 4, is + 1)));
            BigDecimal m2 = min.multiply(BigDecimal.valueOf(minK4(b, at + 4, is + 1)));
            for (int l = 0; l < 32; l++) {
                int q = (u8(b, ql + l) & 15) + (five && (u8(b, qh + l) & u1) != 0 ? 16 : 0);
                out[y++] = d1.multiply(BigDecimal.valueOf(q)).subtract(m1);
            }
            for (int l = 0; l < 32; l++) {
                int q = (u8(b, ql + l) >> 4) + (five && (u8(b, qh + l) & u2) != 0 ? 16 : 0);
                out[y++] = d2.multiply(BigDecimal.valueOf(q)).subtract(m2);
            }
            ql += 32;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    private static void q6k(byte[] b, int at, BigDecimal[] out) {
        BigDecimal d = half(b, at + 208);
        for (int n = 0; n < 2; n++) {
            int ql = at + 64 * n;
            int qh = at + 128 + 32 * n;
            int sc = at + 192 + 8 * n;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((u8(b, ql + l) & 15) | ((u8(b, qh + l) & 3) << 4)) - 32;
                int q2 = ((u8(b, ql + l + 32) & 15) | (((u8(b, qh + l) >> 2) & 3) << 4)) - 32;
                int q3 = ((u8(b, ql + l) >> 4) | (((u8(b, qh + l) >> 4) & 3) << 4)) - 32;
                int q4 = ((u8(b, ql + l + 32) >> 4) | (((u8(b, qh + l) >> 6) & 3) << 4)) - 32;
                out[128 * n + l] = d.multiply(BigDecimal.valueOf(b[sc + is])).multiply(BigDecimal.valueOf(q1));
                out[128 * n + l + 32] = d.multiply(BigDecimal.valueOf(b[sc + is + 2])).multiply(BigDecimal.valueOf(q2));
                out[128 * n + l + 64] = d.multiply(BigDecimal.valueOf(b[sc + is + 4])).multiply(BigDecimal.valueOf(q3));
                out[128 * n + l + 96] = d.multiply(BigDecimal.valueOf(b[sc + is + 6])).multiply(BigDecimal.valueOf(q4));
            }
        }
    }

    private static void iq4xs(byte[] b, int at, BigDecimal[] out) {
        BigDecimal d = half(b, at);
        int scalesH = u8(b, at + 2) | u8(b, at + 3) << 8;
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((u8(b, at + 4 + ib / 2) >> (4 * (ib % 2))) & 15) | ((scalesH >> (2 * ib)) & 3) << 4;
            BigDecimal dl = d.multiply(BigDecimal.valueOf(ls - 32));
            int qs = at + 8 + 16 * ib;
            for (int j = 0; j < 16; j++) {
                out[32 * ib + j] = dl.multiply(BigDecimal.valueOf(IQ4_LEVELS[u8(b, qs + j) & 15]));
                out[32 * ib + j + 16] = dl.multiply(BigDecimal.valueOf(IQ4_LEVELS[u8(b, qs + j) >> 4]));
            }
        }
    }

    private static long word(byte[] b, int at) {
        return u8(b, at) | u8(b, at + 1) << 8 | u8(b, at + 2) << 16 | (long) u8(b, at + 3) << 24;
    }

    /** ggml's {@code get_scale_min_k4}, scale half. */
    private static int scaleK4(byte[] b, int q, int j) {
        return j < 4 ? u8(b, q + j) & 63 : (u8(b, q + j + 4) & 0xF) | ((u8(b, q + j - 4) >> 6) << 4);
    }

    /** ggml's {@code get_scale_min_k4}, min half. */
    private static int minK4(byte[] b, int q, int j) {
        return j < 4 ? u8(b, q + j + 4) & 63 : (u8(b, q + j + 4) >> 4) | ((u8(b, q + j) >> 6) << 4);
    }

    /** The little-endian half at {@code b[at]}, exactly, decoded from its bits (finite halves only). */
    static BigDecimal half(byte[] b, int at) {
        int h = u8(b, at) | u8(b, at + 1) << 8;
        int exponent = (h >> 10) & 0x1f;
        int significand = h & 0x3ff;
        if (exponent == 0x1f) {
            throw new IllegalArgumentException("not a finite half: " + Integer.toHexString(h));
        }
        BigDecimal magnitude = exponent == 0
                ? BigDecimal.valueOf(significand).multiply(BigDecimal.ONE.divide(BigDecimal.valueOf(1L << 24)))
                : BigDecimal.valueOf(1024 + significand).multiply(pow2(exponent - 25));
        return (h & 0x8000) != 0 ? magnitude.negate() : magnitude;
    }

    private static BigDecimal pow2(int e) {
        return e >= 0 ? BigDecimal.valueOf(1L << e) : BigDecimal.ONE.divide(BigDecimal.valueOf(1L << -e));
    }

    private static int u8(byte[] b, int at) {
        return b[at] & 0xFF;
    }
}
