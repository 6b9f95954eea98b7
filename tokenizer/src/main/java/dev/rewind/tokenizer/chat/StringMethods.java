package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Python's string methods as templates call them, {@code message.content.strip()}:
 * {@code upper}, {@code lower}, {@code title}, {@code capitalize}, {@code strip}/{@code lstrip}/{@code rstrip}
 * (whitespace, or the characters given), {@code startswith}/{@code endswith} (a string or a tuple),
 * {@code split}/{@code rsplit}, {@code splitlines}, {@code replace}, {@code find}, {@code count},
 * {@code join}, {@code format}, and the {@code length} attribute. {@code title} and
 * {@code capitalize} behave as in {@code @huggingface/jinja} (ASCII word starts upper-cased, the rest
 * left as it is); the character arguments of the strip methods, {@code rsplit}, {@code splitlines},
 * {@code find}, {@code count}, {@code join} and {@code format} follow Python, which that engine lacks.
 */
final class StringMethods {

    private StringMethods() {
    }

    /** The attribute {@code name} of string {@code s}, or null if strings have none of that name. */
    static Value member(Interpreter in, String s, String name) {
        if (name.equals("length")) {
            return new Int(s.length());
        }
        return switch (name) {
            case "upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith",
                 "split", "rsplit", "splitlines", "replace", "find", "count", "join", "format" ->
                    new Callable(name, (args, frame) -> call(in, s, name, args));
            default -> null;
        };
    }

    private static Value call(Interpreter in, String s, String name, Args args) {
        return switch (name) {
            case "upper" -> in.text(s.toUpperCase(Locale.ROOT));
            case "lower" -> in.text(s.toLowerCase(Locale.ROOT));
            case "title" -> new Str(title(s));
            case "capitalize" -> in.text(capitalize(s));
            case "strip" -> new Str(strip(s, chars(args, name), true, true));
            case "lstrip" -> new Str(strip(s, chars(args, name), true, false));
            case "rstrip" -> new Str(strip(s, chars(args, name), false, true));
            case "startswith", "endswith" -> Bool.of(affix(s, args.required(0, "prefix", name), name.equals("startswith")));
            case "split" -> strings(in, split(s, separator(args, name), args.integer(1, "maxsplit", -1, name)));
            case "rsplit" -> strings(in, rsplit(s, separator(args, name), args.integer(1, "maxsplit", -1, name)));
            case "splitlines" -> strings(in, splitlines(s));
            case "replace" -> in.text(replace(in, s, args.string(0, "old", null, name), args.string(1, "new", null, name),
                    args.integer(2, "count", -1, name)));
            case "find" -> {
                String sub = requiredString(args, 0, "sub", name);
                int start = Math.clamp(args.integer(1, "start", 0, name), 0, s.length());
                yield new Int(s.indexOf(sub, start));
            }
            case "count" -> new Int(count(s, requiredString(args, 0, "sub", name)));
            case "join" -> in.text(join(in, s, args.required(0, "iterable", name)));
            case "format" -> in.text(format(in, s, args));
            default -> throw new IllegalStateException(name);
        };
    }

    private static String requiredString(Args args, int index, String argument, String method) {
        String v = args.string(index, argument, null, method);
        if (v == null) {
            throw new RenderError(method + " needs the argument '" + argument + "'");
        }
        return v;
    }

    /** The characters a strip method removes: null for whitespace. */
    private static String chars(Args args, String method) {
        return args.string(0, "chars", null, method);
    }

    private static String separator(Args args, String method) {
        String sep = args.string(0, "sep", null, method);
        if (sep != null && sep.isEmpty()) {
            throw new RenderError(method + ": empty separator");
        }
        return sep;
    }

    private static Value strings(Interpreter in, List<String> parts) {
        in.iterate(parts.size());
        List<Value> values = new ArrayList<>(parts.size());
        parts.forEach(p -> values.add(new Str(p)));
        return new Sequence(values);
    }

