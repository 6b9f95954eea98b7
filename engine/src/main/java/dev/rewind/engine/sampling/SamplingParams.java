package dev.rewind.engine.sampling;

/**
 * How the next token is chosen from a row of logits.
 *
 * <p>The transforms run in this order: repetition penalty, temperature, top-k, top-p, min-p,
 * then a seeded draw. A temperature of 0 (or below) is greedy: the highest logit wins, ties go
 * to the lower id, and the other filters are irrelevant.
 *
 * @param temperature   divides the logits; 0 means greedy
 * @param topK          keep the k most likely tokens; 0 disables
 * @param topP          keep the smallest set whose probability reaches p; 1 disables
 * @param minP          keep tokens whose probability is at least minP × the top probability; 0 disables
 * @param repeatPenalty llama.cpp's repetition penalty over the last {@code repeatLastN} tokens
 *                      (a positive logit is divided by it, a negative one multiplied); 1 disables
 * @param repeatLastN   how many recent tokens (prompt included) the penalty looks at
 * @param seed          seed of the random draw: the same seed gives the same tokens
 */
public record SamplingParams(float temperature, int topK, float topP, float minP,
                             float repeatPenalty, int repeatLastN, long seed) {

    /** Greedy decoding, no penalty. */
    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 64, 0);

    /**
     * @throws IllegalArgumentException naming the parameter that is out of range
     */
    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 disables it), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1] (1 disables it), got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1] (0 disables it), got " + minP);
        }
        if (!(repeatPenalty > 0) || Float.isInfinite(repeatPenalty)) {
            throw new IllegalArgumentException("repeat penalty must be a finite number > 0 (1 disables it), got " + repeatPenalty);
        }
        if (repeatLastN < 0) {
            throw new IllegalArgumentException("repeat-last-n must be >= 0, got " + repeatLastN);
        }
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }
}
