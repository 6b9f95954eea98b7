package dev.rewind.tokenizer;

import java.io.Serial;

/**
 * A tokenizer description that is missing, malformed or not supported. The message is one line that names the
 * place: the metadata key of a GGUF file, or the file and JSON path of a Hugging Face folder
 * ({@code tokenizer.json: model.merges[12]: ...}). Whatever the message quotes from the file, it goes
 * through {@link VisibleText#visible}, so it cannot add a line or drive a terminal.
 */
public final class TokenizerException extends IllegalArgumentException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** An exception with the given message, which should name the offending key or path. */
    public TokenizerException(String message) {
        super(VisibleText.visible(message));
    }

    /** An exception with the given message and cause. */
    public TokenizerException(String message, Throwable cause) {
        super(VisibleText.visible(message), cause);
    }
}
