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
 * random texts built from the characters the patterns care about.
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
