package dev.rewind.align.decode;

import java.util.List;

/**
 * Turns an answer's growing text into listener pieces that never need taking back: text that may
 * still be the start of a stop string (or, when stripping, white space that may end the answer) is
 * held until it is known not to be, and the first stop string found ends the answer before it.
 * {@link #finish} returns the answer, which the pieces sent concatenate to. Not thread-safe.
 */
final class TextStream {

    private final DecodeListener listener;
    private final List<String> stops;
    private final int stopHold;
    private final boolean strip;
    /** Chars of the raw text already dealt with: sent, or dropped as leading white space. */
    private int emitted;
    private boolean begun;
    /** Where the sent text starts in the raw text (past leading white space when stripping). */
    private int firstVisible;
    private int cut = -1;

    /**
     * @param stops the stop strings (none empty)
     * @param strip leave out leading and trailing white space, as {@link String#strip()} does
     */
    TextStream(DecodeListener listener, List<String> stops, boolean strip) {
        this.listener = listener;
        this.stops = List.copyOf(stops);
        this.stopHold = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
        this.strip = strip;
    }

    /** Whether a stop string has been found. */
    boolean stopped() {
        return cut >= 0;
    }

    /**
     * Offers the raw text so far (the previous text with more at its end) and sends what became final.
     *
     * @param holdBack chars at the end that may still change (0 for text decoded token by token)
     * @return whether a stop string has been found
     */
    boolean update(CharSequence text, int holdBack) {
        if (cut >= 0) {
            return true;
        }
        int found = -1;
        for (String stop : stops) {
            int i = indexOf(text, stop, emitted);
            if (i >= 0 && (found < 0 || i < found)) {
                found = i;
            }
        }
        int end;
        if (found >= 0) {
            cut = found;
            end = found;
        } else {
            end = text.length() - holdBack - stopHold;
        }
        send(text, end);
        return cut >= 0;
    }

    /**
     * The answer for the final raw text (cut at the stop string found, if any; stripped when asked),
     * sending whatever of it was not sent yet.
     */
    String finish(CharSequence text) {
        update(text, 0);
        int end = cut >= 0 ? cut : text.length();
        String answer = text.subSequence(0, Math.min(end, text.length())).toString();
        if (strip) {
            answer = answer.strip();
        }
        int sent = sentLength(text);
        if (answer.length() > sent) {
            listener.onText(answer.substring(sent));
        }
        return answer;
    }

    /** Sends raw text up to {@code end} (less trailing white space when stripping, never half a surrogate pair). */
    private void send(CharSequence text, int end) {
        if (strip) {
            if (!begun) {
                while (emitted < end && Character.isWhitespace(text.charAt(emitted))) {
                    emitted++;
                }
                firstVisible = emitted;
            }
            while (end > emitted && Character.isWhitespace(text.charAt(end - 1))) {
                end--;
            }
        }
        if (end > emitted && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        if (end > emitted) {
            begun = true;
            listener.onText(text.subSequence(emitted, end).toString());
            emitted = end;
        }
    }

    /** Chars of the answer sent so far. */
    private int sentLength(CharSequence text) {
        return begun ? emitted - firstVisible : 0;
    }

    private static int indexOf(CharSequence text, String s, int from) {
        int last = text.length() - s.length();
        for (int i = Math.max(0, from); i <= last; i++) {
            int k = 0;
            while (k < s.length() && text.charAt(i + k) == s.charAt(k)) {
                k++;
            }
            if (k == s.length()) {
                return i;
            }
        }
        return -1;
    }
}
