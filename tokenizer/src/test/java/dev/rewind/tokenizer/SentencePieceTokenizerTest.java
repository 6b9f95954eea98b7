package dev.rewind.tokenizer;

import java.util.List;
import org.junit.jupiter.api.Test;

import static dev.rewind.tokenizer.MapMetadata.byteId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SentencePieceTokenizerTest {

    // ids from 259: ▁=259 a=260 b=261 c=262 ab=263 bc=264 ▁a=265 ▁b=266
    private static final List<String> PIECES = List.of("▁", "a", "b", "c", "ab", "bc", "▁a", "▁b");
    private static final int SPACE = 259;
    private static final int A = 260;
    private static final int B = 261;
    private static final int C = 262;
    private static final int AB = 263;
    private static final int BC = 264;
    private static final int SPACE_A = 265;
    private static final int SPACE_B = 266;

    private static Tokenizer tokenizer(float ab, float bc) {
        return Tokenizer.fromMetadata(MapMetadata.sentencePiece(PIECES,
                new float[] {-10, -11, -12, -13, ab, bc, -3, -4}));
    }

    private static Tokenizer tokenizer() {
        return tokenizer(-2, -1);
    }

    @Test
    void isSentencePiece() {
        assertInstanceOf(SentencePieceTokenizer.class, tokenizer());
    }

    @Test
    void mergesTheHighestScoringPairFirst() {
        // "▁abc": bc (-1) beats ab (-2) and ▁a (-3); then ▁a merges; "▁abc" and "abc" are no pieces.
        assertArrayEquals(new int[] {SPACE_A, BC}, tokenizer(-2, -1).encode("abc", false, false));
        // With ab ahead of bc, ab merges first and blocks both bc and ▁a.
        assertArrayEquals(new int[] {SPACE, AB, C}, tokenizer(-1, -2).encode("abc", false, false));
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        // "▁abc" with ab and bc equally good: the leftmost pair (ab) wins, but ▁a (-3) is worse than both.
        assertArrayEquals(new int[] {SPACE, AB, C}, tokenizer(-1, -1).encode("abc", false, false));
    }

    @Test
    void spacesBecomeEscapedAndTextGetsASpacePrefix() {
        assertArrayEquals(new int[] {SPACE_A, SPACE_B}, tokenizer().encode("a b", false, false));
        assertArrayEquals(new int[] {SPACE, SPACE_A}, tokenizer().encode(" a", false, false));
    }

    @Test
    void charactersOutsideTheVocabularyFallBackToBytes() {
        assertArrayEquals(new int[] {SPACE_A, byteId(0xC3), byteId(0xA9)}, tokenizer().encode("aé", false, false));
        assertArrayEquals(new int[] {SPACE, byteId(0xF0), byteId(0x9F), byteId(0x99), byteId(0x82)},
                tokenizer().encode("🙂", false, false));
    }

    @Test
    void addsBosButNotEosByDefault() {
        Tokenizer t = tokenizer();
        assertArrayEquals(new int[] {1, SPACE_A}, t.encode("a", true, false));
        assertArrayEquals(new int[] {SPACE_A}, t.encode("a", false, false));
        assertArrayEquals(new int[] {1}, t.encode("", true, false));
        assertArrayEquals(new int[] {}, t.encode("", false, false));
    }

    @Test
    void bosAndEosFollowTheMetadataFlags() {
        Tokenizer eosToo = Tokenizer.fromMetadata(MapMetadata.sentencePiece(PIECES, new float[8])
                .put("tokenizer.ggml.add_eos_token", true));
        assertArrayEquals(new int[] {1, SPACE_A, 2}, eosToo.encode("a", true, false));
        Tokenizer noBos = Tokenizer.fromMetadata(MapMetadata.sentencePiece(PIECES, new float[8])
                .put("tokenizer.ggml.add_bos_token", false));
        assertArrayEquals(new int[] {SPACE_A}, noBos.encode("a", true, false));
    }

    @Test
    void specialTokenTextIsParsedOnlyWhenAsked() {
        Tokenizer t = tokenizer();
        // Text after a special token gets a space prefix again.
        assertArrayEquals(new int[] {SPACE_A, 2, SPACE_B}, t.encode("a</s>b", false, true));
        int[] plain = t.encode("a</s>b", false, false);
        assertFalse(contains(plain, 2), "</s> must stay text without parse_special");
        assertEquals("a</s>b", t.decode(plain));
    }

    @Test
    void userDefinedTokensAreAlwaysSplitOut() {
        MapMetadata m = MapMetadata.sentencePiece(List.of("▁", "a", "<tag>"), new float[3]);
        int[] types = ((int[]) m.ints("tokenizer.ggml.token_type").orElseThrow()).clone();
        types[261] = 4; // <tag> is USER_DEFINED
        Tokenizer t = Tokenizer.fromMetadata(m.put("tokenizer.ggml.token_type", types));
        // The text after the special token gets a space prefix again.
        assertArrayEquals(new int[] {259, 260, 261, 259, 260}, t.encode("a<tag>a", false, false));
    }

    @Test
    void decodeDropsTheSpacePrefixOfTheFirstPieceOnly() {
        Tokenizer t = tokenizer();
        assertEquals("a b", t.decode(new int[] {SPACE_A, SPACE_B}));
        assertEquals(" b", t.decode(new int[] {SPACE, SPACE_B}));
        // After BOS nothing is stripped: llama.cpp strips from the first piece only, and BOS is "<s>".
        assertEquals("<s> a", t.decode(new int[] {1, SPACE_A}));
        assertEquals("é", t.decode(new int[] {byteId(0xC3), byteId(0xA9)}));
    }

    @Test
    void tokenBytesFollowTokenToPiece() {
        Tokenizer t = tokenizer();
        assertArrayEquals(new byte[] {' ', 'a'}, t.tokenBytes(SPACE_A));
        assertArrayEquals(new byte[] {(byte) 0xC3}, t.tokenBytes(byteId(0xC3)));
        assertArrayEquals("<s>".getBytes(), t.tokenBytes(1));
        assertArrayEquals("<unk>".getBytes(), t.tokenBytes(0));
        assertEquals("▁a", t.piece(SPACE_A));
        assertEquals(TokenType.BYTE, t.tokenType(byteId(0)));
    }

    @Test
    void streamingHoldsBackAnEmojiUntilItsLastByte() {
        Tokenizer t = tokenizer();
        int[] ids = t.encode("a🙂b", false, false);
        assertArrayEquals(new int[] {SPACE_A, byteId(0xF0), byteId(0x9F), byteId(0x99), byteId(0x82), B}, ids);
        StreamDecoder d = t.newStreamDecoder();
        assertEquals(" a", d.accept(ids[0]));
        assertEquals("", d.accept(ids[1]));
        assertEquals("", d.accept(ids[2]));
        assertEquals("", d.accept(ids[3]));
        assertTrue(d.hasPending());
        assertEquals("🙂", d.accept(ids[4]));
        assertEquals("b", d.accept(ids[5]));
        assertEquals("", d.flush());
        assertEquals("a🙂b", t.decode(ids));

        StreamDecoder atStart = t.newStreamDecoder(true);
        StringBuilder s = new StringBuilder();
        for (int id : ids) {
            s.append(atStart.accept(id));
        }
        assertEquals("a🙂b", s.append(atStart.flush()).toString());
    }

    @Test
    void specialTokensAndEndOfGeneration() {
        Tokenizer t = tokenizer();
        assertEquals(1, t.bos().orElseThrow());
        assertEquals(2, t.eos().orElseThrow());
        assertTrue(t.padding().isEmpty(), "padding 4294967295 means none");
        assertTrue(t.isEndOfGeneration(2));
        assertFalse(t.isEndOfGeneration(1));
        assertFalse(t.isEndOfGeneration(SPACE_A));
        assertEquals(259 + PIECES.size(), t.vocabularySize());
    }

    private static boolean contains(int[] ids, int id) {
        for (int i : ids) {
            if (i == id) {
                return true;
            }
        }
        return false;
    }
}
