package dev.rewind.tokenizer;

import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The regexes of a {@code tokenizer.json} (Split patterns, Replace patterns) in Java's regex dialect.
 * They are written for the Rust library's Oniguruma and run by transformers.js as JavaScript regexes with the
 * {@code u} flag; the two agree on everything these files use except the details below, and where they differ
 * this follows JavaScript, the engine the fixtures were recorded with:
 * <ul>
 *   <li>{@code \s} is JavaScript's whitespace: it includes U+FEFF and not U+0085 (Java's own {@code \s} is
 *       ASCII only);</li>
 *   <li>{@code .} stops at {@code \n}, {@code \r}, U+2028 and U+2029;</li>
 *   <li>{@code $} is the end of the text (Java's {@code $} would also match before a final newline).</li>
 * </ul>
 * {@code \p{L}}, {@code \p{N}} and the other general categories are Java's, from its Unicode tables.
 * Two writing differences are smoothed over: a {@code [...]} nested in a class is a union (Oniguruma), so
 * its members are inlined; and {@code &&}, an intersection in Java, is taken literally. A script name in
 * {@code \p{Han}} style becomes Java's {@code \p{IsHan}}.
 */
final class HfRegex {

    /** JavaScript's {@code \s}, written for the inside of a Java character class. */
    static final String WHITESPACE = "\\t\\n\\x0B\\f\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F"
            + "\\u3000\\uFEFF";

    private static final Set<String> GENERAL_CATEGORIES = Set.of(
            "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps",
            "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co",
            "Cn", "LC", "L&");

    private HfRegex() {
    }

    /** Whether {@code cp} is whitespace in the sense of {@link #WHITESPACE}. */
    static boolean isWhitespace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
    }

    /**
     * The Java pattern for a {@code tokenizer.json} regex.
     *
     * @param at where the regex was read, for the error
     * @throws TokenizerException naming the place if the regex is not valid
     */
    static Pattern compile(String regex, JsonCursor at) {
        try {
            return Pattern.compile(translate(regex));
        } catch (PatternSyntaxException e) {
            throw at.error("a regex Rewind cannot read (" + e.getDescription() + " at index " + e.getIndex() + "): "
                    + regex);
        } catch (IllegalArgumentException e) {
            throw at.error("a regex Rewind cannot read (" + e.getMessage() + "): " + regex);
        }
    }

    /** The Java spelling of {@code regex}. */
    static String translate(String regex) {
        StringBuilder out = new StringBuilder(regex.length() + 16);
        int depth = 0; // 0 outside a class; 1 in a class; more in a nested class (its brackets are dropped)
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            if (c == '\\' && i + 1 < regex.length()) {
                i = escape(regex, i, depth > 0, out);
            } else if (c == '[') {
                if (depth == 0) {
                    out.append('[');
                    if (i + 1 < regex.length() && regex.charAt(i + 1) == '^') {
                        out.append('^');
                        i++;
                    }
                    if (i + 1 < regex.length() && regex.charAt(i + 1) == ']') {
                        out.append("\\]"); // a ']' first in a class is a member
                        i++;
                    }
                } else if (i + 1 < regex.length() && regex.charAt(i + 1) == '^') {
                    throw new IllegalArgumentException("a negated class inside a class");
                }
                depth++;
            } else if (c == ']' && depth > 0) {
                depth--;
                if (depth == 0) {
                    out.append(']');
                }
            } else if (depth > 0) {
                out.append(c == '&' ? "\\&" : String.valueOf(c));
            } else if (c == '.') {
                out.append("[^\\n\\r\\u2028\\u2029]");
            } else if (c == '$') {
                out.append("\\z");
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Writes the escape at {@code regex[i]} and returns the index of its last character. */
    private static int escape(String regex, int i, boolean inClass, StringBuilder out) {
        char e = regex.charAt(i + 1);
        switch (e) {
            case 's' -> out.append(inClass ? WHITESPACE : "[" + WHITESPACE + "]");
            case 'S' -> out.append("[^" + WHITESPACE + "]"); // inside a class, Java reads a nested class as a union
            case 'p', 'P' -> {
                int close = regex.indexOf('}', i + 2);
                if (i + 2 >= regex.length() || regex.charAt(i + 2) != '{' || close < 0) {
                    throw new IllegalArgumentException("\\" + e + " without {name}");
                }
                out.append('\\').append(e).append('{').append(propertyName(regex.substring(i + 3, close))).append('}');
                return close;
            }
            case 'u' -> {
                if (i + 2 < regex.length() && regex.charAt(i + 2) == '{') {
                    int close = regex.indexOf('}', i + 3);
                    if (close < 0) {
                        throw new IllegalArgumentException("\\u{ without }");
                    }
                    out.append("\\x{").append(regex, i + 3, close).append('}');
                    return close;
                }
                out.append("\\u");
            }
            case 'b' -> out.append(inClass ? "\\x08" : "\\b");
            case '0' -> out.append("\\x00");
            default -> out.append('\\').append(e);
        }
        return i + 1;
    }

    /** A property name as Java spells it: general categories as they are, scripts and others with "Is". */
    private static String propertyName(String name) {
        if (GENERAL_CATEGORIES.contains(name) || name.startsWith("Is") || name.startsWith("In")) {
            return name;
        }
        int equals = name.indexOf('=');
        if (equals >= 0) {
            String key = name.substring(0, equals);
            String value = name.substring(equals + 1);
            return switch (key) {
                case "Script", "sc", "Script_Extensions", "scx" -> "Is" + value;
                case "General_Category", "gc" -> value;
                default -> name;
            };
        }
        return "Is" + name;
    }
}
