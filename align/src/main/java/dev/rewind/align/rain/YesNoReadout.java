package dev.rewind.align.rain;

import dev.rewind.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Where the TruthfulQA judge prompt is read and at which ids, as the official code reads it: after the
 * whole prompt (its trailing space included, however the tokenizer splits it), with each label scored by
 * the larger probability of its two spellings — the word-initial one ({@code ▁Yes}, 3869 on LLaMA's
 * vocabulary) and the glued one ({@code Yes}, 8241); {@code ▁No} 1939 and {@code No} 3782. The ids come
 * from the judge's tokenizer: the first token of the label after {@code "( "} and after {@code "("}
 * (where the two spellings are one token, the label has one id).
 *
 * @param tokens the whole prompt's tokens (BOS first where the vocabulary adds it)
 * @param yes    the ids of the good label's spellings
 * @param no     the ids of the bad label's spellings
 */
public record YesNoReadout(int[] tokens, int[] yes, int[] no) {

    public YesNoReadout {
        tokens = tokens.clone();
        yes = yes.clone();
        no = no.clone();
        for (int y : yes) {
            for (int n : no) {
                if (y == n) {
                    throw new IllegalArgumentException("the two labels share the token " + y);
                }
            }
        }
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public int[] yes() {
        return yes.clone();
    }

    @Override
    public int[] no() {
        return no.clone();
    }

    /**
     * @throws IllegalArgumentException when the prompt has no tokens or the labels cannot be told apart
     */
    public static YesNoReadout of(Tokenizer tokenizer, String prompt, String yesLabel, String noLabel) {
        int[] tokens = tokenizer.encode(prompt, true, false);
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the judge prompt has no tokens");
        }
        LabelReadout spaced = LabelReadout.of(tokenizer, "( ", yesLabel, noLabel);
        LabelReadout glued = LabelReadout.of(tokenizer, "(", yesLabel, noLabel);
        return new YesNoReadout(tokens, distinct(spaced.first(), glued.first()), distinct(spaced.second(), glued.second()));
    }

    private static int[] distinct(int a, int b) {
        return a == b ? new int[] {a} : new int[] {a, b};
    }

    /** The largest of {@code probabilities[id]} over {@code ids}. */
    static double best(double[] probabilities, int[] ids) {
        double p = 0;
        for (int id : ids) {
            p = Math.max(p, probabilities[id]);
        }
        return p;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof YesNoReadout r && Arrays.equals(tokens, r.tokens) && Arrays.equals(yes, r.yes) && Arrays.equals(no, r.no);
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(tokens) * 31 + Arrays.hashCode(yes)) * 31 + Arrays.hashCode(no);
    }

    @Override
    public String toString() {
        return "YesNoReadout[" + tokens.length + " tokens, yes=" + Arrays.toString(yes) + ", no=" + Arrays.toString(no) + "]";
    }
}
