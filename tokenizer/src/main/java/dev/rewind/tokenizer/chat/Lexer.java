package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Token.Kind;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens the way {@code @huggingface/jinja}'s lexer does: text runs between
 * tags; inside {@code {% %}} and {@code {{ }}} names, literals and operators; {@code {%-}, {@code -%}}
 * and friends trim the whitespace next to them. Added here: {@code {% raw %}} blocks, and the
 * escapes &#92;x.., &#92;u...., &#92;U........ and octal in string literals (an unknown escape keeps
 * its backslash, as in Python).
 */
final class Lexer {

    private static final Pattern RAW_OPEN = Pattern.compile("\\G[" + Preprocessor.JS_WHITESPACE + "]*raw[" + Preprocessor.JS_WHITESPACE + "]*(-?)%}");
    private static final Pattern RAW_CLOSE = Pattern.compile("\\{%(-?)[" + Preprocessor.JS_WHITESPACE + "]*endraw[" + Preprocessor.JS_WHITESPACE + "]*(-?)%}");

    /** An operator or punctuation mark. */
    private record Symbol(String text, Kind kind) {
    }

    /** Operators and punctuation, in the reference's order: where one is a prefix of another, the longer comes first. */
    private static final List<Symbol> SYMBOLS = List.of(
            new Symbol("{%", Kind.BLOCK_OPEN), new Symbol("%}", Kind.BLOCK_CLOSE),
            new Symbol("{{", Kind.EXPRESSION_OPEN), new Symbol("}}", Kind.EXPRESSION_CLOSE),
            new Symbol("(", Kind.LEFT_PAREN), new Symbol(")", Kind.RIGHT_PAREN),
            new Symbol("{", Kind.LEFT_BRACE), new Symbol("}", Kind.RIGHT_BRACE),
            new Symbol("[", Kind.LEFT_BRACKET), new Symbol("]", Kind.RIGHT_BRACKET),
            new Symbol(",", Kind.COMMA), new Symbol(".", Kind.DOT), new Symbol(":", Kind.COLON), new Symbol("|", Kind.PIPE),
            new Symbol("<=", Kind.COMPARISON), new Symbol(">=", Kind.COMPARISON), new Symbol("==", Kind.COMPARISON),
            new Symbol("!=", Kind.COMPARISON), new Symbol("<", Kind.COMPARISON), new Symbol(">", Kind.COMPARISON),
            new Symbol("+", Kind.ADDITIVE), new Symbol("-", Kind.ADDITIVE), new Symbol("~", Kind.ADDITIVE),
            new Symbol("**", Kind.POWER), new Symbol("*", Kind.MULTIPLICATIVE), new Symbol("//", Kind.MULTIPLICATIVE),
            new Symbol("/", Kind.MULTIPLICATIVE), new Symbol("%", Kind.MULTIPLICATIVE),
            new Symbol("=", Kind.ASSIGN));

    private final String source;
    private final String text;
    private final int[] origin;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private boolean inTag;
    /** Open {@code {} of dict literals in the current expression, so that {@code }}} inside one closes two dicts. */
    private int braceDepth;

    private Lexer(String source) {
        this.source = source;
        Preprocessor.Prepared prepared = Preprocessor.prepare(source);
        this.text = prepared.text();
        this.origin = prepared.origin();
    }

    /** The tokens of {@code source}, ending with an {@link Kind#END} token. */
    static List<Token> tokenize(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.tokens;
    }

    private void run() {
        while (pos < text.length()) {
            if (!inTag && text()) {
                continue;
            }
            if (text.startsWith("{#", pos)) {
                comment();
                continue;
            }
            if (text.startsWith("{%-", pos) || text.startsWith("{{-", pos)) {
                stripTrailingWhitespace();
                boolean block = text.charAt(pos + 1) == '%';
                add(block ? Kind.BLOCK_OPEN : Kind.EXPRESSION_OPEN, block ? "{%" : "{{", pos);
                pos += 3;
                opened(block);
                continue;
            }
            skipWhitespace();
            if (pos >= text.length()) {
                break;
            }
            if (text.startsWith("-%}", pos) || text.startsWith("-}}", pos)) {
                boolean block = text.charAt(pos + 1) == '%';
                add(block ? Kind.BLOCK_CLOSE : Kind.EXPRESSION_CLOSE, block ? "%}" : "}}", pos);
                pos += 3;
                inTag = false;
                skipWhitespace();
                continue;
            }
            char c = text.charAt(pos);
            if ((c == '-' || c == '+') && isSign()) {
                sign(c);
                continue;
            }
            if (symbol()) {
                continue;
            }
            if (c == '\'' || c == '"') {
                string(c);
            } else if (isDigit(c)) {
                number(pos, "");
            } else if (isWordChar(c)) {
                int start = pos;
                while (pos < text.length() && isWordChar(text.charAt(pos))) {
                    pos++;
                }
                add(Kind.NAME, text.substring(start, pos), start);
            } else {
                throw error(pos, "unexpected character '" + Character.toString(text.codePointAt(pos)) + "'"); // a whole emoji, not half
            }
        }
        add(Kind.END, "", text.length());
    }

