package dev.rewind.tokenizer;

import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamDecoderTest {

    /** A decoder over "tokens" that are raw byte strings. */
    private static StreamDecoder over(List<byte[]> pieces, boolean strip) {
        return new StreamDecoder(pieces::get, strip);
    }

    private static byte[] b(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void aCharacterSplitAcrossPiecesComesOutWhole() {
        // "é🙂" = C3 A9 F0 9F 99 82, cut as C3 | A9 F0 | 9F 99 | 82
        StreamDecoder d = over(List.of(b(0xC3), b(0xA9, 0xF0), b(0x9F, 0x99), b(0x82)), false);
        assertEquals("", d.accept(0));
        assertEquals("é", d.accept(1));
        assertEquals("", d.accept(2));
        assertEquals("🙂", d.accept(3));
        assertFalse(d.hasPending());
        assertEquals("", d.flush());
    }

    @Test
    void invalidBytesBecomeReplacementCharactersOnceCertain() {
        StreamDecoder d = over(List.of(b(0xFF), b(0xE2, 0x82), b('x')), false);
        assertEquals("\uFFFD", d.accept(0));
        assertEquals("", d.accept(1)); // E2 82 could still become €
        assertTrue(d.hasPending());
        assertEquals("\uFFFDx", d.accept(2)); // ... but 'x' ends it
    }

    @Test
    void flushReplacesAnIncompleteCharacter() {
        StreamDecoder d = over(List.of(b(0xF0, 0x9F)), false);
        assertEquals("", d.accept(0));
        assertEquals("\uFFFD", d.flush());
        assertFalse(d.hasPending());
    }

    @Test
    void atTextStartOnlyTheFirstPieceLosesOneSpace() {
        StreamDecoder d = over(List.of(b(' ', ' ', 'a'), b(' ', 'b')), true);
        assertEquals(" a", d.accept(0));
        assertEquals(" b", d.accept(1));
    }
}
