package dev.rewind.tokenizer.chat;

/**
 * One token of a template.
 *
 * @param kind   what it is
 * @param text   its text: the characters of a text run, a name, an operator, a string literal's value
 *               (escapes resolved) or a number's digits
 * @param offset where it starts in the template's original source
 */
record Token(Kind kind, String text, int offset) {

    enum Kind {
        /** Template text outside tags (whitespace control may have trimmed it). */
        TEXT,
        /** The content of a {@code {% raw %}} block: text that whitespace control never trims. */
        RAW_TEXT,
        /** A {@code {# comment #}}: produces nothing, but ends a text run like a tag does. */
        COMMENT,
        BLOCK_OPEN, BLOCK_CLOSE, EXPRESSION_OPEN, EXPRESSION_CLOSE,
        NAME, STRING, NUMBER,
        /** {@code -} or {@code +} in front of an operand. */
        SIGN,
        ADDITIVE, MULTIPLICATIVE, POWER, COMPARISON, ASSIGN,
        LEFT_PAREN, RIGHT_PAREN, LEFT_BRACKET, RIGHT_BRACKET, LEFT_BRACE, RIGHT_BRACE,
        COMMA, DOT, COLON, PIPE,
        /** The end of the template. */
        END
    }

    boolean is(Kind k) {
        return kind == k;
    }

    boolean isName(String name) {
        return kind == Kind.NAME && text.equals(name);
    }

    /** How the token reads in an error message. */
    String describe() {
        return switch (kind) {
            case END -> "the end of the template";
            case TEXT, RAW_TEXT -> "template text";
            case COMMENT -> "a comment";
            case STRING -> "the string '" + text + "'";
            case NAME -> "'" + text + "'";
            default -> "'" + text + "'";
        };
    }
}
