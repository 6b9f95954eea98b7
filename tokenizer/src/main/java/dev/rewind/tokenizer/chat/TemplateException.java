package dev.rewind.tokenizer.chat;

import java.io.Serial;

/**
 * A chat template that cannot be parsed or rendered. The message is one visible line (what it quotes
 * goes through {@link dev.rewind.tokenizer.VisibleText#visible}) that says what went wrong and where in the template (line and column, counted from 1 in the template's source); the
 * template's own words ({@link #reason()}) are kept apart, so a caller can show exactly what a
 * template passed to {@code raise_exception}.
 */
public final class TemplateException extends IllegalArgumentException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What kind of failure this is. */
    public enum Kind {
        /** The template is not valid template syntax; found by {@link ChatTemplate#parse}. */
        SYNTAX("syntax error"),
        /** The template called {@code raise_exception(message)}, typically to refuse a conversation. */
        RAISED("raised an exception"),
        /** An operation failed while rendering, e.g. adding a number to a list or calling something undefined. */
        RENDER("failed"),
        /** Rendering went past a {@link RenderOptions.Limits limit}: too deep, too many iterations, too much text. */
        LIMIT("went past a limit");

        private final String verb;

        Kind(String verb) {
            this.verb = verb;
        }
    }

    private final Kind kind;
    private final int line;
    private final int column;
    private final String reason;

    TemplateException(Kind kind, int line, int column, String reason) {
        super(format(kind, line, column, reason));
        this.kind = kind;
        this.line = line;
        this.column = column;
        this.reason = reason;
    }

    /** The exception for a failure at {@code offset} of {@code source}, with its line and column worked out. */
    static TemplateException at(String source, int offset, Kind kind, String reason) {
        int line = 1;
        int lineStart = 0;
        int end = Math.min(offset, source.length());
        for (int i = 0; i < end; i++) {
            if (source.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new TemplateException(kind, line, end - lineStart + 1, reason);
    }

    private static String format(Kind kind, int line, int column, String reason) {
        // The reason may quote the template or a raised message: controls, bidi overrides and lone surrogates
        // become visible escapes too, so the message cannot add a line or drive a terminal.
        String oneLine = dev.rewind.tokenizer.VisibleText.visible(reason);
        return "chat template " + kind.verb + " at line " + line + ", column " + column + ": " + oneLine;
    }

    public Kind kind() {
        return kind;
    }

    /** The line of the template where it failed, from 1. */
    public int line() {
        return line;
    }

    /** The column within {@link #line()}, from 1, counted in UTF-16 units. */
    public int column() {
        return column;
    }

    /** What went wrong, without the position; for {@link Kind#RAISED} exactly the template's message. */
    public String reason() {
        return reason;
    }
}
