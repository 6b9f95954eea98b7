package dev.rewind.engine.tensor;

/**
 * How a model's matrix products are computed.
 *
 * <ul>
 *   <li>{@link #EXACT} — float32 activations against exactly dequantized weights, read in place
 *       from the file. This is plain float math: it agrees with a float64 evaluation of the same
 *       weights to about 1e-5 in the logits, for every weight type.</li>
 *   <li>{@link #FAST} — per block layout, the kernel that measured fastest on this project's
 *       benchmarks within llama.cpp's own agreement with float math: the quantized weights are
 *       regrouped once at load ({@link Q4_0Packed}, {@link Q8_0Packed}) so that a vector lane
 *       holds one row, and Q4_0 rows are multiplied in 16-bit integer lanes against
 *       activations quantized to 8 bits ({@link Q8Rows}), as ggml multiplies them. Q8_0 and the
 *       16- and 32-bit float types keep float activations, so on those types FAST differs from
 *       EXACT only in the order of the sums.</li>
 * </ul>
 */
public enum Precision {
    EXACT,
    FAST
}
