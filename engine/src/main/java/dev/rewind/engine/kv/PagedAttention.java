package dev.rewind.engine.kv;

import dev.rewind.engine.tensor.Simd;
import dev.rewind.engine.tensor.MathOps;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Attention of query heads over a sequence's KV pages, a page at a time, in one pass (the online
 * softmax of flash attention: no buffer of all scores, so a long prompt needs no n × n memory).
 * Because a page stores its keys transposed ({@link PagePool}), the scores of
 * {@link Simd#LANES} positions are one vector: per key dimension {@code d}, one load of the
 * positions' values and one multiply-add with the query's {@code q[d]}.
 *
 * <p>For a query head with query {@code q} at {@code position}, over the visible positions
 * {@code t} ({@code firstVisible ≤ t ≤ position}): {@code s_t = scale · (q · k_t)}, then, if
 * {@code softcap > 0}, {@code s_t = softcap · tanh(s_t / softcap)}; the result is
 * {@code Σ_t softmax(s)_t · v_t}. The positions are visited in order, in chunks of
 * {@link Simd#LANES} within a page; the running maximum, the sum of exponentials and the weighted
 * sum are rescaled when the maximum grows. The arithmetic depends only on the query, the cache
 * contents and the position (never on which other rows are computed, or how), and uses
 * {@link MathOps#exp}, so the same inputs always give the same bits.
 *
 * <p>Both {@link KvType}s are read; F16 pages are converted exactly.
 */
public final class PagedAttention {

    private PagedAttention() {
    }

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int LANES = Simd.LANES;

    /** Buffers one thread reuses across calls; {@link #attend} allocates nothing once they have grown. */
    public static final class Scratch {
        private float[] acc = new float[0];
        private final float[] probs = new float[LANES];

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }
    }

    /**
     * Attention of {@code heads} query heads that share KV head {@code kvHead}: head {@code h}'s
     * query is {@code q[qAt + h·headDim ..]} and its result goes to {@code out[outAt + h·headDim ..]}.
     *
     * @param cache        the sequence; positions {@code firstVisible .. position} must be written
     * @param layer        the layer whose keys and values are read
     * @param position     the query's position (the last visible one)
     * @param firstVisible the first visible position (0, or the start of a sliding window)
     * @param kvHead       which KV head of the cache's rows
     * @param headDim      values per head
     * @param scale        score multiplier, usually {@code 1/√headDim}
     * @param softcap      soft-capping of the scores, or 0 for none
     */
    public static void attend(Sequence cache, int layer, int position, int firstVisible, int kvHead, int headDim,
                              float[] q, int qAt, int heads, float scale, float softcap, float[] out, int outAt, Scratch scratch) {
        Objects.checkIndex(position, cache.capacity());
        if (firstVisible < 0 || firstVisible > position) {
            throw new IllegalArgumentException("first visible position " + firstVisible + " for a query at " + position);
        }
        Objects.checkFromIndexSize(qAt, heads * headDim, q.length);
        Objects.checkFromIndexSize(outAt, heads * headDim, out.length);
        if ((long) (kvHead + 1) * headDim > cache.kvDim()) {
            throw new IndexOutOfBoundsException("KV head " + kvHead + " of " + headDim + " values in rows of " + cache.kvDim());
        }
        float[] acc = scratch.acc(headDim);
        for (int h = 0; h < heads; h++) {
            head(cache, layer, position, firstVisible, kvHead, headDim, q, qAt + h * headDim, scale, softcap, acc, scratch.probs);
            System.arraycopy(acc, 0, out, outAt + h * headDim, headDim);
        }
    }

    /** One query head; its result is left in {@code acc[0 .. headDim)}. */
    private static void head(Sequence cache, int layer, int position, int firstVisible, int kvHead, int headDim,
                             float[] q, int qAt, float scale, float softcap, float[] acc, float[] probs) {
        PagePool pool = cache.pool();
        int pageSize = pool.pageSize();
        boolean half = pool.type() == KvType.F16;
        int bytes = pool.type().bytes();
        long keyStride = pool.keyStride();
        long rowBytes = (long) pool.kvDim() * bytes;
        Arrays.fill(acc, 0, headDim, 0f);
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int start = firstVisible - firstVisible % pageSize; start <= position; start += pageSize) {
            long keyBase = cache.keyOffset(layer, start) + (long) kvHead * headDim * keyStride;
            long valueBase = cache.valueOffset(layer, start) + (long) kvHead * headDim * bytes;
            MemorySegment keySegment = cache.keys(layer, start);
            MemorySegment valueSegment = cache.values(layer, start);
            for (int c = 0; c < pageSize && start + c <= position; c += LANES) {
                int first = start + c;
                int lanes = Math.min(Math.min(LANES, pageSize - c), position - first + 1);
                if (first + lanes <= firstVisible) {
                    continue;
                }
                long keys = keyBase + (long) c * bytes;
                boolean whole = c + LANES <= pageSize;
                if (half) {
                    scoresF16(keySegment, keys, keyStride, whole, lanes, headDim, q, qAt, scale, probs);
                } else {
                    scoresF32(keySegment, keys, keyStride, whole, lanes, headDim, q, qAt, scale, probs);
                }
                if (softcap > 0f) {
                    for (int i = 0; i < LANES; i++) {
                        probs[i] /= softcap;
                    }
                    MathOps.tanh(probs, 0, LANES);
                    for (int i = 0; i < LANES; i++) {
                        probs[i] *= softcap;
                    }
                }
                // lanes [max(0, firstVisible - first), lanes) are visible
                VectorMask<Float> visible = F.indexInRange(0, lanes).andNot(F.indexInRange(0, firstVisible - first));
                FloatVector s = FloatVector.fromArray(F, probs, 0).blend(Float.NEGATIVE_INFINITY, visible.not());
                float chunkMax = s.reduceLanes(VectorOperators.MAX);
                if (chunkMax > max) {
                    float correction = MathOps.Scalar.exp(max - chunkMax);
                    sum *= correction;
                    scale(acc, headDim, correction);
                    max = chunkMax;
                }
                s.sub(max).intoArray(probs, 0);
                MathOps.exp(probs, 0, LANES);
                float chunkSum = 0f;
                for (int i = 0; i < LANES; i++) {
                    chunkSum += probs[i];
                }
                sum += chunkSum;
                long values = valueBase + (long) c * rowBytes;
                if (half) {
                    accumulateF16(valueSegment, values, rowBytes, lanes, headDim, probs, acc);
                } else {
                    accumulateF32(valueSegment, values, rowBytes, lanes, headDim, probs, acc);
                }
            }
        }
        scale(acc, headDim, 1f / sum);
    }

    // The kernels below hold nothing but Vector API calls in their loops and pass no vectors
    // between methods: the JIT always inlines Vector API calls but not always a method of ours,
    // and a vector passed to or returned from a method that is not inlined lives in a heap box
    // (measured several times slower). So the F32 and F16 versions are written out apart.

    /**
     * {@code out[i] = scale · (q · k_i)} for the {@code LANES} positions whose keys start at
     * {@code at} (F32 pages); positions past {@code lanes} get whatever (the caller masks them).
     * Two partial sums over the key's values (even and odd ones), added at the end. (Small on
     * purpose: with more live vectors the JIT's first tier fails to compile the method and the
     * second never gets to it.)
     */
    private static void scoresF32(MemorySegment keys, long at, long keyStride, boolean whole, int lanes, int headDim,
                                  float[] q, int qAt, float scale, float[] out) {
        VectorMask<Float> inPage = F.indexInRange(0, whole ? LANES : lanes);
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        int d = 0;
        for (; d + 2 <= headDim; d += 2, at += 2 * keyStride) {
            s0 = FloatVector.fromMemorySegment(F, keys, at, Simd.LE, inPage).fma(FloatVector.broadcast(F, q[qAt + d]), s0);
            s1 = FloatVector.fromMemorySegment(F, keys, at + keyStride, Simd.LE, inPage).fma(FloatVector.broadcast(F, q[qAt + d + 1]), s1);
        }
        if (d < headDim) {
            s0 = FloatVector.fromMemorySegment(F, keys, at, Simd.LE, inPage).fma(FloatVector.broadcast(F, q[qAt + d]), s0);
        }
        s0.add(s1).mul(scale).intoArray(out, 0);
    }

    /**
     * {@link #scoresF32} for F16 pages. A half becomes a float exactly by moving its magnitude
     * bits into a float's place (which is the value times 2^-112), multiplying by 2^112 and copying
     * the sign; the values are finite, as the cache stores {@code Float.floatToFloat16} of finite
     * activations or of their overflow to ±∞ (which this maps to a huge finite value).
     */
    private static void scoresF16(MemorySegment keys, long at, long keyStride, boolean whole, int lanes, int headDim,
                                  float[] q, int qAt, float scale, float[] out) {
        VectorMask<Short> inPage = Simd.S.indexInRange(0, whole ? LANES : lanes);
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        int d = 0;
        for (; d + 2 <= headDim; d += 2, at += 2 * keyStride) {
            IntVector k0h = (IntVector) ShortVector.fromMemorySegment(Simd.S, keys, at, Simd.LE, inPage).convertShape(VectorOperators.S2I, Simd.I, 0);
            FloatVector k0 = k0h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(k0h.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            IntVector k1h = (IntVector) ShortVector.fromMemorySegment(Simd.S, keys, at + keyStride, Simd.LE, inPage).convertShape(VectorOperators.S2I, Simd.I, 0);
            FloatVector k1 = k1h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(k1h.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            s0 = k0.fma(FloatVector.broadcast(F, q[qAt + d]), s0);
            s1 = k1.fma(FloatVector.broadcast(F, q[qAt + d + 1]), s1);
        }
        if (d < headDim) {
            IntVector k0h = (IntVector) ShortVector.fromMemorySegment(Simd.S, keys, at, Simd.LE, inPage).convertShape(VectorOperators.S2I, Simd.I, 0);
            FloatVector k0 = k0h.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                    .reinterpretAsInts().or(k0h.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
            s0 = k0.fma(FloatVector.broadcast(F, q[qAt + d]), s0);
        }
        s0.add(s1).mul(scale).intoArray(out, 0);
    }

    /** {@code acc += Σ_{i < lanes} probs[i] · v_i} for the F32 value rows starting at {@code row}, a vector of values at a time. */
    private static void accumulateF32(MemorySegment values, long row, long rowBytes, int lanes, int headDim, float[] probs, float[] acc) {
        int e = 0;
        for (; e + LANES <= headDim; e += LANES) {
            FloatVector a = FloatVector.fromArray(F, acc, e);
            long v = row + (long) e * Float.BYTES;
            for (int i = 0; i < lanes; i++, v += rowBytes) {
                a = FloatVector.fromMemorySegment(F, values, v, Simd.LE).fma(FloatVector.broadcast(F, probs[i]), a);
            }
            a.intoArray(acc, e);
        }
        if (e < headDim) {
            VectorMask<Float> part = F.indexInRange(e, headDim);
            FloatVector a = FloatVector.fromArray(F, acc, e, part);
            long v = row + (long) e * Float.BYTES;
            for (int i = 0; i < lanes; i++, v += rowBytes) {
                a = FloatVector.fromMemorySegment(F, values, v, Simd.LE, part).fma(FloatVector.broadcast(F, probs[i]), a);
            }
            a.intoArray(acc, e, part);
        }
    }

    /** {@link #accumulateF32} for F16 value rows (halves converted as in {@link #scoresF16}). */
    private static void accumulateF16(MemorySegment values, long row, long rowBytes, int lanes, int headDim, float[] probs, float[] acc) {
        for (int e = 0; e < headDim; e += LANES) {
            VectorMask<Float> part = F.indexInRange(e, headDim);
            VectorMask<Short> halves = Simd.S.indexInRange(e, headDim);
            FloatVector a = FloatVector.fromArray(F, acc, e, part);
            long v = row + (long) e * Short.BYTES;
            for (int i = 0; i < lanes; i++, v += rowBytes) {
                IntVector wh = (IntVector) ShortVector.fromMemorySegment(Simd.S, values, v, Simd.LE, halves).convertShape(VectorOperators.S2I, Simd.I, 0);
                FloatVector w = wh.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f)
                        .reinterpretAsInts().or(wh.lanewise(VectorOperators.LSHL, 16).and(0x8000_0000)).reinterpretAsFloats();
                a = w.fma(FloatVector.broadcast(F, probs[i]), a);
            }
            a.intoArray(acc, e, part);
        }
    }

    private static void scale(float[] acc, int n, float factor) {
        for (int e = 0; e < n; e++) {
            acc[e] *= factor;
        }
    }

    /**
     * The definition {@link #attend} follows, for one head, in plain scalar code with the same
     * operations in the same order (for tests).
     */
    public static void attendScalar(Sequence cache, int layer, int position, int firstVisible, int kvHead, int headDim,
                                    float[] q, int qAt, float scale, float softcap, float[] out, int outAt) {
        PagePool pool = cache.pool();
        int pageSize = pool.pageSize();
        boolean half = pool.type() == KvType.F16;
        float[] acc = new float[headDim];
        float[] probs = new float[LANES];
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int start = firstVisible - firstVisible % pageSize; start <= position; start += pageSize) {
            for (int c = 0; c < pageSize && start + c <= position; c += LANES) {
                int first = start + c;
                int lanes = Math.min(Math.min(LANES, pageSize - c), position - first + 1);
                if (first + lanes <= firstVisible) {
                    continue;
                }
                float[] s = new float[LANES];
                float chunkMax = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < LANES; i++) {
                    if (i >= lanes || first + i < firstVisible) {
                        s[i] = Float.NEGATIVE_INFINITY;
                    } else {
                        // two partial sums over the key's values: even and odd ones
                        float p0 = 0f;
                        float p1 = 0f;
                        int d = 0;
                        for (; d + 2 <= headDim; d += 2) {
                            p0 = Math.fma(readKey(cache, layer, first + i, kvHead * headDim + d, half), q[qAt + d], p0);
                            p1 = Math.fma(readKey(cache, layer, first + i, kvHead * headDim + d + 1, half), q[qAt + d + 1], p1);
                        }
                        if (d < headDim) {
                            p0 = Math.fma(readKey(cache, layer, first + i, kvHead * headDim + d, half), q[qAt + d], p0);
                        }
                        s[i] = (p0 + p1) * scale;
                        if (softcap > 0f) {
                            s[i] = MathOps.Scalar.tanh(s[i] / softcap) * softcap;
                        }
                    }
                    chunkMax = Math.max(chunkMax, s[i]);
                }
                if (chunkMax > max) {
                    float correction = MathOps.Scalar.exp(max - chunkMax);
                    sum *= correction;
                    for (int e = 0; e < headDim; e++) {
                        acc[e] *= correction;
                    }
                    max = chunkMax;
                }
                float chunkSum = 0f;
                for (int i = 0; i < LANES; i++) {
                    probs[i] = MathOps.Scalar.exp(s[i] - max);
                    chunkSum += probs[i];
                }
                sum += chunkSum;
                for (int e = 0; e < headDim; e++) {
                    for (int i = 0; i < lanes; i++) {
                        acc[e] = Math.fma(readValue(cache, layer, first + i, kvHead * headDim + e, half), probs[i], acc[e]);
                    }
                }
            }
        }
        float inverse = 1f / sum;
        for (int e = 0; e < headDim; e++) {
            out[outAt + e] = acc[e] * inverse;
        }
    }

    private static float readKey(Sequence cache, int layer, int position, int d, boolean half) {
        long at = cache.keyOffset(layer, position) + d * cache.keyStride();
        MemorySegment keys = cache.keys(layer, position);
        return half ? Float.float16ToFloat(keys.get(Simd.I16_LE, at)) : keys.get(Simd.F32_LE, at);
    }

    private static float readValue(Sequence cache, int layer, int position, int e, boolean half) {
        long at = cache.valueOffset(layer, position) + (long) e * cache.type().bytes();
        MemorySegment values = cache.values(layer, position);
        return half ? Float.float16ToFloat(values.get(Simd.I16_LE, at)) : values.get(Simd.F32_LE, at);
    }
}
