package dev.rewind.tokenizer;

/**
 * The project's one escaping rule for text from a file, a reply or an input line shown in a message
 * or on a terminal (the engine's {@code Escape} builds its excerpts on it; a {@link TokenizerException}
 * applies it to what it quotes): controls, format characters, line and paragraph separators and lone
 * surrogates become visible escapes, backslashes stay, so the rule is idempotent and a message stays
 * one visible line.
 */
public final class VisibleText {

    private VisibleText() {
    }

    /** {@code text} with every character the rule names replaced by its visible escape. */
    public static String visible(CharSequence text) {
        if (text == null) {
            return "null";
        }
        int n = text.length();
        int i = 0;
        while (i < n && !needsEscape(text, i)) {
            i++;
        }
        if (i == n) {
            return text.toString();
        }
        StringBuilder out = new StringBuilder(n + 16).append(text, 0, i);
        while (i < n) {
            int cp = Character.codePointAt(text, i);
            int width = Character.charCount(cp);
            if (needsEscape(cp)) {
                appendEscape(out, cp);
            } else {
                out.appendCodePoint(cp);
            }
            i += width;
        }
        return out.toString();
    }

    private static boolean needsEscape(CharSequence text, int i) {
        char c = text.charAt(i);
        if (c >= 0x20 && c < 0x7f) {
            return false;
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1))
                    || needsEscape(Character.toCodePoint(c, text.charAt(i + 1)));
        }
        if (Character.isLowSurrogate(c)) {
            return i == 0 || !Character.isHighSurrogate(text.charAt(i - 1));
        }
        return needsEscape(c);
    }

    private static boolean needsEscape(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.SURROGATE -> true;
            default -> false;
        };
    }

    private static void appendEscape(StringBuilder out, int cp) {
        switch (cp) {
            case '\n' -> out.append("\\n");
            case '\r' -> out.append("\\r");
            case '\t' -> out.append("\\t");
            case 0 -> out.append("\\0");
            case 0x1b -> out.append("\\e");
            default -> {
                if (cp < 0x100) {
                    out.append(String.format("\\x%02X", cp));
                } else {
                    out.append(String.format("\\u{%04X}", cp));
                }
            }
        }
    }
}
