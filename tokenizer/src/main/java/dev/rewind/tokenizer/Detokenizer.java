package dev.rewind.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Whole-sequence decoding as llama.cpp's {@code llama_detokenize(remove_special = false,
 * unparse_special = true)}.
 */
final class Detokenizer {

    private Detokenizer() {
    }

    static String decode(Tokenizer tokenizer, int[] ids) {
        FramingRules framing = tokenizer.vocabulary().framing();
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int i = 0; i < ids.length; i++) {
            byte[] piece = tokenizer.tokenBytes(ids[i]);
            // The space encode put in front of the text (add_space_prefix) is not part of it: llama.cpp
            // strips one leading space from the first piece only, whatever that piece is (so after a
            // BOS token nothing is stripped, and "<s> Hello" keeps its space).
            int from = i == 0 && framing.addSpacePrefix() && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            out.write(piece, from, piece.length - from);
        }
        byte[] bytes = out.toByteArray();
        if (framing.cleanSpaces()) {
            bytes = cleanSpaces(bytes);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * llama.cpp's clean-up of tokenization spaces, three passes over the bytes: drop a space before
     * {@code ? ! . ,}; turn {@code " ' "} into {@code "'"}; drop a space before {@code 's 'm 're 've}.
     */
    static byte[] cleanSpaces(byte[] text) {
        int n = text.length;
        byte[] t = text.clone();
        // Pass 1: " ?", " !", " .", " ,"
        int total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
                total--;
            }
            t[total++] = x;
        }
        // Pass 2: " ' " becomes "'"
        n = total;
        total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
                total--;
                // The space after the apostrophe is dropped too. llama.cpp overwrites it with NUL, so it
                // no longer counts as the space before the next character.
                t[++i] = 0;
            }
            t[total++] = x;
        }
        // Pass 3: " 's", " 'm", " 're", " 've"
        n = total;
        total = n > 0 ? 1 : 0;
        for (int i = 1; i < n; i++) {
            byte x = t[i];
            if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
                byte x1 = t[i + 1];
                if (x1 == 's' || x1 == 'm') {
                    total--;
                } else if (x1 != 't' && x1 != 'd' && i + 2 < n) {
                    byte x2 = t[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
                        total--;
                    }
                }
            }
            t[total++] = x;
        }
        return Arrays.copyOf(t, total);
    }
}
