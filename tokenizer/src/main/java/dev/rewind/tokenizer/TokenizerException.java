package dev.rewind.tokenizer;

import java.io.Serial;

/** Tokenizer metadata that is missing, malformed or not supported; the message names the key. */
public final class TokenizerException extends IllegalArgumentException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** An exception with the given message, which should name the offending metadata key. */
    public TokenizerException(String message) {
        super(message);
    }

    /** An exception with the given message and cause. */
    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
