package dev.rewind.server;

import java.util.List;

/**
 * Finds OpenAI {@code stop} strings in generated text that arrives piece by piece, across token
 * boundaries. Text that might be the start of a stop string is held back until the next piece shows
 * whether it is; the stop string itself is never emitted.
 */
final class StopMatcher {

    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    /** Whether a stop string has been seen; nothing is accepted after it. */
    boolean stopped() {
        return stopped;
    }

    /** Adds a piece of text and returns the text now known to precede any stop string. */
    String accept(String piece) {
        if (stopped) {
            return "";
        }
        if (stops.isEmpty()) {
            return piece;
        }
        held.append(piece);
        int first = -1;
        for (String stop : stops) {
            int at = held.indexOf(stop);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        int keep = 0;
        String text = held.toString();
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > keep; k--) {
                if (text.regionMatches(text.length() - k, stop, 0, k)) {
                    keep = k;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** The text held back at the end of generation (it was not the start of a stop string after all). */
    String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }
}