    /** {@code @huggingface/jinja}'s title case: every ASCII letter or digit that starts an ASCII word, upper-cased. */
    static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean startsWord = Lexer.isWordChar(c) && (i == 0 || !Lexer.isWordChar(s.charAt(i - 1)));
            b.append(startsWord ? Character.toUpperCase(c) : c);
        }
        return b.toString();
    }

    /** The first UTF-16 unit upper-cased, the rest unchanged (as {@code @huggingface/jinja}). */
    static String capitalize(String s) {
        return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }

    /** Strips whitespace ({@code chars} null) or any of the code points in {@code chars}. */
    static String strip(String s, String chars, boolean leading, boolean trailing) {
        int start = 0;
        int end = s.length();
        if (leading) {
            while (start < end) {
                int cp = s.codePointAt(start);
                if (!stripped(cp, chars)) {
                    break;
                }
                start += Character.charCount(cp);
            }
        }
        if (trailing) {
            while (end > start) {
                int cp = s.codePointBefore(end);
                if (!stripped(cp, chars)) {
                    break;
                }
                end -= Character.charCount(cp);
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? cp < 0x10000 && Lexer.isWhitespace((char) cp) : chars.indexOf(cp) >= 0;
    }

    private static boolean affix(String s, Value what, boolean prefix) {
        List<Value> options = what instanceof Sequence list ? list.items : List.of(what);
        for (Value option : options) {
            if (!(option instanceof Str o)) {
                throw new RenderError((prefix ? "startswith" : "endswith") + " needs a string or a tuple of strings, got "
                        + Values.describe(option));
            }
            if (prefix ? s.startsWith(o.value()) : s.endsWith(o.value())) {
                return true;
            }
        }
        return false;
    }

    /** Python's {@code str.split(sep, maxsplit)}: on a separator, or on runs of whitespace when it is null. */
    static List<String> split(String s, String sep, long maxsplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && Lexer.isWhitespace(s.charAt(i))) {
                    i++;
                }
                if (i >= s.length()) {
                    break;
                }
                if (maxsplit >= 0 && parts.size() >= maxsplit) {
                    parts.add(s.substring(i));
                    break;
                }
                int end = i;
                while (end < s.length() && !Lexer.isWhitespace(s.charAt(end))) {
                    end++;
                }
                parts.add(s.substring(i, end));
                i = end;
            }
            return parts;
        }
        int from = 0;
        while (maxsplit < 0 || parts.size() < maxsplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** Python's {@code str.rsplit(sep, maxsplit)}: like split, counting the splits from the right. */
    static List<String> rsplit(String s, String sep, long maxsplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = s.length();
            while (true) {
                while (i > 0 && Lexer.isWhitespace(s.charAt(i - 1))) {
                    i--;
                }
                if (i <= 0) {
                    break;
                }
                if (maxsplit >= 0 && parts.size() >= maxsplit) {
                    parts.add(s.substring(0, i));
                    break;
                }
                int start = i;
                while (start > 0 && !Lexer.isWhitespace(s.charAt(start - 1))) {
                    start--;
                }
                parts.add(s.substring(start, i));
                i = start;
            }
        } else {
            int to = s.length();
            while (maxsplit < 0 || parts.size() < maxsplit) {
                int at = s.lastIndexOf(sep, to - sep.length());
                if (at < 0) {
                    break;
                }
                parts.add(s.substring(at + sep.length(), to));
                to = at;
            }
            parts.add(s.substring(0, to));
        }
        return parts.reversed();
    }

    /** Python's {@code str.splitlines()}: on any of its line boundaries, which are not kept. */
    static List<String> splitlines(String s) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean boundary = c == '\n' || c == '\r' || c == '\u000B' || c == '\f' || (c >= '\u001C' && c <= '\u001E')
                    || c == '\u0085' || c == '\u2028' || c == '\u2029';
            if (!boundary) {
                i++;
                continue;
            }
            lines.add(s.substring(start, i));
            i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
            start = i;
        }
        if (start < s.length()) {
            lines.add(s.substring(start));
        }
        return lines;
    }

    /**
     * Python's {@code str.replace(old, new, count)}; an empty {@code old} inserts {@code new} before
     * every character and at the end. Built within the render's text limits.
     */
    static String replace(Interpreter in, String s, String old, String replacement, long count) {
        if (old == null || replacement == null) {
            throw new RenderError("replace needs the arguments 'old' and 'new'");
        }
        long remaining = count < 0 ? Long.MAX_VALUE : count;
        StringBuilder out = new StringBuilder();
        if (old.isEmpty()) {
            int i = 0;
            while (true) {
                if (remaining > 0) {
                    out.append(replacement);
                    remaining--;
                }
                if (i >= s.length()) {
                    break;
                }
                int cp = s.codePointAt(i);
                out.appendCodePoint(cp);
                i += Character.charCount(cp);
                in.build(out.length());
            }
            return out.toString();
        }
        int from = 0;
        while (remaining > 0) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            in.build(out.length());
            from = at + old.length();
            remaining--;
        }
        return out.append(s, from, s.length()).toString();
    }

    /** Non-overlapping occurrences of {@code sub}; an empty {@code sub} occurs between all characters. */
    static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    /** {@code separator.join(items)}: items as the {@code join} filter writes them. */
    static String join(Interpreter in, String separator, Value items) {
        List<Value> list = switch (items) {
            case Sequence s -> s.items;
            case Str s -> s.value().codePoints().<Value>mapToObj(cp -> new Str(Character.toString(cp))).toList();
            default -> throw new RenderError("join needs a list, got " + Values.describe(items));
        };
        in.iterate(list.size());
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < list.size(); i++) {
            if (i > 0) {
                out.append(separator);
            }
            out.append(joinedText(list.get(i), in));
            in.build(out.length());
        }
        return out.toString();
    }

    /** An item as JavaScript's {@code Array.join} writes it: nothing for none and undefined, {@code 2} for 2.0. */
    static String joinedText(Value v, Interpreter in) {
        return switch (v) {
            case None n -> "";
            case Value.Undefined u -> "";
            case Value.Real r -> Numbers.javaScript(r.value());
            default -> Values.display(v, in.maxChars());
        };
    }

    /**
     * Python's {@code str.format}: {@code {}}, {@code {0}} and {@code {name}} fields, {@code {{} and
     * {@code }}} for braces. Format specs ({@code {:>8}}) are not supported and fail clearly.
     */
    static String format(Interpreter in, String s, Args args) {
        StringBuilder out = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{' || c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                out.append(c);
                i++;
                continue;
            }
            if (c == '}') {
                throw new RenderError("format: single '}' in '" + s + "'");
            }
            if (c != '{') {
                out.append(c);
                continue;
            }
            int close = s.indexOf('}', i);
            if (close < 0) {
                throw new RenderError("format: '{' is not closed in '" + s + "'");
            }
            String field = s.substring(i + 1, close);
            if (field.contains(":") || field.contains("!")) {
                throw new RenderError("format: conversions and format specs are not supported ('{" + field + "}')");
            }
            Value v;
            if (field.isEmpty()) {
                v = args.get(auto++, null);
            } else if (field.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                v = args.get(Integer.parseInt(field), null);
            } else {
                v = args.keywords().get(field);
            }
            if (v == null) {
                throw new RenderError("format: no value for the field '{" + field + "}'");
            }
            out.append(Values.display(v, in.maxChars()));
            in.build(out.length());
            i = close;
        }
        return out.toString();
    }
}
