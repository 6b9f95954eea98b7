package dev.rewind.align.dera;

/**
 * Two models whose vocabularies differ cannot be mixed token by token. The message names the first
 * token that differs (id and both pieces) or the first extra token that is not padding.
 */
public final class VocabularyMismatchException extends IllegalArgumentException {

    private final int tokenId;

    VocabularyMismatchException(int tokenId, String message) {
        super(message);
        this.tokenId = tokenId;
    }

    /** The id of the first token that differs, or -1 when the special tokens differ. */
    public int tokenId() {
        return tokenId;
    }
}
