package dev.rewind.models;

/**
 * Rotary position embedding. Pair {@code i} of a head (i &lt; dimensions/2) is rotated by the angle
 * {@code position × base^(−2i/dimensions) / factor[i]}, where {@code factor} is the optional
 * {@code rope_freqs} tensor (Llama-3 style scaling, or LongRoPE's long/short factors; absent means 1)
 * and positions are first divided by a linear scaling factor. The rotated pairs are also multiplied
 * by {@code attentionFactor} (LongRoPE's magnitude correction, ggml's "mscale"; 1 for none), so
 * the scores of rotated dimensions grow by its square. Angles are computed in double precision.
 *
 * @param dimensions      how many leading dimensions of each head are rotated
 * @param base            frequency base ({@code rope.freq_base}, default 10000)
 * @param linearScale     positions are divided by this (1 = no scaling)
 * @param freqFactors     per-pair divisors of the angle, or {@code null}
 * @param style           which elements form a pair
 * @param attentionFactor multiplier of the rotated values (1 = none)
 */
public record Rope(int dimensions, double base, double linearScale, float[] freqFactors, Style style, double attentionFactor) {

    /** How the rotated pairs are laid out in a head. */
    public enum Style {
        /** Adjacent pairs (x[2i], x[2i+1]): llama's "NORM" rope. */
        ADJACENT,
        /** Halves (x[i], x[i + d/2]): "NEOX" rope (Qwen2, Gemma, Phi-3). */
        HALVES
    }

    public Rope {
        if (dimensions <= 0 || dimensions % 2 != 0) {
            throw new IllegalArgumentException("rope dimension count must be a positive even number, got " + dimensions);
        }
        if (freqFactors != null && freqFactors.length != dimensions / 2) {
            throw new IllegalArgumentException("rope_freqs has " + freqFactors.length + " entries, expected " + dimensions / 2);
        }
        if (!(attentionFactor > 0) || !Double.isFinite(attentionFactor)) {
            throw new IllegalArgumentException("rope attention factor must be a finite positive number, got " + attentionFactor);
        }
        freqFactors = freqFactors == null ? null : freqFactors.clone();
    }

    /** A rope without a magnitude correction. */
    public Rope(int dimensions, double base, double linearScale, float[] freqFactors, Style style) {
        this(dimensions, base, linearScale, freqFactors, style, 1.0);
    }

    /** Angular frequency of pair {@code i}, including the frequency factor and linear scaling. */
    public double frequency(int i) {
        double f = Math.pow(base, -2.0 * i / dimensions) / linearScale;
        return freqFactors == null ? f : f / freqFactors[i];
    }

    /**
     * Rotates every head in {@code x[offset ..]} ({@code heads} heads of {@code headDim}) in place by
     * the angles whose cosines and sines start at {@code cos[anglesAt]} and {@code sin[anglesAt]}
     * (both already multiplied by {@link #attentionFactor()}).
     */
    public void rotate(float[] x, int offset, int heads, int headDim, float[] cos, float[] sin, int anglesAt) {
        int half = dimensions / 2;
        for (int h = 0; h < heads; h++) {
            int base = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = style == Style.ADJACENT ? base + 2 * i : base + i;
                int b = style == Style.ADJACENT ? a + 1 : a + half;
                float x0 = x[a];
                float x1 = x[b];
                float c = cos[anglesAt + i];
                float s = sin[anglesAt + i];
                x[a] = x0 * c - x1 * s;
                x[b] = x0 * s + x1 * c;
            }
        }
    }
}
