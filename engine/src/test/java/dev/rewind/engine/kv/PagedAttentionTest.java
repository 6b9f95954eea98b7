package dev.rewind.engine.kv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PagedAttention} against its scalar twin, bit for bit, on random caches of both KV types,
 * for page sizes below, at and above the vector width, head sizes that are and are not multiples
 * of it, grouped query heads, sliding windows and soft-capping; and against a plain two-pass
 * softmax in double precision.
 */
class PagedAttentionTest {

    private static Sequence filled(PagePool pool, int length, Random random) {
        Sequence s = pool.newSequence();
        s.reserve(length);
        float[] k = new float[pool.kvDim()];
        float[] v = new float[pool.kvDim()];
        for (int p = 0; p < length; p++) {
            for (int l = 0; l < pool.layers(); l++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = random.nextFloat() * 2 - 1;
                    v[i] = random.nextFloat() * 2 - 1;
                }
                s.write(l, p, k, 0, v, 0);
            }
        }
        s.advance(length);
        return s;
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void equalsTheScalarTwinBitForBit(KvType type) {
        Random random = new Random(type.ordinal() + 1);
        for (int pageSize : new int[]{1, 3, 8, 16, 24, 32}) {
            for (int headDim : new int[]{8, 12, 32, 64}) {
                int kvHeads = 2;
                int group = 3;
                int length = 1 + random.nextInt(70);
                try (PagePool pool = PagePool.forTokens(2, kvHeads * headDim, pageSize, length, type)) {
                    Sequence s = filled(pool, length, random);
                    float[] q = new float[group * headDim];
                    for (int i = 0; i < q.length; i++) {
                        q[i] = (random.nextFloat() * 2 - 1) * 3;
                    }
                    PagedAttention.Scratch scratch = new PagedAttention.Scratch();
                    for (int trial = 0; trial < 6; trial++) {
                        int position = random.nextInt(length);
                        int first = trial % 2 == 0 ? 0 : random.nextInt(position + 1);
                        float softcap = trial % 3 == 2 ? 2f : 0f;
                        int kvHead = random.nextInt(kvHeads);
                        int layer = random.nextInt(2);
                        float[] out = new float[group * headDim];
                        PagedAttention.attend(s, layer, position, first, kvHead, headDim, q, 0, group, 0.3f, softcap, out, 0, scratch);
                        for (int h = 0; h < group; h++) {
                            float[] expected = new float[headDim];
                            PagedAttention.attendScalar(s, layer, position, first, kvHead, headDim, q, h * headDim, 0.3f, softcap, expected, 0);
                            float[] actual = java.util.Arrays.copyOfRange(out, h * headDim, (h + 1) * headDim);
                            String where = type + " page " + pageSize + " headDim " + headDim + " position " + position + " first " + first
                                    + " softcap " + softcap + " head " + h;
                            assertArrayEquals(expected, actual, where);
                            double[] plain = plainSoftmaxAttention(s, layer, position, first, kvHead, headDim, q, h * headDim, 0.3, softcap);
                            for (int e = 0; e < headDim; e++) {
                                assertEquals(plain[e], actual[e], 2e-5, where + " value " + e);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void aSingleVisiblePositionReturnsItsValue() {
        try (PagePool pool = PagePool.forTokens(1, 8, 4, 10, KvType.F32)) {
            Sequence s = filled(pool, 10, new Random(5));
            float[] q = new float[8];
            java.util.Arrays.fill(q, 100f);
            float[] out = new float[8];
            PagedAttention.attend(s, 0, 6, 6, 0, 8, q, 0, 1, 1f, 0f, out, 0, new PagedAttention.Scratch());
            for (int e = 0; e < 8; e++) {
                assertEquals(s.pool().values().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, s.valueOffset(0, 6) + 4L * e), out[e]);
            }
        }
    }

    @Test
    void refusesPositionsOutsideTheCache() {
        try (PagePool pool = PagePool.forTokens(1, 8, 4, 4, KvType.F32)) {
            Sequence s = filled(pool, 3, new Random(1));
            float[] q = new float[8];
            float[] out = new float[8];
            PagedAttention.Scratch scratch = new PagedAttention.Scratch();
            assertThrows(IndexOutOfBoundsException.class, () -> PagedAttention.attend(s, 0, 3, 0, 0, 8, q, 0, 1, 1f, 0f, out, 0, scratch));
            assertThrows(IllegalArgumentException.class, () -> PagedAttention.attend(s, 0, 2, 3, 0, 8, q, 0, 1, 1f, 0f, out, 0, scratch));
            assertThrows(IndexOutOfBoundsException.class, () -> PagedAttention.attend(s, 0, 2, 0, 1, 8, q, 0, 1, 1f, 0f, out, 0, scratch));
        }
    }

    /** softmax(scale · q·k, soft-capped) · v over positions first..position, in double. */
    private static double[] plainSoftmaxAttention(Sequence s, int layer, int position, int first, int kvHead, int headDim,
                                                  float[] q, int qAt, double scale, float softcap) {
        boolean half = s.type() == KvType.F16;
        double[] scores = new double[position + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = first; t <= position; t++) {
            double dot = 0;
            for (int d = 0; d < headDim; d++) {
                long at = s.keyOffset(layer, t) + (long) (kvHead * headDim + d) * s.keyStride();
                dot += q[qAt + d] * (half ? Float.float16ToFloat(s.pool().keys().get(dev.rewind.engine.tensor.Simd.I16_LE, at))
                        : s.pool().keys().get(dev.rewind.engine.tensor.Simd.F32_LE, at));
            }
            double sc = dot * scale;
            if (softcap > 0) {
                sc = softcap * Math.tanh(sc / softcap);
            }
            scores[t] = sc;
            max = Math.max(max, sc);
        }
        double sum = 0;
        for (int t = first; t <= position; t++) {
            scores[t] = Math.exp(scores[t] - max);
            sum += scores[t];
        }
        double[] out = new double[headDim];
        for (int t = first; t <= position; t++) {
            for (int e = 0; e < headDim; e++) {
                long at = s.valueOffset(layer, t) + (long) (kvHead * headDim + e) * s.type().bytes();
                double v = half ? Float.float16ToFloat(s.pool().values().get(dev.rewind.engine.tensor.Simd.I16_LE, at))
                        : s.pool().values().get(dev.rewind.engine.tensor.Simd.F32_LE, at);
                out[e] += scores[t] / sum * v;
            }
        }
        assertTrue(sum > 0);
        return out;
    }
}
