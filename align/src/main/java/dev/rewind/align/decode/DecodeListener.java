package dev.rewind.align.decode;

/**
 * Receives a decoding as it happens, on the decoding thread. Both methods default to doing nothing;
 * a listener that throws stops the decoding with that exception.
 */
public interface DecodeListener {

    /** A listener that ignores everything. */
    DecodeListener NONE = new DecodeListener() {
    };

    /**
     * The next piece of the answer's text, never empty. The pieces of one request concatenate to
     * {@link Decoded#text()}.
     */
    default void onText(String piece) {
    }

    /**
     * A token chosen (plain, DeRa, Aligner: one at a time; RAIN: a committed span at a time), end
     * tokens included; the tokens of one request are {@link Decoded#tokens()}.
     */
    default void onToken(int token) {
    }
}
