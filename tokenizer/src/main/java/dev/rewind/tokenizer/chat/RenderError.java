package dev.rewind.tokenizer.chat;

import java.io.Serial;

/**
 * A failure deep inside rendering, before its place in the template is known. The interpreter
 * turns it into a {@link TemplateException} at the innermost expression or statement that was
 * being evaluated, so helpers (filters, methods, tests) need not carry positions around.
 */
class RenderError extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    private final TemplateException.Kind kind;

    RenderError(String message) {
        this(TemplateException.Kind.RENDER, message);
    }

    RenderError(TemplateException.Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    TemplateException.Kind kind() {
        return kind;
    }
}
