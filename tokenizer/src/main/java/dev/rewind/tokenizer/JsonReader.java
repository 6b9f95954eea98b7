package dev.rewind.tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON parser (RFC 8259) for the files of a Hugging Face model folder (tokenizer files, config.json,
 * safetensors headers). It builds
 * {@link Json} values and fails with one line that names the file, the line and column, and the JSON path
 * being read, e.g. {@code tokenizer.json: not valid JSON at line 12, column 5 (in model.merges[3]): expected ','
 * or ']'}. Nesting is limited to {@link #MAX_DEPTH} levels so that a hostile file cannot exhaust the stack;
 * a key given twice in one object is an error, since either reading of it would be a guess.
 */
public final class JsonReader {

    /** Deeper than any tokenizer file (they nest about six levels). */
    static final int MAX_DEPTH = 128;

    private final String text;
    private final String file;
    /** Keys (String) and indices (Integer) of the values being read, innermost first; formatted only for errors. */
    private final Deque<Object> path = new ArrayDeque<>();
    private int pos;

    private JsonReader(String text, String file) {
        this.text = text;
        this.file = file;
    }

    /**
     * Reads a small JSON file's text: its size is checked against {@code maxBytes} before anything is
     * read, and its bytes must be UTF-8, the first bad one named by its byte offset.
     *
     * @param name how messages name the file
     * @throws TokenizerException when the file is too large or not UTF-8
     * @throws java.io.IOException when it cannot be read
     */
    public static String readUtf8(java.nio.file.Path file, String name, long maxBytes) throws java.io.IOException {
        long size = java.nio.file.Files.size(file);
        if (size > maxBytes) {
            throw new TokenizerException(name + ": " + size + " bytes, more than the " + maxBytes + " this file may have");
        }
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(file));
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(in.remaining());
        java.nio.charset.CharsetDecoder decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.charset.CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw new TokenizerException(name + ": not valid UTF-8 (byte 0x"
                    + String.format("%02x", in.get(in.position()) & 0xff) + " at byte offset " + in.position() + ")");
        }
        return out.flip().toString();
    }

    /**
     * Parses {@code text}, the whole content of {@code file}.
     *
     * @throws TokenizerException if the text is not one JSON value
     */
    public static Json parse(String text, String file) {
        JsonReader reader = new JsonReader(text, file);
        if (reader.text.startsWith("\uFEFF")) {
            reader.pos = 1;
        }
        reader.skipWhitespace();
        Json value = reader.value();
        reader.skipWhitespace();
        if (reader.pos < reader.text.length()) {
            throw reader.error("unexpected text after the JSON value");
        }
        return value;
    }

    private Json value() {
        if (path.size() > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH + " levels");
        }
        if (pos >= text.length()) {
            throw error("unexpected end of the file");
        }
        char c = text.charAt(pos);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> new Json.JsonString(string());
            case 't' -> literal("true", new Json.JsonBoolean(true));
            case 'f' -> literal("false", new Json.JsonBoolean(false));
            case 'n' -> literal("null", new Json.JsonNull());
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character " + shown(c));
            }
        };
    }

    private Json object() {
        pos++; // {
        Map<String, Json> fields = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return new Json.JsonObject(fields);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw error("expected a key in quotes");
            }
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            path.push(key);
            Json value = value();
            if (fields.putIfAbsent(key, value) != null) {
                throw error("the key " + JsonPath.quoted(key) + " appears twice");
            }
            path.pop();
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == '}') {
                return new Json.JsonObject(fields);
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or '}'");
            }
        }
    }

    private Json array() {
        pos++; // [
        List<Json> elements = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return new Json.JsonArray(elements);
        }
        while (true) {
            skipWhitespace();
            path.push(elements.size());
            elements.add(value());
            path.pop();
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == ']') {
                return new Json.JsonArray(elements);
            }
            if (c != ',') {
                pos--;
                throw error("expected ',' or ']'");
            }
        }
    }

    private String string() {
        int start = ++pos; // opening quote
        // Fast path: no escapes.
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == '"') {
                return text.substring(start, pos++);
            }
            if (c == '\\') {
                break;
            }
            if (c < 0x20) {
                throw error("a control character (" + shown(c) + ") inside a string must be escaped");
            }
            pos++;
        }
        StringBuilder out = new StringBuilder(pos - start + 16).append(text, start, pos);
        while (pos < text.length()) {
            char c = text.charAt(pos++);
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                pos--;
                throw error("a control character (" + shown(c) + ") inside a string must be escaped");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (pos >= text.length()) {
                break;
            }
            char e = text.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> out.append(e);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> out.append(hex4());
                default -> {
                    pos--;
                    throw error("unknown escape \\" + e);
                }
            }
        }
        throw error("a string is not closed");
    }

    private char hex4() {
        if (pos + 4 > text.length()) {
            throw error("\\u needs four hexadecimal digits");
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(text.charAt(pos + i), 16);
            if (d < 0) {
                throw error("\\u needs four hexadecimal digits");
            }
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    private Json number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) {
                pos++;
            }
        } else {
            throw error("a number needs digits");
        }
        if (peek() == '.') {
            pos++;
            if (!isDigit(peek())) {
                throw error("a number needs digits after '.'");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            if (!isDigit(peek())) {
                throw error("a number needs digits in its exponent");
            }
            while (isDigit(peek())) {
                pos++;
            }
        }
        return new Json.JsonNumber(text.substring(start, pos));
    }

    private Json literal(String word, Json value) {
        if (!text.startsWith(word, pos)) {
            throw error("unexpected character " + shown(text.charAt(pos)));
        }
        pos += word.length();
        return value;
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    /** The character at the position, or 0 at the end of the text. */
    private char peek() {
        return pos < text.length() ? text.charAt(pos) : 0;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void skipWhitespace() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private TokenizerException error(String problem) {
        int line = 1;
        int lineStart = 0;
        int end = Math.min(pos, text.length());
        for (int i = 0; i < end; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        String where = path.isEmpty() ? "" : " (in " + JsonPath.of(path.reversed()) + ")";
        return new TokenizerException(file + ": not valid JSON at line " + line + ", column " + (end - lineStart + 1)
                + where + ": " + problem);
    }

    private static String shown(char c) {
        return c >= 0x20 && c < 0x7F ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }
}
