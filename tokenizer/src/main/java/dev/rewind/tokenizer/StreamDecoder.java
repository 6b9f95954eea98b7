package dev.rewind.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Turns tokens into text one at a time without ever splitting a UTF-8 character: bytes of an
 * incomplete multi-byte sequence are held back until the tokens that complete it arrive. Bytes that
 * can never form a valid character come out as U+FFFD as soon as that is certain.
 *
 * <p>Not thread-safe: use one decoder per generated stream.
 */
public final class StreamDecoder {

    private final IntFunction<byte[]> pieces;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private boolean stripLeadingSpace;
    private byte[] pending = new byte[0];

    StreamDecoder(IntFunction<byte[]> pieces, boolean stripLeadingSpace) {
        this.pieces = pieces;
        this.stripLeadingSpace = stripLeadingSpace;
    }

    /**
     * Adds token {@code id} and returns the text that is now complete: every whole character of the
     * bytes so far, minus a trailing incomplete (but still possibly valid) multi-byte sequence, which
     * is kept for the next call. May return the empty string.
     */
    public String accept(int id) {
        byte[] piece = pieces.apply(id);
        int from = 0;
        if (stripLeadingSpace && piece.length > 0) {
            if (piece[0] == ' ') {
                from = 1;
            }
            stripLeadingSpace = false;
        } else if (stripLeadingSpace) {
            // An empty piece (e.g. an unused token) consumes the strip as llama.cpp's detokenizer does.
            stripLeadingSpace = false;
        }
        byte[] all = Arrays.copyOf(pending, pending.length + piece.length - from);
        System.arraycopy(piece, from, all, pending.length, piece.length - from);
        int complete = Utf8.completePrefixLength(all);
        pending = Arrays.copyOfRange(all, complete, all.length);
        return decode(all, complete);
    }

    /** Returns whatever is held back, with invalid or incomplete bytes as U+FFFD, and empties the decoder. */
    public String flush() {
        byte[] rest = pending;
        pending = new byte[0];
        return decode(rest, rest.length);
    }

    /** Whether bytes of an incomplete character are held back. */
    public boolean hasPending() {
        return pending.length > 0;
    }

    private String decode(byte[] bytes, int length) {
        if (length == 0) {
            return "";
        }
        try {
            return utf8.reset().decode(ByteBuffer.wrap(bytes, 0, length)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("UTF-8 decoding with replacement cannot fail", e);
        }
    }
}
