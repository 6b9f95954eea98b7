package dev.rewind.align.decode;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextStreamTest {

    private static final class Pieces implements DecodeListener {
        final List<String> pieces = new ArrayList<>();

        @Override
        public void onText(String piece) {
            assertFalse(piece.isEmpty(), "no empty piece");
            pieces.add(piece);
        }

        String joined() {
            return String.join("", pieces);
        }
    }

    @Test
    void aStopStringSplitAcrossPiecesIsNeverSentAndEndsTheAnswer() {
        Pieces out = new Pieces();
        TextStream s = new TextStream(out, List.of("END"), false);
        StringBuilder text = new StringBuilder();
        for (String piece : new String[]{"Hello E", "N", "D world"}) {
            text.append(piece);
            s.update(text, 0);
        }
        assertTrue(s.stopped());
        assertEquals("Hello ", s.finish(text));
        assertEquals("Hello ", out.joined());
        assertFalse(out.joined().contains("E"), "the held-back start of the stop string never went out");
    }

    @Test
    void strippingHoldsBackWhiteSpaceThatMayEndTheAnswer() {
        Pieces out = new Pieces();
        TextStream s = new TextStream(out, List.of(), true);
        StringBuilder text = new StringBuilder();
        for (String piece : new String[]{"  \n", "a b", "  ", "c ", "\n"}) {
            text.append(piece);
            s.update(text, 0);
            assertFalse(out.joined().startsWith(" ") || out.joined().endsWith(" "), "sent: '" + out.joined() + "'");
        }
        assertEquals("a b  c", s.finish(text));
        assertEquals("a b  c", out.joined());
    }

    /**
     * Random texts, chunkings and stop strings: the answer is the text up to the first chunk that completes
     * a stop string, cut at the earliest stop string in it (what a generation halted there has), and the
     * pieces make it up.
     */
    @Test
    void piecesAlwaysConcatenateToTheAnswer() {
        SplittableRandom random = new SplittableRandom(12);
        String alphabet = "ab \n\u00e9";
        for (int round = 0; round < 3000; round++) {
            int length = random.nextInt(40);
            StringBuilder full = new StringBuilder();
            for (int i = 0; i < length; i++) {
                full.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            List<String> stops = new ArrayList<>();
            for (int k = random.nextInt(3); k > 0; k--) {
                StringBuilder stop = new StringBuilder();
                for (int i = 1 + random.nextInt(3); i > 0; i--) {
                    stop.append(alphabet.charAt(random.nextInt(alphabet.length())));
                }
                stops.add(stop.toString());
            }
            boolean strip = random.nextBoolean();
            Pieces out = new Pieces();
            TextStream s = new TextStream(out, stops, strip);
            StringBuilder text = new StringBuilder();
            int cut = -1;
            int at = 0;
            while (at < full.length() && cut < 0) {
                int next = Math.min(full.length(), at + 1 + random.nextInt(4));
                text.append(full, at, next);
                at = next;
                // the reference: the first chunk that completes a stop string ends the text at the earliest one it holds
                for (String stop : stops) {
                    int i = text.indexOf(stop);
                    if (i >= 0 && (cut < 0 || i < cut)) {
                        cut = i;
                    }
                }
                assertEquals(cut >= 0, s.update(text, 0));
            }
            String kept = cut >= 0 ? text.substring(0, cut) : text.toString();
            String expected = strip ? kept.strip() : kept;
            String answer = s.finish(text);
            String context = "text '" + full + "', stops " + stops + ", strip " + strip;
            assertEquals(expected, answer, context);
            assertEquals(expected, out.joined(), context);
        }
    }
}
