package dev.rewind.align.rain;

import java.util.List;
import java.util.Objects;

/**
 * A judge's verdict: a hard vote, never a probability.
 *
 * @param score    −1, 0 or +1
 * @param readouts the probabilities behind it, one per prompt the judge read (empty for a scripted judge)
 */
public record Judgement(int score, List<Readout> readouts) {

    /**
     * One prompt's readout.
     *
     * @param prompt  which prompt: {@code good-first}, {@code good-second} or {@code yes-no}
     * @param pFirst  softmax probability of the first label's token ({@code A}, or {@code Yes})
     * @param pSecond softmax probability of the second label's token ({@code B}, or {@code No})
     * @param vote    1 when this prompt voted for the good answer, else 0
     */
    public record Readout(String prompt, double pFirst, double pSecond, int vote) {
        public Readout {
            Objects.requireNonNull(prompt, "prompt");
        }
    }

    /**
     * @throws IllegalArgumentException if the score is not −1, 0 or +1
     */
    public Judgement {
        if (score < -1 || score > 1) {
            throw new IllegalArgumentException("a judgement is -1, 0 or +1, got " + score);
        }
        readouts = List.copyOf(readouts);
    }

    /** A verdict with no readouts (scripted judges). */
    public static Judgement of(int score) {
        return new Judgement(score, List.of());
    }

    /** The two-order vote: {@code a + b − 1} for votes {@code a, b ∈ {0, 1}}. */
    public static int twoOrderScore(int goodFirstVote, int goodSecondVote) {
        if ((goodFirstVote | goodSecondVote) >>> 1 != 0) {
            throw new IllegalArgumentException("votes are 0 or 1, got " + goodFirstVote + " and " + goodSecondVote);
        }
        return goodFirstVote + goodSecondVote - 1;
    }
}
