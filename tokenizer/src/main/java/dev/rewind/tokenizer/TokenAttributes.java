package dev.rewind.tokenizer;

/**
 * Bit flags describing how a token behaves, after llama.cpp's {@code llama_token_attr}. They start
 * from the token's {@link TokenType} and may gain flags the type does not express: a token whose text
 * marks the end of a turn becomes CONTROL, and some vocabularies strip spaces next to special tokens.
 */
final class TokenAttributes {

    static final int UNDEFINED = 0;
    static final int UNKNOWN = 1 << 0;
    static final int UNUSED = 1 << 1;
    static final int NORMAL = 1 << 2;
    static final int CONTROL = 1 << 3;
    static final int USER_DEFINED = 1 << 4;
    static final int BYTE = 1 << 5;
    /** Whitespace to the left of this special token is removed when it is split out of the text. */
    static final int LSTRIP = 1 << 7;
    /** Whitespace to the right of this special token is removed when it is split out of the text. */
    static final int RSTRIP = 1 << 8;

    /** Tokens matched in the text before tokenization, when special parsing is on. */
    static final int SPECIAL_CANDIDATE = CONTROL | USER_DEFINED | UNKNOWN;

    /** Tokens that decode to their raw text. */
    static final int VERBATIM = CONTROL | UNKNOWN | USER_DEFINED;

    private TokenAttributes() {
    }

    /** The attributes a token of type {@code type} starts with. */
    static int of(TokenType type) {
        return switch (type) {
            case UNDEFINED -> UNDEFINED;
            case NORMAL -> NORMAL;
            case UNKNOWN -> UNKNOWN;
            case CONTROL -> CONTROL;
            case USER_DEFINED -> USER_DEFINED;
            case UNUSED -> UNUSED;
            case BYTE -> BYTE;
        };
    }

    static boolean has(int attributes, int flag) {
        return (attributes & flag) != 0;
    }
}
