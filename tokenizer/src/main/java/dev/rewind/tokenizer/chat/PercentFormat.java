package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/**
 * Python's {@code "format" % values}, which {@code @huggingface/jinja} lacks: conversions
 * {@code %s}, {@code %r}, {@code %d}/{@code %i}, {@code %f}, {@code %x}, {@code %%}, with optional
 * {@code (name)}, flags {@code -}/{@code 0}, a width and a precision. A list on the right gives the
 * values in order, a dict gives them by {@code (name)}, anything else is the one value.
 */
final class PercentFormat {

    private PercentFormat() {
    }

    static String format(String format, Value values, Interpreter in) {
        List<Value> positional = values instanceof Sequence s ? s.items : List.of(values);
        Dict named = values instanceof Dict d ? d : null;
        int next = 0;
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            i++;
            if (i >= format.length()) {
                throw new RenderError("incomplete format: '" + format + "'");
            }
            if (format.charAt(i) == '%') {
                out.append('%');
                continue;
            }
            Value value;
            if (format.charAt(i) == '(') {
                int close = format.indexOf(')', i);
                if (close < 0 || named == null) {
                    throw new RenderError("%(name) in a format needs a dict on the right of %");
                }
                String key = format.substring(i + 1, close);
                value = named.entries.getOrDefault(key, new Value.Undefined(key));
                i = close + 1;
            } else {
                if (next >= positional.size()) {
                    throw new RenderError("not enough values for the format '" + format + "'");
                }
                value = positional.get(next++);
            }
            boolean left = false;
            boolean zero = false;
            while (i < format.length() && (format.charAt(i) == '-' || format.charAt(i) == '0')) {
                left |= format.charAt(i) == '-';
                zero |= format.charAt(i) == '0';
                i++;
            }
            int width = 0;
            while (i < format.length() && Lexer.isDigit(format.charAt(i))) {
                width = Math.min(width * 10 + (format.charAt(i++) - '0'), in.maxChars());
            }
            int precision = -1;
            if (i < format.length() && format.charAt(i) == '.') {
                i++;
                precision = 0;
                while (i < format.length() && Lexer.isDigit(format.charAt(i))) {
                    precision = Math.min(precision * 10 + (format.charAt(i++) - '0'), 1000);
                }
            }
            if (i >= format.length()) {
                throw new RenderError("incomplete format: '" + format + "'");
            }
            String text = convert(format.charAt(i), value, precision, in);
            boolean numeric = "dif".indexOf(format.charAt(i)) >= 0;
            String pad = (zero && !left && numeric ? "0" : " ").repeat(Math.max(0, width - text.length()));
            if (left) {
                out.append(text).append(pad);
            } else if (pad.startsWith("0") && text.startsWith("-")) {
                out.append('-').append(pad).append(text, 1, text.length());
            } else {
                out.append(pad).append(text);
            }
            in.build(out.length());
        }
        if (named == null && next < positional.size()) {
            throw new RenderError("not all values were used by the format '" + format + "'");
        }
        return out.toString();
    }

    private static String convert(char conversion, Value value, int precision, Interpreter in) {
        return switch (conversion) {
            case 's' -> {
                String s = Values.display(value, in.maxChars());
                yield precision >= 0 && precision < s.length() ? s.substring(0, precision) : s;
            }
            case 'r' -> value instanceof Str s ? "'" + s.value() + "'" : Values.display(value, in.maxChars());
            case 'd', 'i' -> Long.toString(integer(value));
            case 'x' -> Long.toHexString(integer(value));
            case 'f' -> {
                if (!Values.isNumber(value) && !(value instanceof Value.Bool)) {
                    throw new RenderError("%f needs a number, got " + Values.describe(value));
                }
                double d = Values.number(value);
                yield Double.isFinite(d)
                        ? new BigDecimal(d).setScale(precision < 0 ? 6 : precision, RoundingMode.HALF_EVEN).toPlainString()
                        : Numbers.javaScript(d).toLowerCase(java.util.Locale.ROOT).replace("infinity", "inf");
            }
            default -> throw new RenderError("unsupported format conversion %" + conversion);
        };
    }

    private static long integer(Value v) {
        return switch (v) {
            case Int i -> i.value();
            case Value.Real r -> (long) r.value();
            case Value.Bool b -> b.value() ? 1 : 0;
            default -> throw new RenderError("%d needs a number, got " + Values.describe(v));
        };
    }
}
