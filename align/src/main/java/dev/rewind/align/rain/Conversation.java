package dev.rewind.align.rain;

import java.util.List;
import java.util.Objects;

/**
 * How a task is laid out as text: the prompt the generator continues, the marker that starts a
 * user turn (a new one ends the answer), and how the judge is shown the exchange.
 *
 * <p>The judged text is the decoded state from the last turn marker of the prompt up to (not
 * including) the next one — for HH the 5th {@code Human:} up to the 6th, as the official script
 * slices it — then rewritten by {@code rewrites} in order, optionally cut after its last period and
 * stripped. With no marker in the prompt the whole text is judged.
 *
 * @param promptTemplate     the generator's input, {@code {prompt}} standing for the user's text
 * @param turnMarker         text that starts a user turn, e.g. {@code Human:}; empty for none
 * @param rewrites           replacements applied to the judged text, in order
 * @param cutAfterLastPeriod cut the judged text after its last {@code .} (TruthfulQA)
 * @param strip              strip surrounding white space from the judged text (TruthfulQA)
 */
public record Conversation(String promptTemplate, String turnMarker, List<Rewrite> rewrites, boolean cutAfterLastPeriod,
                           boolean strip) {

    /** The placeholder of the user's text in {@link #promptTemplate}. */
    public static final String PROMPT = "{prompt}";

    /** The prompt used as it is, no turn marker: the whole decoded text is judged. */
    public static final Conversation RAW = new Conversation(PROMPT, "", List.of(), false, false);

    /** Replace every {@code from} with {@code to}. */
    public record Rewrite(String from, String to) {
        public Rewrite {
            Objects.requireNonNull(to, "to");
            if (from == null || from.isEmpty()) {
                throw new IllegalArgumentException("a rewrite needs a non-empty text to replace");
            }
        }
    }

    public Conversation {
        Objects.requireNonNull(promptTemplate, "promptTemplate");
        Objects.requireNonNull(turnMarker, "turnMarker");
        rewrites = List.copyOf(rewrites);
        if (!promptTemplate.contains(PROMPT)) {
            throw new IllegalArgumentException("the prompt template has no " + PROMPT);
        }
    }

    /** The generator's input for the user's text. */
    public String prompt(String userText) {
        return promptTemplate.replace(PROMPT, userText);
    }

    /** Turn markers in {@code text} (overlapping occurrences counted, as the official script's search does). */
    public int turns(String text) {
        if (turnMarker.isEmpty()) {
            return 0;
        }
        int count = 0;
        for (int i = text.indexOf(turnMarker); i >= 0; i = text.indexOf(turnMarker, i + 1)) {
            count++;
        }
        return count;
    }

    /** {@code text} cut before its {@code (turn + 1)}-th marker (1-based), if it has that many. */
    public String cutBeforeTurn(String text, int turn) {
        int index = nthMarker(text, turn + 1);
        return index < 0 ? text : text.substring(0, index);
    }

    /**
     * The text the judge is shown for {@code fullText} (prompt and answer decoded), whose prompt holds
     * {@code promptTurns} markers.
     */
    public String judgedText(String fullText, int promptTurns) {
        String text = fullText;
        if (promptTurns > 0) {
            text = cutBeforeTurn(text, promptTurns);
            int from = nthMarker(text, promptTurns);
            if (from >= 0) {
                text = text.substring(from);
            }
        }
        for (Rewrite r : rewrites) {
            text = text.replace(r.from(), r.to());
        }
        if (cutAfterLastPeriod) {
            int dot = text.lastIndexOf('.');
            if (dot >= 0) {
                text = text.substring(0, dot + 1);
            }
        }
        return strip ? text.strip() : text;
    }

    /** Index of the {@code n}-th (1-based) marker, or −1. */
    private int nthMarker(String text, int n) {
        if (turnMarker.isEmpty() || n <= 0) {
            return -1;
        }
        int i = text.indexOf(turnMarker);
        for (int k = 1; k < n && i >= 0; k++) {
            i = text.indexOf(turnMarker, i + 1);
        }
        return i;
    }
}
