package dev.rewind.tokenizer.chat;

import java.util.List;

/** A statement of the template language: what a template is a list of. */
sealed interface Stmt {

    int at();

    /** Template text, printed as it is. */
    record Text(int at, String text) implements Stmt {
    }

    /** {@code {{ expression }}}: prints the value. */
    record Output(int at, Expr expression) implements Stmt {
    }

    /** {@code {% if %}...{% elif %}...{% else %}...{% endif %}}; an {@code elif} is an {@code If} alone in {@code otherwise}. */
    record If(int at, Expr test, List<Stmt> then, List<Stmt> otherwise) implements Stmt {
    }

    /**
     * {@code {% for target in iterable if filter %}body{% else %}otherwise{% endfor %}}.
     *
     * @param targets the loop variable, or the names a tuple item is unpacked into ({@code for k, v in ...})
     * @param filter  null without {@code if}
     */
    record For(int at, List<String> targets, boolean unpack, Expr iterable, Expr filter, List<Stmt> body,
               List<Stmt> otherwise) implements Stmt {
    }

    /**
     * {@code {% set target = value %}}, or {@code {% set target %}body{% endset %}} (value null): the
     * target is a name, names to unpack into, or {@code namespace.attribute}.
     */
    record Set(int at, Target target, Expr value, List<Stmt> body) implements Stmt {
    }

    /** What a {@code set} assigns to. */
    sealed interface Target {
        record Names(List<String> names, boolean unpack) implements Target {
        }

        record Attribute(Expr object, String name) implements Target {
        }
    }

    /**
     * {@code {% macro name(params) %}body{% endmacro %}}; {@code varargs} and {@code kwargs} say whether
     * the body reads those names, which then collect the extra positional and keyword arguments.
     */
    record Macro(int at, String name, List<Parameter> parameters, List<Stmt> body, boolean varargs, boolean kwargs)
            implements Stmt {
    }

    /** A macro parameter; {@code fallback} (null if none) is evaluated when the caller leaves it out. */
    record Parameter(String name, Expr fallback) {
    }

    /** {@code {% call(params) macro(args) %}body{% endcall %}}: the macro can call {@code caller(...)} for the body. */
    record CallBlock(int at, List<Parameter> parameters, Expr.Call call, List<Stmt> body, boolean varargs, boolean kwargs)
            implements Stmt {
    }

    /** {@code {% filter name(args) %}body{% endfilter %}}: the rendered body goes through the filter. */
    record FilterBlock(int at, String name, List<Expr.Argument> args, List<Stmt> body) implements Stmt {
    }

    record Break(int at) implements Stmt {
    }

    record Continue(int at) implements Stmt {
    }
}
