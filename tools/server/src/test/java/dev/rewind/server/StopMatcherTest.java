package dev.rewind.server;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopMatcherTest {

    @Test
    void holdsBackAPossibleStartAndCutsAtTheStop() {
        StopMatcher m = new StopMatcher(List.of("\nUser:"));
        assertEquals("Hello", m.accept("Hello\n"));
        assertEquals("", m.accept("Us"));
        assertEquals("", m.accept("er: more"));
        assertTrue(m.stopped());
        assertEquals("", m.accept("ignored"));
    }

    @Test
    void releasesHeldTextThatWasNotAStop() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("a", m.accept("aE"));
        assertEquals("Ex", m.accept("x"));
        assertEquals("", m.accept("EN"));
        assertEquals("EN", m.flush());
        assertFalse(m.stopped());
    }

    /** Random texts cut into random pieces: the output is always the text up to the earliest stop. */
    @Test
    void anyCuttingGivesTheTextBeforeTheEarliestStop() {
        SplittableRandom random = new SplittableRandom(42);
        List<String> stops = List.of("ab", "bca", "cc");
        for (int round = 0; round < 2000; round++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(30);
            for (int i = 0; i < length; i++) {
                text.append((char) ('a' + random.nextInt(4)));
            }
            String t = text.toString();
            int cut = t.length();
            for (String s : stops) {
                int at = t.indexOf(s);
                if (at >= 0) {
                    cut = Math.min(cut, at);
                }
            }
            StopMatcher m = new StopMatcher(stops);
            StringBuilder out = new StringBuilder();
            int i = 0;
            while (i < t.length()) {
                int j = Math.min(t.length(), i + 1 + random.nextInt(4));
                out.append(m.accept(t.substring(i, j)));
                i = j;
            }
            if (!m.stopped()) {
                out.append(m.flush());
            }
            assertEquals(t.substring(0, cut), out.toString(), t);
            assertEquals(cut < t.length(), m.stopped(), t);
        }
    }
}
