package dev.rewind.align.aligner;

import dev.rewind.tokenizer.Tokenizer;

/**
 * Turns a question and an upstream answer into the Aligner's prompt ids, BOS first (as the released
 * checkpoint's model card encodes it), special-token text in the question or answer read as plain
 * text. When the prompt is longer than the budget, the answer is cut from the end — it keeps its
 * beginning, whole characters only — to the longest prefix whose prompt fits.
 */
final class PromptFitter {

    /**
     * A prompt that fits.
     *
     * @param ids       the prompt's token ids
     * @param answer    the answer as it went into the prompt (a prefix of the upstream answer)
     * @param truncated whether the answer was cut
     */
    record Fitted(int[] ids, String answer, boolean truncated) {
    }

    private final AlignerTemplate template;
    private final Tokenizer tokenizer;

    PromptFitter(AlignerTemplate template, Tokenizer tokenizer) {
        this.template = template;
        this.tokenizer = tokenizer;
    }

    int[] encode(String question, String answer) {
        return tokenizer.encode(template.render(question, answer), true, false);
    }

    /**
     * @param budget most prompt tokens
     * @throws IllegalArgumentException if even an empty answer leaves the prompt over the budget
     */
    Fitted fit(String question, String answer, int budget) {
        int[] whole = encode(question, answer);
        if (whole.length <= budget) {
            return new Fitted(whole, answer, false);
        }
        int[] empty = encode(question, "");
        if (empty.length > budget) {
            throw new IllegalArgumentException("the question alone makes a prompt of " + empty.length
                    + " tokens, more than the " + budget + " the aligner's context leaves for it");
        }
        // The longest prefix, in code points, whose prompt fits: binary search, each candidate checked.
        int codePoints = answer.codePointCount(0, answer.length());
        int lo = 0;
        int hi = codePoints - 1;
        int[] best = empty;
        int bestLength = 0;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            String prefix = answer.substring(0, answer.offsetByCodePoints(0, mid));
            int[] ids = encode(question, prefix);
            if (ids.length <= budget) {
                best = ids;
                bestLength = prefix.length();
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return new Fitted(best, answer.substring(0, bestLength), true);
    }
}
