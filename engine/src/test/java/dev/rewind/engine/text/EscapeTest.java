package dev.rewind.engine.text;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EscapeTest {

    @Test
    void terminalInjectionBecomesVisibleText() {
        // general.name of the reproducer: OSC title, BEL, clear screen, CR and a fake line
        String name = "\u001b]0;pwned\u0007\u001b[2J\rFAKE LINE";
        assertEquals("\\e]0;pwned\\x07\\e[2J\\rFAKE LINE", Escape.visible(name));
        assertEquals("x\\nFAKE: injected line", Escape.visible("x\nFAKE: injected line"));
        assertEquals("xx\\0yy", Escape.visible("xx\0yy"));
        assertEquals("a\\tb\\x7F\\x85c", Escape.visible("a\tb\u007f\u0085c"));
    }

    @Test
    void bidiOverridesSeparatorsAndLoneSurrogatesAreEscaped() {
        assertEquals("abc\\u{202E}fed", Escape.visible("abc\u202efed"));
        assertEquals("a\\u{2028}b\\u{2029}c", Escape.visible("a\u2028b\u2029c"));
        assertEquals("\\u{FEFF}x", Escape.visible("\ufeffx"));
        assertEquals("\\u{D800}x\\u{DC00}", Escape.visible("\ud800x\udc00"));
        assertEquals("tag\\u{E0041}", Escape.visible("tag\udb40\udc41"));
    }

    @Test
    void printableTextIsKeptAsItIs() {
        String text = "Once upon a time — 東京 😀 \\n stays a backslash and an n, é, \ufffd";
        assertEquals(text, Escape.visible(text));
        assertTrue(Escape.isVisible(text));
        assertFalse(Escape.isVisible("a\nb"));
    }

    @Test
    void theRuleIsIdempotentAndItsOutputIsVisible() {
        Random random = new Random(42);
        for (int round = 0; round < 2000; round++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(40);
            for (int i = 0; i < length; i++) {
                sb.append(switch (random.nextInt(4)) {
                    case 0 -> (char) random.nextInt(0x100);
                    case 1 -> (char) random.nextInt(0x10000);
                    case 2 -> "\\e\\n";
                    default -> (char) ('a' + random.nextInt(26));
                });
            }
            String once = Escape.visible(sb);
            assertTrue(Escape.isVisible(once), once);
            assertEquals(once, Escape.visible(once));
            assertFalse(once.contains("\n") || once.contains("\r") || once.contains("\u001b"));
        }
    }

    @Test
    void anExcerptIsCutAndSaysHowMuchWasLeftOut() {
        assertEquals("abc", Escape.excerpt("abc", 3));
        assertEquals("ab…(2 more characters)", Escape.excerpt("abcd", 2));
        assertEquals("\\n…(1 more characters)", Escape.excerpt("\n\n", 1));
        assertEquals("a…(3 more characters)", Escape.excerpt("a😀b", 2), "a surrogate pair is never split");
    }
}
