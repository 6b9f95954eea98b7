package dev.rewind.tokenizer;

/**
 * JSON paths as error messages show them: {@code model.merges[12]}, {@code added_tokens[3].content},
 * {@code model.vocab["Ġthe"]}.
 */
final class JsonPath {

    private JsonPath() {
    }

    /** The path of the keys ({@link String}) and indices ({@link Integer}) {@code steps}, outermost first. */
    static String of(Iterable<?> steps) {
        StringBuilder out = new StringBuilder();
        for (Object step : steps) {
            append(out, step);
        }
        return out.isEmpty() ? "(the top level)" : out.toString();
    }

    /** {@code parent} followed by {@code step} (a key or an index). */
    static String child(String parent, Object step) {
        StringBuilder out = new StringBuilder(parent);
        append(out, step);
        return out.toString();
    }

    private static void append(StringBuilder out, Object step) {
        if (step instanceof Integer index) {
            out.append('[').append(index).append(']');
        } else if (isIdentifier((String) step)) {
            if (!out.isEmpty()) {
                out.append('.');
            }
            out.append(step);
        } else {
            out.append('[').append(quoted((String) step)).append(']');
        }
    }

    /** {@code key} in double quotes, with quotes, backslashes and control characters escaped. */
    static String quoted(String key) {
        StringBuilder out = new StringBuilder(key.length() + 2).append('"');
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static boolean isIdentifier(String key) {
        if (key.isEmpty() || !(Character.isLetter(key.charAt(0)) && key.charAt(0) < 0x80 || key.charAt(0) == '_')) {
            return false;
        }
        for (int i = 1; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(c < 0x80 && (Character.isLetterOrDigit(c) || c == '_'))) {
                return false;
            }
        }
        return true;
    }
}
