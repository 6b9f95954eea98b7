package dev.rewind.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pattern} of a Split pre-tokenizer or a Replace normalizer or decoder: {@code {"String": s}} (the
 * text itself) or {@code {"Regex": r}} (see {@link HfRegex}).
 *
 * @param pattern the compiled pattern
 * @param source  the string or regex as the file gives it
 * @param literal whether it was a {@code String} pattern
 */
record HfPattern(Pattern pattern, String source, boolean literal) {

    /** Reads {@code {"String": …}} or {@code {"Regex": …}}. */
    static HfPattern read(JsonCursor at) {
        if (at.find("String").isPresent()) {
            String literal = at.get("String").string();
            return new HfPattern(Pattern.compile(Pattern.quote(literal)), literal, true);
        }
        if (at.find("Regex").isPresent()) {
            JsonCursor regex = at.get("Regex");
            return new HfPattern(HfRegex.compile(regex.string(), regex), regex.string(), false);
        }
        throw at.error("expected {\"String\": ...} or {\"Regex\": ...}");
    }

    /** Whether the pattern can never match (an empty literal, which the Rust library treats so). */
    boolean isEmptyLiteral() {
        return literal && source.isEmpty();
    }

    /** {@code text} with every match replaced by {@code content}, taken literally. */
    String replaceAll(String text, String content) {
        if (isEmptyLiteral()) {
            return text;
        }
        return pattern.matcher(text).replaceAll(Matcher.quoteReplacement(content));
    }
}
