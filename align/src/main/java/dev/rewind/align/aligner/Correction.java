package dev.rewind.align.aligner;

import dev.rewind.engine.generate.GenerationContext;

/**
 * What the Aligner made of one question and answer.
 *
 * @param text       the corrected answer: the completion only (never the prompt), without the end
 *                   token, leading and trailing whitespace removed
 * @param truncated  whether the upstream answer was cut from the end to fit the Aligner's context
 * @param answerUsed the answer as the Aligner saw it (the upstream answer, or its beginning when truncated)
 * @param result     the generation: prompt and completion ids, stop reason, timings, top logits
 */
public record Correction(String text, boolean truncated, String answerUsed, GenerationContext.Result result) {
}
