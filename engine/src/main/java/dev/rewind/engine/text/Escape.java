package dev.rewind.engine.text;

import dev.rewind.tokenizer.VisibleText;

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
 *
 * <p>The rule itself is {@link VisibleText} in the tokenizer module (the lowest module, whose own
 * errors quote vocabulary text); this class adds the excerpts and quotes messages use.
 */
public final class Escape {

    private Escape() {
    }

    /** {@code text} with every character the rule names replaced by its visible escape. */
    public static String visible(CharSequence text) {
        return VisibleText.visible(text);
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
        return visible(text).contentEquals(text);
    }
}