    /** Consumes template text up to the next tag; false when a tag starts right here. */
    private boolean text() {
        int start = pos;
        while (pos < text.length() && !isTagStart(pos)) {
            pos++;
        }
        if (pos > start) {
            add(Kind.TEXT, text.substring(start, pos), start);
            return true;
        }
        return false;
    }

    private boolean isTagStart(int i) {
        return text.charAt(i) == '{' && i + 1 < text.length() && "%{#".indexOf(text.charAt(i + 1)) >= 0;
    }

    private void comment() {
        int start = pos;
        pos += 2;
        boolean stripBefore = pos < text.length() && text.charAt(pos) == '-';
        int from = stripBefore ? pos + 1 : pos;
        int end = text.indexOf("#}", from);
        if (end < 0) {
            throw error(start, "comment is not closed with #}");
        }
        boolean stripAfter = end > from && text.charAt(end - 1) == '-';
        if (stripBefore) {
            stripTrailingWhitespace();
        }
        add(Kind.COMMENT, text.substring(from, end), start);
        pos = end + 2;
        inTag = false;
        if (stripAfter) {
            skipWhitespace();
        }
    }

    /** After {@code {%} or {@code {{}: inside a tag; a {@code {% raw %}} block is read whole. */
    private void opened(boolean block) {
        inTag = true;
        braceDepth = 0;
        if (block) {
            rawBlock();
        }
    }

    private void rawBlock() {
        Matcher open = RAW_OPEN.matcher(text).region(pos, text.length());
        if (!open.lookingAt()) {
            return;
        }
        Token openToken = tokens.removeLast();
        Matcher close = RAW_CLOSE.matcher(text);
        if (!close.find(open.end())) {
            throw error(openToken.offset(), "{% raw %} without {% endraw %}");
        }
        int from = open.end();
        int to = close.start();
        if (!open.group(1).isEmpty()) {
            while (from < to && isWhitespace(text.charAt(from))) {
                from++;
            }
        }
        if (!close.group(1).isEmpty()) {
            while (to > from && isWhitespace(text.charAt(to - 1))) {
                to--;
            }
        }
        if (to > from) {
            add(Kind.RAW_TEXT, text.substring(from, to), from);
        }
        pos = close.end();
        inTag = false;
        if (!close.group(2).isEmpty()) {
            skipWhitespace();
        }
    }

    /** {@code {%-}, {@code {{-}, {@code {#-}: the text just before loses its trailing whitespace. */
    private void stripTrailingWhitespace() {
        if (!tokens.isEmpty() && tokens.getLast().is(Kind.TEXT)) {
            Token last = tokens.removeLast();
            String value = last.text();
            int end = value.length();
            while (end > 0 && isWhitespace(value.charAt(end - 1))) {
                end--;
            }
            if (end > 0) {
                tokens.add(new Token(Kind.TEXT, value.substring(0, end), last.offset()));
            }
        }
    }

    private void skipWhitespace() {
        while (pos < text.length() && isWhitespace(text.charAt(pos))) {
            pos++;
        }
    }

    /**
     * Whether a {@code -} or {@code +} here is a sign rather than an operator: it is an operator only
     * right after something that ends an operand (a name, a literal, {@code )} or {@code ]}).
     */
    private boolean isSign() {
        if (tokens.isEmpty()) {
            return true;
        }
        return switch (tokens.getLast().kind()) {
            case NAME, NUMBER, STRING, RIGHT_PAREN, RIGHT_BRACKET -> false;
            default -> true;
        };
    }

