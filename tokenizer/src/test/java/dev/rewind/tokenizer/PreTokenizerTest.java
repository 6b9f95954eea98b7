package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The pre-tokenizers against their regexes. The hand-written GPT-2 and Llama 3 scanners are checked
 * against the original patterns run by {@link java.util.regex} with Unicode classes, on fixed and on
 * random texts built from the characters the patterns care about; and every pre-tokenizer of llama.cpp's
 * table against its list of regexes run the plain way (Unicode classes on the real text instead of
 * llama.cpp's collapsed text), which checks the collapsing, the choice of text per regex and the
 * hand-written stages together.
 */
class PreTokenizerTest {

    private static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern LLAMA3 = Pattern.compile(
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern QWEN2 = Pattern.compile(
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final String[] PARTS = {
        "a", "Z", "é", "日", "ß", "1", "٣", "½", " ", " ", "  ", "\n", "\r\n", "\t", "\u00A0", "\u3000",
        "'", "'s", "'S", "'re", "'LL", "'x", "!", "?", ".", ",", "-", "$", "🙂", "\u200D", "\u0301", "~"
    };

    @Test
    void gpt2Words() {
        assertEquals(List.of("Hello", ",", " world", "!", " it", "'s", "  ", " 123", "\n"),
                PreTokenizer.GPT2.split("Hello, world! it's   123\n"));
    }

    @Test
    void llama3Words() {
        assertEquals(List.of("Hello", " world", "\n\n", "123", "45", " it", "'S", " ", " ok", "!!!\n"),
                PreTokenizer.LLAMA3.split("Hello world\n\n12345 it'S  ok!!!\n"));
    }

    @Test
    void qwen2Words() {
        assertEquals(List.of("Hello", " world", "1", "2", "3", " ", " 日本", "🙂"),
                PreTokenizer.QWEN2.split("Hello world123  日本🙂"));
    }

    @Test
    void defaultSplitsPunctuationThenWordsThenDigits() {
        // [\p{P}$+<=>^~|]+ first, then the GPT-2 regex inside each piece, then \p{N}+ (which leaves the
        // space before the digits a word of its own), then runs of three ASCII digits.
        assertEquals(List.of("Hello", "!!", " ", "123", "456", "7", " x"), PreTokenizer.DEFAULT.split("Hello!! 1234567 x"));
    }

    @Test
    void scannersAgreeWithTheirRegexesOnRandomText() {
        Random random = new Random(42);
        for (int round = 0; round < 3000; round++) {
            StringBuilder text = new StringBuilder();
            int n = random.nextInt(12);
            for (int i = 0; i < n; i++) {
                text.append(PARTS[random.nextInt(PARTS.length)]);
            }
            String s = text.toString();
            assertEquals(regexWords(GPT2, s), PreTokenizer.GPT2.split(s), () -> "gpt2 on " + escaped(s));
            assertEquals(regexWords(LLAMA3, s), PreTokenizer.LLAMA3.split(s), () -> "llama3 on " + escaped(s));
            assertEquals(regexWords(QWEN2, s), PreTokenizer.QWEN2.split(s), () -> "qwen2 on " + escaped(s));
        }
    }

    /** Characters and strings the regexes of llama.cpp's pre-tokenizers treat specially. */
    private static final String[] LLAMA_CPP_PARTS = {
        "a", "Z", "Hello", "HELLO", "hello", "\u00C9COLE", "\u00E9cole", "\u01C5", "\u0294", "\u00B5", "\u03A9",
        "\u0416", "\u65E5", "\u9FA5", "\u9FA6", "\uAC00", "\uD7A3", "\u3042", "\u30A2", "\u0800",
        "\uD801\uDC00", "\uD835\uDD18", "1", "12", "123", "1234", "\u0663", "\u00BD", "\u216B",
        " ", "  ", "    ", "\t", "\n", "\r\n", "\r", "\u00A0", "\u3000", "\u0085", "\u2028",
        "'", "'s", "'S", "'ll", "'LL", "'re", "'d", "!", "?", ".", ",", "-", "/", "(", "|", ")", "$", "+", "~", "^",
        "`", "<", "=", "\u2026", "\u3002", "\uFF0C", "\u3001", "\u0964", "\u06D4", "\u060C", "\uFF01",
        "\uFF5E", "\u2018", "\u201C", "\u20AC", "\uD83D\uDE42", "\u0301", "\u0903", "\u200D", "\u0000",
        "\uE000", "IMGIMGABZ", "IMGIMGAZ", "<sentinel:12>", "<sentinel:x>"
    };

    private static final Pattern WHITE_SPACE = Pattern.compile("\\p{IsWhite_Space}");

    /** llama.cpp's own Tekken regex, before {@link PreTokenizer#TEKKEN} wrote its one-letter groups as classes. */
    private static final String TEKKEN_AS_LLAMA_CPP_WRITES_IT =
            "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?"
                    + "((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** The regex later llama.cpp versions give {@code gpt-4o}, as they write it. */
    private static final String GPT4O_AS_LLAMA_CPP_WRITES_IT =
            "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]"
                    + "|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*"
                    + "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    @Test
    void everyPreTokenizerAgreesWithItsRegexesRunPlainlyOnRandomText() {
        Random random = new Random(7);
        for (PreTokenizer p : PreTokenizer.values()) {
            List<Pattern> plain = plainPatterns(p);
            for (int round = 0; round < 3000; round++) {
                StringBuilder text = new StringBuilder();
                int n = random.nextInt(14);
                for (int i = 0; i < n; i++) {
                    text.append(LLAMA_CPP_PARTS[random.nextInt(LLAMA_CPP_PARTS.length)]);
                }
                String s = text.toString();
                assertEquals(plainWords(plain, s), p.split(s), () -> p + " on " + escaped(s));
            }
        }
    }

    @Test
    void longRunsDoNotExhaustTheStack() {
        String letters = "Ab\u00E9".repeat(40_000);
        String spaces = " ".repeat(100_000) + "x";
        String digits = "1".repeat(100_000);
        String punctuation = "!?.".repeat(40_000);
        for (PreTokenizer p : PreTokenizer.values()) {
            for (String s : List.of(letters, spaces, digits, punctuation)) {
                assertEquals(s, String.join("", p.split(s)), p.name());
            }
        }
    }

    /**
     * The regexes of {@code p} as they read with real Unicode classes on the real text. Two facts of llama.cpp
     * are kept: its {@code \p{S}} leaves out {@code ~}, and a regex without Unicode classes sees non-ASCII
     * whitespace as {@code \u000B} (see {@link #plainWords}). Tekken and GPT-4o are llama.cpp's own regexes.
     */
    private static List<Pattern> plainPatterns(PreTokenizer p) {
        List<Pattern> patterns = new ArrayList<>();
        for (String regex : p.regexes()) {
            String plain = switch (p) {
                case TEKKEN -> TEKKEN_AS_LLAMA_CPP_WRITES_IT;
                case GPT4O -> GPT4O_AS_LLAMA_CPP_WRITES_IT;
                default -> regex;
            };
            boolean unicodeClasses = plain.matches("(?s).*\\\\p\\{[NLPMS]\\}.*");
            plain = plain.replace("\\p{S}", "[\\p{S}&&[^~]]");
            if (plain.endsWith("+$")) {
                plain = plain.substring(0, plain.length() - 1) + "\\z"; // ECMAScript's $ is the end of the text
            }
            patterns.add(Pattern.compile(plain, unicodeClasses ? Pattern.UNICODE_CHARACTER_CLASS : 0));
        }
        return patterns;
    }

    /** The regexes applied one after the other, each to the pieces the previous ones left. */
    private static List<String> plainWords(List<Pattern> patterns, String text) {
        List<String> pieces = text.isEmpty() ? List.of() : List.of(text);
        for (Pattern pattern : patterns) {
            boolean unicode = (pattern.flags() & Pattern.UNICODE_CHARACTER_CLASS) != 0;
            List<String> next = new ArrayList<>();
            for (String piece : pieces) {
                if (unicode) {
                    next.addAll(regexWords(pattern, piece));
                } else {
                    // std::wregex's \s only knows ASCII whitespace, so llama.cpp shows it the others as \u000B.
                    String seen = piece.codePoints()
                            .map(cp -> cp >= 0x80 && WHITE_SPACE.matcher(Character.toString(cp)).matches() ? 0x0B : cp)
                            .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
                            .toString();
                    int from = 0;
                    for (String word : regexWords(pattern, seen)) {
                        next.add(piece.substring(from, from + word.length()));
                        from += word.length();
                    }
                }
            }
            pieces = next;
        }
        return pieces;
    }

    @Test
    void wordsAlwaysConcatenateToTheText() {
        String s = "x \u00A0\u2003y\r\n\r\n  z\t\t1234 🙂🙂 ''' é";
        for (PreTokenizer p : PreTokenizer.values()) {
            assertEquals(s, String.join("", p.split(s)), p.name());
        }
    }

    /** Matches plus the text between them, as llama.cpp's regex splitting. */
    private static List<String> regexWords(Pattern pattern, String text) {
        List<String> words = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                words.add(text.substring(last, m.start()));
            }
            words.add(m.group());
            last = m.end();
        }
        if (last < text.length()) {
            words.add(text.substring(last));
        }
        return words;
    }

    private static String escaped(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(cp -> b.append(cp < 0x20 || cp > 0x7E ? String.format("\\u{%X}", cp) : Character.toString(cp)));
        return b.toString();
    }
}
