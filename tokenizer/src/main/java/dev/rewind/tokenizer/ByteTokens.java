package dev.rewind.tokenizer;

/** SentencePiece byte tokens: the pieces {@code <0x00>} … {@code <0xFF>}. */
final class ByteTokens {

    private ByteTokens() {
    }

    /** The piece of the byte token for {@code b}, e.g. {@code <0x0A>}. */
    static String pieceOf(int b) {
        return String.format("<0x%02X>", b & 0xFF);
    }

    /**
     * The byte a BYTE token stands for, read from its piece {@code <0xNN>} (as llama.cpp does, from the
     * two characters after {@code <0x}).
     */
    static byte byteOf(String piece, int id) {
        if (piece.length() < 5 || !piece.startsWith("<0x")) {
            throw new TokenizerException("token " + id + " has type BYTE but its piece '" + piece
                    + "' is not of the form <0xNN> (tokenizer.ggml.tokens / tokenizer.ggml.token_type)");
        }
        try {
            return (byte) Integer.parseInt(piece.substring(3, 5), 16);
        } catch (NumberFormatException e) {
            throw new TokenizerException("token " + id + " has type BYTE but its piece '" + piece
                    + "' is not of the form <0xNN> (tokenizer.ggml.tokens / tokenizer.ggml.token_type)", e);
        }
    }

    /**
     * For each byte value, the token SentencePiece byte fallback emits: the {@code <0xNN>} piece, else
     * (as llama.cpp) a piece that is that single character, else -1.
     */
    static int[] fallbackTable(Vocabulary vocabulary) {
        int[] table = new int[256];
        for (int b = 0; b < 256; b++) {
            int id = vocabulary.idOrNegative(pieceOf(b));
            if (id < 0 && b < 0x80) {
                id = vocabulary.idOrNegative(String.valueOf((char) b));
            }
            table[b] = id;
        }
        return table;
    }
}
