package dev.rewind.engine.text;

/**
 * The one rule for showing text that came from a file, a reply or an input line in a message or on a
 * terminal: every character that could move the cursor, end the line, start an escape sequence or
 * reorder what is shown becomes a visible escape, so a message stays one line and shows what the
 * bytes were. Escaped are the Unicode categories Cc (controls: C0, DEL, C1), Cf (format characters:
 * bidi overrides, zero-width characters, the BOM), Zl and Zp (line and paragraph separators), and lone
 * surrogates: {@code \n}, {@code \r}, {@code \t}, {@code \0} and {@code \e} (ESC) by name, other code
 * points below 0x100 as {@code \xNN}, the rest as <code>&#92;u{XXXX}</code>.
 *
 * <p>Backslashes are left as they are, so the rule is idempotent: text it produced contains nothing
 * it would change, and applying it again where a message is finally printed (a safety net for
 * messages built from several sources) changes nothing.
 */
public final class Escape {

    private Escape() {
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

    /**
     * {@link #visible} of at most the first {@code maxChars} characters of {@code text}; a longer text
     * is cut (never inside a surrogate pair) and ends in {@code …(N more characters)}.
     */
    public static String excerpt(CharSequence text, int maxChars) {
        if (maxChars < 1) {
            throw new IllegalArgumentException("maxChars must be >= 1, got " + maxChars);
        }
        if (text == null) {
            return "null";
        }
        if (text.length() <= maxChars) {
            return visible(text);
        }
        int cut = maxChars;
        if (Character.isHighSurrogate(text.charAt(cut - 1)) && Character.isLowSurrogate(text.charAt(cut))) {
            cut--;
        }
        return visible(text.subSequence(0, cut)) + "…(" + (text.length() - cut) + " more characters)";
    }

    /** A name or value from a file as a message quotes it: {@code 'excerpt'} of at most 100 characters. */
    public static String quote(CharSequence text) {
        return "'" + excerpt(text, 100) + "'";
    }

    /** Whether {@code text} holds nothing the rule would escape. */
    public static boolean isVisible(CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            if (needsEscape(text, i)) {
                return false;
            }
        }
        return true;
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
