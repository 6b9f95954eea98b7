package dev.rewind.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenizer stage given as a regex over the collapsed text of {@link CodePoints}, the way
 * llama.cpp runs the regexes it has no hand-written scanner for: every match is a word, and so is
 * every stretch of text between matches. The regex is written with the placeholders {@code {L}},
 * {@code {N}}, {@code {P}}, {@code {S}}, {@code {M}} (a class's stand-in plus its ASCII members, as
 * llama.cpp's collapsed {@code \p{..}}) and {@code {WS}} (C's {@code isspace}, which is what
 * {@code \s} means to {@code std::regex}); they are only valid inside a character class.
 */
final class RegexWordSplitter implements WordSplitter {

    private final Pattern pattern;

    RegexWordSplitter(String collapsedRegex) {
        this.pattern = Pattern.compile(collapsedRegex
                .replace("{L}", "A-Za-z" + CodePoints.LETTER)
                .replace("{N}", "0-9" + CodePoints.NUMBER)
                .replace("{P}", "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}" + CodePoints.PUNCTUATION)
                .replace("{S}", "\\$\\+<=>\\^`\\|" + CodePoints.SYMBOL)
                .replace("{M}", String.valueOf(CodePoints.MARK))
                .replace("{WS}", "\\t\\n\\x0B\\f\\r "));
    }

    @Override
    public IntList split(CodePoints text, IntList chunks) {
        IntList out = new IntList(chunks.size() * 4);
        Matcher m = pattern.matcher(text.collapsed());
        int start = 0;
        for (int c = 0; c < chunks.size(); c++) {
            int end = start + chunks.get(c);
            m.region(start, end); // opaque bounds: lookahead does not see past the chunk
            int wordStart = start;
            while (m.find()) {
                if (m.start() > wordStart) {
                    out.add(m.start() - wordStart);
                }
                out.add(m.end() - m.start());
                wordStart = m.end();
            }
            if (wordStart < end) {
                out.add(end - wordStart);
            }
            start = end;
        }
        return out;
    }

    @Override
    public String toString() {
        return "RegexWordSplitter[" + pattern + "]";
    }
}
