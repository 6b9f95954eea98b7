package dev.rewind.align.dera;

import java.util.Arrays;

/**
 * The arithmetic of a weighted logit mixture, {@code h = Σ wᵢ·hᵢ}, with the two rules that keep it
 * exact and free of NaN:
 * <ul>
 *   <li>a component whose weight is 0 is skipped entirely, so DeRa's {@code λ·hA + (1−λ)·hR} is
 *       bit-for-bit {@code hR} at λ = 0 and {@code hA} at λ = 1, whatever the other row holds
 *       (even −∞, where {@code 0·(−∞)} would be NaN);</li>
 *   <li>−∞ in any row with a non-zero weight makes the mixed entry −∞: a token some model rules out
 *       stays ruled out, also when a negative weight (λ &gt; 1 extrapolation) would otherwise turn
 *       it into +∞ or {@code ∞ − ∞ = NaN}.</li>
 * </ul>
 * The sum is taken in component order in float: for two components it is exactly the float value of
 * {@code w₀·h₀ + w₁·h₁}. Entries from {@code usable} on (padding ids) are −∞.
 */
final class LogitMixer {

    private LogitMixer() {
    }

    /**
     * Mixes one row.
     *
     * @param rows    one logits row per component; each at least {@code usable} long
     * @param weights one weight per component, at least one of them non-zero
     * @param usable  entries {@code [0, usable)} are mixed; the rest of {@code out} is set to −∞
     * @param out     the mixed row
     */
    static void mix(float[][] rows, float[] weights, int usable, float[] out) {
        boolean started = false;
        for (int c = 0; c < rows.length; c++) {
            float w = weights[c];
            if (w == 0f) {
                continue;
            }
            float[] row = rows[c];
            if (!started) {
                for (int v = 0; v < usable; v++) {
                    out[v] = w * row[v];
                }
                started = true;
            } else {
                for (int v = 0; v < usable; v++) {
                    out[v] += w * row[v];
                }
            }
        }
        if (!started) {
            throw new IllegalArgumentException("every mixture weight is 0");
        }
        for (int c = 0; c < rows.length; c++) {
            if (weights[c] == 0f) {
                continue;
            }
            float[] row = rows[c];
            for (int v = 0; v < usable; v++) {
                if (row[v] == Float.NEGATIVE_INFINITY) {
                    out[v] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        Arrays.fill(out, usable, out.length, Float.NEGATIVE_INFINITY);
    }
}
