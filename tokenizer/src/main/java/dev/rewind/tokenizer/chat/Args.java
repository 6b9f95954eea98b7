package dev.rewind.tokenizer.chat;

import java.util.List;
import java.util.Map;

/**
 * The evaluated arguments of a call, filter or test: positional ones in order, then keyword ones.
 * An argument may be given either way, as in Python: {@code indent(4)} or {@code indent(width=4)}.
 */
record Args(List<Value> positional, Map<String, Value> keywords) {

    static final Args NONE = new Args(List.of(), Map.of());

    static Args of(Value... positional) {
        return new Args(List.of(positional), Map.of());
    }

    /** The argument at {@code index} or named {@code name}, or null when it was not given. */
    Value get(int index, String name) {
        if (index >= 0 && index < positional.size()) {
            return positional.get(index);
        }
        return keywords.get(name);
    }

    /** {@link #get}, or {@code fallback} when not given. */
    Value get(int index, String name, Value fallback) {
        Value v = get(index, name);
        return v == null ? fallback : v;
    }

    /** A string argument, or {@code fallback} when not given; none counts as not given. */
    String string(int index, String name, String fallback, String what) {
        Value v = get(index, name);
        if (v == null || v instanceof Value.None) {
            return fallback;
        }
        if (v instanceof Value.Str s) {
            return s.value();
        }
        throw new RenderError(what + ": '" + name + "' must be a string, got " + Values.typeName(v));
    }

    /** An integer argument, or {@code fallback} when not given; none counts as not given. */
    long integer(int index, String name, long fallback, String what) {
        Value v = get(index, name);
        if (v == null || v instanceof Value.None) {
            return fallback;
        }
        if (v instanceof Value.Int i) {
            return i.value();
        }
        throw new RenderError(what + ": '" + name + "' must be an integer, got " + Values.typeName(v));
    }

    /** A boolean argument (any value, by its truth), or {@code fallback} when not given. */
    boolean flag(int index, String name, boolean fallback) {
        Value v = get(index, name);
        return v == null ? fallback : Values.truthy(v);
    }

    /** The argument at {@code index}, which must be there. */
    Value required(int index, String name, String what) {
        Value v = get(index, name);
        if (v == null) {
            throw new RenderError(what + " needs the argument '" + name + "'");
        }
        return v;
    }
}
