package dev.rewind.align.rain;

import java.util.Optional;

/**
 * The outcome of one RAIN request and what it cost.
 *
 * @param prompt          the generator's input text (after the conversation layout)
 * @param promptTokens    its token ids
 * @param answer          the committed answer text, cut before a new user turn
 * @param answerTokens    the committed answer's token ids
 * @param commits         commits made
 * @param searches        inner iterations run
 * @param stop            why it stopped
 * @param cost            forward tokens by role, KV pages, wall time
 * @param trace           the search tree at every commit, when asked for
 */
public record RainResult(String prompt, int[] promptTokens, String answer, int[] answerTokens, int commits, int searches,
                         StopReason stop, RunCost cost, Optional<RainTrace> trace) {
}
