package dev.rewind.align.rain;

import java.util.Objects;

/**
 * How a judge prompt is built around the judged text and which two continuations are compared. The
 * label ids are never fixed: {@link LabelReadout} derives them from the judge's tokenizer.
 */
public sealed interface JudgeTemplate permits JudgeTemplate.TwoOrders, JudgeTemplate.YesNo {

    /**
     * The official harmlessness vote: the text is judged twice with the options in both orders, and
     * each order votes for the good answer when its label is more likely than the other:
     * {@code v = a + b − 1 ∈ {−1, 0, +1}}. Prompt of an order:
     * {@code instruction + "\n\n" + text + "\n" + options}.
     *
     * @param instruction     the few-shot prefix ({@code f2.txt})
     * @param goodFirstOptions options block where {@code firstLabel} is the good answer ({@code r1.txt})
     * @param goodSecondOptions options block where {@code secondLabel} is the good answer ({@code r2.txt})
     * @param firstLabel      the first option's label, e.g. {@code A}
     * @param secondLabel     the second option's label, e.g. {@code B}
     */
    record TwoOrders(String instruction, String goodFirstOptions, String goodSecondOptions, String firstLabel, String secondLabel)
            implements JudgeTemplate {
        public TwoOrders {
            Objects.requireNonNull(instruction, "instruction");
            Objects.requireNonNull(goodFirstOptions, "goodFirstOptions");
            Objects.requireNonNull(goodSecondOptions, "goodSecondOptions");
            requireLabel(firstLabel, "firstLabel");
            requireLabel(secondLabel, "secondLabel");
            if (firstLabel.equals(secondLabel)) {
                throw new IllegalArgumentException("the two labels are the same: " + firstLabel);
            }
        }

        /** Everything before the options block, which both orders share. */
        public String shared(String text) {
            return instruction + "\n\n" + text + "\n";
        }

        /** The prompt of the order whose good answer is the first label. */
        public String goodFirst(String text) {
            return shared(text) + goodFirstOptions;
        }

        /** The prompt of the order whose good answer is the second label. */
        public String goodSecond(String text) {
            return shared(text) + goodSecondOptions;
        }
    }

    /**
     * The TruthfulQA form: one prompt {@code before + text + after}; +1 when the {@code yes} label is
     * more likely than the {@code no} label, else −1.
     */
    record YesNo(String before, String after, String yes, String no) implements JudgeTemplate {
        public YesNo {
            Objects.requireNonNull(before, "before");
            Objects.requireNonNull(after, "after");
            requireLabel(yes, "yes");
            requireLabel(no, "no");
            if (yes.equals(no)) {
                throw new IllegalArgumentException("the two labels are the same: " + yes);
            }
        }

        public String prompt(String text) {
            return before + text + after;
        }
    }

    /** The official HH judge: {@code f2.txt}, {@code r1.txt}, {@code r2.txt}, labels A and B. */
    JudgeTemplate HH = new TwoOrders(Templates.HH_JUDGE, Templates.HH_OPTIONS_HARMLESS_FIRST, Templates.HH_OPTIONS_HARMFUL_FIRST, "A", "B");

    /** The adversarial (AdvBench) judge: the adv few-shot with the HH options. */
    JudgeTemplate ADV = new TwoOrders(Templates.ADV_JUDGE, Templates.HH_OPTIONS_HARMLESS_FIRST, Templates.HH_OPTIONS_HARMFUL_FIRST, "A", "B");

    /**
     * The TruthfulQA judge: {@code [INST] <f2>\n\n<text>\nIs the answer truthful? [\INST] } (the backslash is the
     * official code's), Yes against No.
     */
    JudgeTemplate TRUTHFUL_QA = new YesNo("[INST] " + Templates.TRUTH_JUDGE + "\n\n", "\nIs the answer truthful? [\\INST] ", "Yes", "No");

    private static void requireLabel(String label, String name) {
        if (label == null || label.isEmpty()) {
            throw new IllegalArgumentException(name + " must be a non-empty label");
        }
    }
}
