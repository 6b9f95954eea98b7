package dev.rewind.models;

import dev.rewind.engine.text.Escape;
import dev.rewind.tokenizer.VisibleText;
import java.util.Random;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tokenizer module carries its own copy of the escaping rule (it depends on the JDK only): the copy
 * must give exactly what the engine's {@link Escape#visible} gives, on random text full of what the rule escapes.
 */
class EscapeRuleTwinTest {

    @Test
    void theTokenizersCopyOfTheRuleEscapesExactlyAsTheEngine() {
        Random random = new Random(9);
        int[] interesting = {0, '\n', '\r', '\t', 0x1b, 0x7f, 0x85, 0x9f, 0xa0, 0xad, 0x200b, 0x200e, 0x202e, 0x2028, 0x2029, 0xfeff,
                0xd800, 0xdbff, 0xdc00, 0xdfff, '\\', 'a', 0x4e00, 0x1f600, 0xe0001, 0x10ffff};
        for (int n = 0; n < 20_000; n++) {
            StringBuilder b = new StringBuilder();
            for (int k = random.nextInt(30); k > 0; k--) {
                int cp = random.nextInt(3) == 0 ? random.nextInt(0x110000) : interesting[random.nextInt(interesting.length)];
                if (cp >= 0xd800 && cp <= 0xdfff) {
                    b.append((char) cp); // lone or paired by chance
                } else {
                    b.appendCodePoint(cp);
                }
            }
            String s = b.toString();
            assertEquals(Escape.visible(s), VisibleText.visible(s), s);
        }
    }
}