    /** A sign: joined to the number that follows ({@code -1} is one literal), else a sign token. */
    private void sign(char c) {
        int start = pos++;
        if (pos < text.length() && isDigit(text.charAt(pos))) {
            number(start, String.valueOf(c));
        } else {
            add(Kind.SIGN, String.valueOf(c), start);
        }
    }

    private boolean symbol() {
        for (Symbol symbol : SYMBOLS) {
            if (symbol.kind() == Kind.EXPRESSION_CLOSE && braceDepth > 0) {
                continue;
            }
            if (text.startsWith(symbol.text(), pos)) {
                add(symbol.kind(), symbol.text(), pos);
                pos += symbol.text().length();
                switch (symbol.kind()) {
                    case BLOCK_OPEN -> opened(true);
                    case EXPRESSION_OPEN -> opened(false);
                    case BLOCK_CLOSE, EXPRESSION_CLOSE -> inTag = false;
                    case LEFT_BRACE -> braceDepth++;
                    case RIGHT_BRACE -> braceDepth--;
                    default -> {
                    }
                }
                return true;
            }
        }
        return false;
    }

    /** Digits, and a fraction unless the number follows a dot ({@code items.0.1} is two indices). */
    private void number(int start, String sign) {
        int digits = pos;
        while (pos < text.length() && isDigit(text.charAt(pos))) {
            pos++;
        }
        boolean afterDot = !tokens.isEmpty() && tokens.getLast().is(Kind.DOT);
        if (!afterDot && pos + 1 < text.length() && text.charAt(pos) == '.' && isDigit(text.charAt(pos + 1))) {
            pos++;
            while (pos < text.length() && isDigit(text.charAt(pos))) {
                pos++;
            }
        }
        add(Kind.NUMBER, sign + text.substring(digits, pos), start);
    }

    private void string(char quote) {
        int start = pos++;
        StringBuilder value = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw error(start, "string literal is not closed");
            }
            char c = text.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c != '\\') {
                value.append(c);
                continue;
            }
            if (pos >= text.length()) {
                throw error(start, "string literal is not closed");
            }
            char e = text.charAt(pos++);
            switch (e) {
                case 'n' -> value.append('\n');
                case 't' -> value.append('\t');
                case 'r' -> value.append('\r');
                case 'b' -> value.append('\b');
                case 'f' -> value.append('\f');
                case 'v' -> value.append('\u000B');
                case 'a' -> value.append('\u0007');
                case '\'', '"', '\\' -> value.append(e);
                case 'x' -> value.appendCodePoint(hex(2, start));
                case 'u' -> value.appendCodePoint(hex(4, start));
                case 'U' -> value.appendCodePoint(hex(8, start));
                case '0', '1', '2', '3', '4', '5', '6', '7' -> {
                    int code = e - '0';
                    for (int k = 0; k < 2 && pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '7'; k++) {
                        code = code * 8 + (text.charAt(pos++) - '0');
                    }
                    value.append((char) code);
                }
                default -> value.append('\\').append(e);
            }
        }
        add(Kind.STRING, value.toString(), start);
    }

    private int hex(int digits, int literalStart) {
        if (pos + digits > text.length()) {
            throw error(pos, "escape needs " + digits + " hexadecimal digits");
        }
        int code;
        try {
            code = Integer.parseUnsignedInt(text.substring(pos, pos + digits), 16);
        } catch (NumberFormatException e) {
            throw error(pos, "escape needs " + digits + " hexadecimal digits");
        }
        if (code > Character.MAX_CODE_POINT) {
            throw error(literalStart, "escape names no character: " + Integer.toHexString(code));
        }
        pos += digits;
        return code;
    }

    private void add(Kind kind, String value, int at) {
        tokens.add(new Token(kind, value, origin[at]));
    }

    private TemplateException error(int at, String reason) {
        return TemplateException.at(source, origin[Math.min(at, text.length())], TemplateException.Kind.SYNTAX, reason);
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** JavaScript's {@code \w}: ASCII letters, digits and underscore. */
    static boolean isWordChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_';
    }

    /** JavaScript's {@code \s}, which is also what its {@code trim()} removes. */
    static boolean isWhitespace(char c) {
        return switch (c) {
            case '\t', '\n', '\u000B', '\f', '\r', ' ', '\u00A0', '\u1680', '\u2028', '\u2029', '\u202F', '\u205F',
                 '\u3000', '\uFEFF' -> true;
            default -> c >= '\u2000' && c <= '\u200A';
        };
    }
}
