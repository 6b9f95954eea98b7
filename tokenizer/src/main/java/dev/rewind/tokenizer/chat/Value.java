package dev.rewind.tokenizer.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A value inside a running template. Scalars are records; lists and dicts are classes with
 * identity semantics, because templates may change them ({@code ns.x = ...}, {@code list.append(x)})
 * and because {@code ==} between two lists or dicts asks whether they are the same object, as in
 * {@code @huggingface/jinja}. Nothing here ever calls {@code equals} on a list or dict: a dict may
 * contain itself.
 */
sealed interface Value {

    /** A string; its length and indices count UTF-16 units, as JavaScript strings do. */
    record Str(String value) implements Value {
    }

    /** An integer (a JavaScript number without fraction in {@code @huggingface/jinja}). */
    record Int(long value) implements Value {
    }

    /** A floating-point number, printed as JavaScript prints it with {@code .0} kept on whole numbers. */
    record Real(double value) implements Value {
    }

    record Bool(boolean value) implements Value {
        static final Bool TRUE = new Bool(true);
        static final Bool FALSE = new Bool(false);

        static Bool of(boolean b) {
            return b ? TRUE : FALSE;
        }
    }

    /** {@code none}: JSON's null. Prints as nothing. */
    record None() implements Value {
        static final None NONE = new None();
    }

    /**
     * A name or key that has no value. Prints as nothing, is false, and is {@code none}-like in
     * {@code ==}; most operations on it fail.
     *
     * @param name what was looked up (for error messages), e.g. {@code message.tool_calls}
     */
    record Undefined(String name) implements Value {
    }

    /** A list (or tuple: templates cannot tell them apart here). */
    final class Sequence implements Value {
        final List<Value> items;

        Sequence(List<Value> items) {
            this.items = items;
        }

        static Sequence of(List<Value> items) {
            return new Sequence(new ArrayList<>(items));
        }
    }

    /** A mapping from string keys, in insertion order (JSON objects, {@code namespace()}, {@code loop}). */
    final class Dict implements Value {
        final Map<String, Value> entries;

        Dict(Map<String, Value> entries) {
            this.entries = entries;
        }

        Dict() {
            this(new LinkedHashMap<>());
        }
    }

    /**
     * What {@code namespace(...)} makes: a bag of attributes that {@code {% set ns.name = value %}}
     * may change, even from inside a loop. It is not a dict: it has no methods, is always true, and
     * is not a {@code mapping}.
     */
    final class Namespace implements Value {
        final Map<String, Value> entries;

        Namespace(Map<String, Value> entries) {
            this.entries = entries;
        }
    }

    /** Something a template can call: a built-in function, a bound method, a macro. */
    record Callable(String name, Body body) implements Value {

        /** The code behind a callable. */
        @FunctionalInterface
        interface Body {
            Value call(Args args, Interpreter.Frame frame);
        }
    }
}
