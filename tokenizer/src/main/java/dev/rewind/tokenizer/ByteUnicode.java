package dev.rewind.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible map from bytes to printable characters, used by byte-level BPE vocabularies: the
 * bytes {@code !}…{@code ~}, {@code ¡}…{@code ¬} and {@code ®}…{@code ÿ} stand for themselves, and the
 * other 68 bytes, in order, for U+0100, U+0101, … (so a space is {@code Ġ}, U+0120).
 */
final class ByteUnicode {

    private static final char[] BYTE_TO_CHAR = buildByteToChar();
    private static final int[] CHAR_TO_BYTE = buildCharToByte();

    private ByteUnicode() {
    }

    /** The character that stands for byte {@code b}. */
    static char encode(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a character stands for, or -1 if it stands for none. */
    static int decode(int codePoint) {
        return codePoint >= 0 && codePoint < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[codePoint] : -1;
    }

    /** The UTF-8 bytes of {@code word}, each replaced by the character that stands for it. */
    static String encodeUtf8(String word) {
        byte[] bytes = Utf8.bytes(word);
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(chars);
    }

    private static boolean standsForItself(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    private static char[] buildByteToChar() {
        char[] table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            table[b] = standsForItself(b) ? (char) b : (char) next++;
        }
        return table;
    }

    private static int[] buildCharToByte() {
        int[] table = new int[256 + 68];
        Arrays.fill(table, -1);
        char[] forward = buildByteToChar();
        for (int b = 0; b < 256; b++) {
            table[forward[b]] = b;
        }
        return table;
    }
}
