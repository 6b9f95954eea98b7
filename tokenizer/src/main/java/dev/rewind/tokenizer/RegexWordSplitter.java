package dev.rewind.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenizer stage given as one of llama.cpp's regexes, run the way llama.cpp runs a regex it has no
 * hand-written scanner for: every match is a word, and so is every stretch of text between matches.
 *
 * <p>llama.cpp picks the text a regex sees by what the regex contains (see {@link CodePoints}):
 * <ul>
 *   <li>a regex with {@code \p{N}}, {@code \p{L}}, {@code \p{P}}, {@code \p{M}} or {@code \p{S}} runs on the
 *       collapsed text, each class rewritten to its stand-in plus its ASCII members (so {@code \p{S}} is
 *       {@code $+<=>^`|} and the symbol stand-in: llama.cpp leaves {@code ~} out);</li>
 *   <li>any other regex runs on the wide text, where {@code \s} sees all whitespace as {@code \u000B}.</li>
 * </ul>
 * The regex is written in llama.cpp's (ECMAScript) syntax; the only construct that reads differently in
 * Java, {@code $} (end of the chunk, not "before a final newline"), is rewritten to {@code \z}.
 */
final class RegexWordSplitter implements WordSplitter {

    /** Which view of the text the regex is matched against. */
    enum View { COLLAPSED, WIDE }

    private final Pattern pattern;
    private final View view;

    private RegexWordSplitter(Pattern pattern, View view) {
        this.pattern = pattern;
        this.view = view;
    }

    /**
     * The stage for {@code regex} as llama.cpp lists it in its table of pre-tokenizers.
     *
     * @throws IllegalArgumentException if the regex mixes Unicode classes with non-ASCII characters, which
     *                                  llama.cpp refuses too
     */
    static RegexWordSplitter ofLlamaCpp(String regex) {
        if (usesUnicodeClasses(regex)) {
            if (regex.chars().anyMatch(c -> c >= 0x80)) {
                throw new IllegalArgumentException("a regex with Unicode classes must be ASCII: " + regex);
            }
            return new RegexWordSplitter(Pattern.compile(collapse(regex)), View.COLLAPSED);
        }
        return new RegexWordSplitter(Pattern.compile(endAnchors(regex)), View.WIDE);
    }

    View view() {
        return view;
    }

    @Override
    public IntList split(CodePoints text, IntList chunks) {
        boolean wide = view == View.WIDE;
        int[] charIndex = text.charIndex();
        Matcher m = pattern.matcher(wide ? text.wide() : text.collapsed());
        IntList out = new IntList(chunks.size() * 4);
        int start = 0;
        for (int c = 0; c < chunks.size(); c++) {
            int end = start + chunks.get(c);
            // Opaque bounds (the default): lookahead does not see past the chunk, and \z is its end.
            m.region(wide ? charIndex[start] : start, wide ? charIndex[end] : end);
            int wordStart = start;
            int cursor = start; // code point position, moved forward to each match boundary
            while (m.find()) {
                int matchStart = wide ? (cursor = toCodePoint(charIndex, cursor, m.start())) : m.start();
                int matchEnd = wide ? (cursor = toCodePoint(charIndex, cursor, m.end())) : m.end();
                if (matchStart > wordStart) {
                    out.add(matchStart - wordStart);
                }
                out.add(matchEnd - matchStart);
                wordStart = matchEnd;
            }
            if (wordStart < end) {
                out.add(end - wordStart);
            }
            start = end;
        }
        return out;
    }

    /** The code point position of char position {@code charPos}, searching forward from {@code from}. */
    private static int toCodePoint(int[] charIndex, int from, int charPos) {
        int cp = from;
        while (charIndex[cp] < charPos) {
            cp++;
        }
        return cp;
    }

    private static final String[] CLASSES = {"\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}"};

    private static boolean usesUnicodeClasses(String regex) {
        for (String c : CLASSES) {
            if (regex.contains(c)) {
                return true;
            }
        }
        return false;
    }

    /** The stand-in and ASCII members of a class, written for use inside a Java character class. */
    private static String classMembers(char name) {
        return switch (name) {
            case 'N' -> CodePoints.NUMBER + "0-9";
            case 'L' -> CodePoints.LETTER + "A-Za-z";
            case 'P' -> CodePoints.PUNCTUATION + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}";
            case 'M' -> String.valueOf(CodePoints.MARK);
            case 'S' -> CodePoints.SYMBOL + "\\$\\+<->\\^`\\|";
            default -> throw new IllegalStateException("not a collapsed class: " + name);
        };
    }

    /** llama.cpp's rewriting of {@code \p{X}} for the collapsed text, plus {@link #endAnchors}. */
    private static String collapse(String regex) {
        StringBuilder out = new StringBuilder(regex.length() * 2);
        int depth = 0; // inside how many [...]
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) {
                if (regex.startsWith("\\p{", i) && i + 4 < regex.length() && regex.charAt(i + 4) == '}'
                        && "NLPMS".indexOf(regex.charAt(i + 3)) >= 0) {
                    String members = classMembers(regex.charAt(i + 3));
                    out.append(depth > 0 ? members : "[" + members + "]");
                    i += 4;
                } else {
                    out.append(c).append(regex.charAt(++i));
                }
            } else if (c == '[') {
                depth++;
                out.append(c);
            } else if (c == ']' && depth > 0) {
                depth--;
                out.append(c);
            } else if (c == '$' && depth == 0) {
                out.append("\\z");
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** {@code $} outside a class means the end of the text in ECMAScript; in Java that is {@code \z}. */
    private static String endAnchors(String regex) {
        StringBuilder out = new StringBuilder(regex.length() + 4);
        int depth = 0;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) {
                out.append(c).append(regex.charAt(++i));
            } else if (c == '$' && depth == 0) {
                out.append("\\z");
            } else {
                if (c == '[') {
                    depth++;
                } else if (c == ']' && depth > 0) {
                    depth--;
                }
                out.append(c);
            }
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "RegexWordSplitter[" + view + " " + pattern + "]";
    }
}
