package dev.rewind.tokenizer;

/**
 * The type of a vocabulary entry, as stored in {@code tokenizer.ggml.token_type} (the values are
 * llama.cpp's {@code llama_token_type} codes).
 */
public enum TokenType {
    /** Code 0: no type recorded. Such tokens decode to nothing, like llama.cpp's. */
    UNDEFINED(0),
    /** Code 1: an ordinary piece of text. */
    NORMAL(1),
    /** Code 2: the unknown token. */
    UNKNOWN(2),
    /** Code 3: a control token such as BOS or EOS; text only when parsed as special. */
    CONTROL(3),
    /** Code 4: a user-defined token, always split out of the text before tokenization. */
    USER_DEFINED(4),
    /** Code 5: an unused slot; it decodes to nothing. */
    UNUSED(5),
    /** Code 6: a byte token {@code <0xNN>} of a SentencePiece vocabulary. */
    BYTE(6);

    private final int code;

    TokenType(int code) {
        this.code = code;
    }

    /** The GGUF code of this type. */
    public int code() {
        return code;
    }

    /**
     * The type for a GGUF code. As in llama.cpp, a code outside 0–6 counts as {@link #UNDEFINED}.
     */
    public static TokenType fromCode(int code) {
        for (TokenType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return UNDEFINED;
    }
}
