package dev.rewind.tokenizer.chat;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Numbers printed and parsed as JavaScript does them, since {@code @huggingface/jinja} runs on
 * JavaScript numbers: {@code 0.1}, {@code 1e-7}, {@code 1.5e+21}; a float with no fraction prints
 * with {@code .0} ({@code 2.0}) except inside JSON, where it is {@code 2}.
 */
final class Numbers {

    private Numbers() {
    }

    /** A float as a template prints it: {@code 2.0}, {@code 0.5}, {@code -0.0}, {@code 1e+21}. */
    static String floatText(double d) {
        if (d == 0 && 1 / d < 0) {
            return "-0.0";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e21) {
            return new BigDecimal(d).setScale(1).toPlainString();
        }
        return javaScript(d);
    }

    /** JavaScript's {@code String(d)}: the shortest digits that read back as {@code d}. */
    static String javaScript(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return "0";
        }
        // Java's Double.toString also gives the shortest digits that read back (JDK 19 and later);
        // only the layout differs, so take the digits and the exponent and lay them out as ECMAScript says.
        BigDecimal shortest = shortest(Math.abs(d));
        String digits = shortest.unscaledValue().toString();
        int k = digits.length();
        int n = k - shortest.scale();
        StringBuilder s = new StringBuilder(d < 0 ? "-" : "");
        if (k <= n && n <= 21) {
            s.append(digits).append("0".repeat(n - k));
        } else if (0 < n && n <= 21) {
            s.append(digits, 0, n).append('.').append(digits, n, k);
        } else if (-6 < n && n <= 0) {
            s.append("0.").append("0".repeat(-n)).append(digits);
        } else {
            s.append(digits.charAt(0));
            if (k > 1) {
                s.append('.').append(digits, 1, k);
            }
            s.append('e').append(n - 1 >= 0 ? "+" : "-").append(Math.abs(n - 1));
        }
        return s.toString();
    }

    /**
     * The shortest decimal that reads back as {@code d} (positive, finite), the closest such one when
     * there are two. Java's {@code Double.toString} gives it, except that it never gives a single
     * digit: where it writes two ({@code 4.9E-324}), one may do ({@code 5e-324}).
     */
    private static BigDecimal shortest(double d) {
        BigDecimal twoOrMore = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        if (twoOrMore.precision() != 2) {
            return twoOrMore;
        }
        BigDecimal exact = new BigDecimal(d);
        BigDecimal best = null;
        for (RoundingMode mode : new RoundingMode[]{RoundingMode.FLOOR, RoundingMode.CEILING}) {
            BigDecimal oneDigit = twoOrMore.round(new MathContext(1, mode));
            if (oneDigit.doubleValue() == d
                    && (best == null || oneDigit.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                best = oneDigit;
            }
        }
        return best != null ? best.stripTrailingZeros() : twoOrMore;
    }

    /** JavaScript's {@code parseInt(s, 10)}: leading whitespace, a sign, digits; null when there are none. */
    static Long parseIntPrefix(String s) {
        int i = 0;
        while (i < s.length() && Lexer.isWhitespace(s.charAt(i))) {
            i++;
        }
        int start = i;
        if (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) {
            i++;
        }
        int digits = i;
        while (i < s.length() && Lexer.isDigit(s.charAt(i))) {
            i++;
        }
        if (i == digits) {
            return null;
        }
        try {
            return Long.parseLong(s.substring(start, i));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** JavaScript's {@code parseFloat(s)}: the longest decimal prefix after whitespace; null when there is none. */
    static Double parseFloatPrefix(String s) {
        int i = 0;
        while (i < s.length() && Lexer.isWhitespace(s.charAt(i))) {
            i++;
        }
        int start = i;
        if (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) {
            i++;
        }
        if (s.startsWith("Infinity", i)) {
            return s.charAt(start) == '-' ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        int mantissa = i;
        while (i < s.length() && Lexer.isDigit(s.charAt(i))) {
            i++;
        }
        if (i < s.length() && s.charAt(i) == '.') {
            i++;
            while (i < s.length() && Lexer.isDigit(s.charAt(i))) {
                i++;
            }
        }
        if (i == mantissa || (i == mantissa + 1 && s.charAt(mantissa) == '.')) {
            return null;
        }
        int end = i;
        if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            int j = i + 1;
            if (j < s.length() && (s.charAt(j) == '-' || s.charAt(j) == '+')) {
                j++;
            }
            int expDigits = j;
            while (j < s.length() && Lexer.isDigit(s.charAt(j))) {
                j++;
            }
            if (j > expDigits) {
                end = j;
            }
        }
        return Double.parseDouble(s.substring(start, end));
    }
}
