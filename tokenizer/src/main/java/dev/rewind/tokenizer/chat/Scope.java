package dev.rewind.tokenizer.chat;

import java.util.HashMap;
import java.util.Map;

/**
 * Variables visible at a point of a template, as a chain: the render's globals at the root, then a
 * scope per {@code for} loop and per macro call. {@code set} writes into the innermost scope, so a
 * variable set inside a loop is gone after it (use a {@code namespace} to carry values out), while
 * {@code if} blocks share their surrounding scope.
 */
final class Scope {

    private final Scope parent;
    private final Map<String, Value> variables = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    /** The value of {@code name}, or undefined. */
    Value lookup(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            Value v = s.variables.get(name);
            if (v != null) {
                return v;
            }
        }
        return new Value.Undefined(name);
    }

    void set(String name, Value value) {
        variables.put(name, value);
    }

    Scope child() {
        return new Scope(this);
    }
}
