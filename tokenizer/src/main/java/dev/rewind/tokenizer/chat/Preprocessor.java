package dev.rewind.tokenizer.chat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The whitespace rules Hugging Face renders chat templates with, applied to the source text
 * before it is split into tokens, exactly as {@code @huggingface/jinja} does:
 * <ol>
 *   <li>one trailing newline of the template is dropped (Jinja's {@code keep_trailing_newline=False});</li>
 *   <li>{@code lstrip_blocks}: spaces and tabs from the start of a line up to a {@code {%} or {@code {#} tag go;</li>
 *   <li>{@code trim_blocks}: the first newline after a {@code %}} or {@code #}} tag goes;</li>
 *   <li>transformers' {@code {% generation %}} and {@code {% endgeneration %}} tags go, leaving their
 *       content, with the whitespace around them when they are written {@code {%-} / {@code -%}}.</li>
 * </ol>
 * Like the reference these work on the raw text, so they also apply inside string literals and raw
 * blocks. Every step only deletes characters, so each character that is left remembers its offset
 * in the original source, and errors can point at the template as its author wrote it.
 */
final class Preprocessor {

    /** JavaScript's {@code \s}: what {@code @huggingface/jinja} calls whitespace. */
    static final String JS_WHITESPACE = "\\t\\n\\x0B\\f\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";

    private static final Pattern GENERATION_TAG = Pattern.compile(
            "([" + JS_WHITESPACE + "]*)\\{%(-?)[" + JS_WHITESPACE + "]*(?:end)?generation[" + JS_WHITESPACE + "]*(-?)%}([" + JS_WHITESPACE + "]*)");

    private Preprocessor() {
    }

    /**
     * The text the lexer reads, and for each of its characters (plus one past the end) the offset of
     * that character in the original source.
     */
    record Prepared(String text, int[] origin) {
    }

    static Prepared prepare(String source) {
        int[] origin = new int[source.length() + 1];
        for (int i = 0; i <= source.length(); i++) {
            origin[i] = i;
        }
        Prepared p = new Prepared(source, origin);
        if (source.endsWith("\n")) {
            p = delete(p, new Deletions(source.length()).range(source.length() - 1, source.length()));
        }
        p = lstripBlocks(p);
        p = trimBlocks(p);
        return removeGenerationTags(p);
    }

    /** Spaces and tabs between a line start and {@code {%}, {@code {#} (or {@code {-}, as the reference's pattern has it). */
    private static Prepared lstripBlocks(Prepared p) {
        String t = p.text();
        Deletions d = new Deletions(t.length());
        for (int start = 0; start < t.length(); start++) {
            if (start > 0 && !isLineTerminator(t.charAt(start - 1))) {
                continue;
            }
            int end = start;
            while (end < t.length() && (t.charAt(end) == ' ' || t.charAt(end) == '\t')) {
                end++;
            }
            if (end > start && end + 1 < t.length() && t.charAt(end) == '{' && "#%-".indexOf(t.charAt(end + 1)) >= 0) {
                d.range(start, end);
            }
        }
        return delete(p, d);
    }

    /** JavaScript's line terminators, where a multiline {@code ^} matches. */
    private static boolean isLineTerminator(char c) {
        return c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029';
    }

    /** The newline right after {@code %}}, {@code #}} (or {@code -}}). */
    private static Prepared trimBlocks(Prepared p) {
        String t = p.text();
        Deletions d = new Deletions(t.length());
        for (int i = 0; i + 2 < t.length(); i++) {
            if ("#%-".indexOf(t.charAt(i)) >= 0 && t.charAt(i + 1) == '}' && t.charAt(i + 2) == '\n') {
                d.range(i + 2, i + 3);
                i += 2;
            }
        }
        return delete(p, d);
    }

    private static Prepared removeGenerationTags(Prepared p) {
        Matcher m = GENERATION_TAG.matcher(p.text());
        Deletions d = new Deletions(p.text().length());
        while (m.find()) {
            d.range(m.end(1), m.start(4));
            if (!m.group(2).isEmpty()) {
                d.range(m.start(1), m.end(1));
            }
            if (!m.group(3).isEmpty()) {
                d.range(m.start(4), m.end(4));
            }
        }
        return delete(p, d);
    }

    /** Which characters of a text to delete. */
    private static final class Deletions {
        final boolean[] deleted;
        boolean any;

        Deletions(int length) {
            deleted = new boolean[length];
        }

        Deletions range(int from, int to) {
            for (int i = from; i < to; i++) {
                deleted[i] = true;
                any = true;
            }
            return this;
        }
    }

    private static Prepared delete(Prepared p, Deletions d) {
        if (!d.any) {
            return p;
        }
        String t = p.text();
        StringBuilder kept = new StringBuilder(t.length());
        int[] origin = new int[t.length() + 1];
        int n = 0;
        for (int i = 0; i < t.length(); i++) {
            if (!d.deleted[i]) {
                kept.append(t.charAt(i));
                origin[n++] = p.origin()[i];
            }
        }
        origin[n] = p.origin()[t.length()];
        return new Prepared(kept.toString(), java.util.Arrays.copyOf(origin, n + 1));
    }
}
