package dev.rewind.tokenizer;

import java.nio.charset.StandardCharsets;

/** UTF-8 helpers shared by encoding and decoding. */
final class Utf8 {

    private Utf8() {
    }

    /**
     * The length of the longest prefix of {@code bytes} that does not end inside a multi-byte sequence
     * that more bytes could still complete. Everything before that point is either whole characters
     * or bytes that are invalid whatever follows.
     */
    static int completePrefixLength(byte[] bytes) {
        int n = bytes.length;
        // A sequence is at most 4 bytes, so only the last 3 bytes can be an incomplete start.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // continuation byte: look further back for the lead byte
            }
            int need = sequenceLength(b);
            if (need <= back) {
                return n; // the sequence (valid or not) is already complete in length
            }
            // A lead byte whose sequence is still short: hold it back if what we have could be valid.
            return couldBeValidPrefix(bytes, n - back, back) ? n - back : n;
        }
        return n;
    }

    /** The length a sequence starting with lead byte {@code b} has, or 1 for a byte that cannot lead. */
    static int sequenceLength(int b) {
        if (b < 0x80) {
            return 1;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            return 2;
        }
        if (b >= 0xE0 && b <= 0xEF) {
            return 3;
        }
        if (b >= 0xF0 && b <= 0xF4) {
            return 4;
        }
        return 1;
    }

    /** Whether {@code length} bytes from {@code start} are a valid start of a multi-byte sequence. */
    private static boolean couldBeValidPrefix(byte[] bytes, int start, int length) {
        int lead = bytes[start] & 0xFF;
        for (int i = 1; i < length; i++) {
            int c = bytes[start + i] & 0xFF;
            int lo = 0x80;
            int hi = 0xBF;
            if (i == 1) {
                // The second byte's range is narrower after some lead bytes (no overlongs, no surrogates,
                // nothing above U+10FFFF).
                switch (lead) {
                    case 0xE0 -> lo = 0xA0;
                    case 0xED -> hi = 0x9F;
                    case 0xF0 -> lo = 0x90;
                    case 0xF4 -> hi = 0x8F;
                    default -> { }
                }
            }
            if (c < lo || c > hi) {
                return false;
            }
        }
        return true;
    }

    /** The UTF-8 bytes of {@code s} (an unpaired surrogate becomes {@code ?}, as Java encodes it). */
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * {@code s} as llama.cpp would see its UTF-8 bytes: Java encodes an unpaired surrogate as {@code ?},
     * so such a string is replaced by its round trip through UTF-8; any other string is returned as is.
     */
    static String wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length()
                        && Character.isLowSurrogate(s.charAt(i + 1));
                if (!paired) {
                    return new String(bytes(s), StandardCharsets.UTF_8);
                }
                i++;
            }
        }
        return s;
    }
}
