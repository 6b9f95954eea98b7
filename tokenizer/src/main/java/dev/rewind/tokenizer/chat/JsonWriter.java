package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Real;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Values as JSON, the way {@code @huggingface/jinja} writes them for {@code tojson} (and, with
 * {@code undefined} spelled out, for printing a list or dict): Python's {@code json.dumps} layout,
 * {@code ", "} and {@code ": "} between items by default, {@code ","} between items when indenting,
 * non-ASCII kept unless {@code ensure_ascii}, numbers as JavaScript writes them ({@code 2.0} is
 * {@code 2}). An empty list or dict is {@code []} / {@code {}} even when indenting, as in Python.
 */
final class JsonWriter {

    /** How deeply lists and dicts may nest when written (a dict that contains itself would never end). */
    static final int MAX_DEPTH = 512;

    /**
     * @param indent       spaces per level, or 0 for one line
     * @param separators   item and key separators, or null for the defaults
     * @param ensureAscii  escape every character from U+007F up as {@code \\uXXXX}
     * @param sortKeys     dict keys in UTF-16 order
     * @param undefinedAsNull write undefined as {@code null} (tojson) rather than {@code undefined} (printing)
     */
    record Style(int indent, String[] separators, boolean ensureAscii, boolean sortKeys, boolean undefinedAsNull) {
        static final Style TOJSON = new Style(0, null, false, false, true);
        static final Style DISPLAY = new Style(0, null, false, false, false);
    }

    private final Style style;
    private final String itemSeparator;
    private final String keySeparator;
    private final int maxChars;
    private final StringBuilder out = new StringBuilder();

    private JsonWriter(Style style, int maxChars) {
        this.style = style;
        if (style.separators() != null) {
            itemSeparator = style.separators()[0];
            keySeparator = style.separators()[1];
        } else {
            itemSeparator = style.indent() > 0 ? "," : ", ";
            keySeparator = ": ";
        }
        this.maxChars = maxChars;
    }

    /** {@code value | tojson(...)}. */
    static String write(Value value, Style style, int maxChars) {
        JsonWriter w = new JsonWriter(style, maxChars);
        w.value(value, 0);
        return w.out.toString();
    }

    /** A list or dict as {@code {{ value }}} prints it. */
    static String display(Value value, int maxChars) {
        return write(value, Style.DISPLAY, maxChars);
    }

    private void value(Value v, int depth) {
        if (depth > MAX_DEPTH) {
            throw new RenderError(TemplateException.Kind.LIMIT, "a list or dict nests more than " + MAX_DEPTH + " deep (does it contain itself?)");
        }
        switch (v) {
            case None n -> append("null");
            case Undefined u -> append(style.undefinedAsNull() ? "null" : "undefined");
            case Int i -> append(Long.toString(i.value()));
            case Real r -> append(Double.isFinite(r.value()) ? Numbers.javaScript(r.value()) : "null");
            case Bool b -> append(Boolean.toString(b.value()));
            case Str s -> string(s.value());
            case Sequence s -> list(s.items, depth);
            case Dict d -> dict(d.entries, depth);
            case Value.Namespace n -> dict(n.entries, depth);
            case Callable c -> throw new RenderError("cannot write the function '" + c.name() + "' as JSON");
        }
    }

    private void list(List<Value> items, int depth) {
        if (items.isEmpty()) {
            append("[]");
            return;
        }
        append("[");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                append(itemSeparator);
            }
            newline(depth + 1);
            value(items.get(i), depth + 1);
        }
        newline(depth);
        append("]");
    }

    private void dict(Map<String, Value> entries, int depth) {
        if (entries.isEmpty()) {
            append("{}");
            return;
        }
        List<String> keys = new ArrayList<>(entries.keySet());
        if (style.sortKeys()) {
            keys.sort(null);
        }
        append("{");
        for (int i = 0; i < keys.size(); i++) {
            if (i > 0) {
                append(itemSeparator);
            }
            newline(depth + 1);
            string(keys.get(i));
            append(keySeparator);
            value(entries.get(keys.get(i)), depth + 1);
        }
        newline(depth);
        append("}");
    }

    private void newline(int depth) {
        if (style.indent() > 0) {
            append("\n");
            append(" ".repeat(Math.min(style.indent() * depth, maxChars)));
        }
    }

    /** JSON.stringify's escaping: quotes, backslashes and control characters; lone surrogates as {@code \\udxxx}. */
    private void string(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    boolean loneSurrogate = Character.isSurrogate(c) && !(Character.isHighSurrogate(c)
                            ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                            : i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
                    if (c < 0x20 || loneSurrogate || (style.ensureAscii() && c >= 0x7F)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        append(b.append('"'));
    }

    private void append(CharSequence s) {
        if (out.length() + s.length() > maxChars) {
            throw new RenderError(TemplateException.Kind.LIMIT, "JSON text longer than " + maxChars + " characters");
        }
        out.append(s);
    }
}
