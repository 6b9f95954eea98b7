package dev.rewind.tokenizer;

/**
 * A SentencePiece-style vocabulary ({@code tokenizer.ggml.model = llama}), tokenized as llama.cpp's
 * SPM tokenizer does: spaces become {@code ▁}, a space is put in front of text that starts the input or
 * follows a special token (when {@code add_space_prefix}), neighbouring pieces are merged highest
 * score first, and characters no piece covers fall back to {@code <0xNN>} byte tokens.
 */
public final class SentencePieceTokenizer implements Tokenizer {

    /** The escaped space, U+2581 LOWER ONE EIGHTH BLOCK. */
    static final char ESCAPED_SPACE = '\u2581';

    private final Vocabulary vocabulary;
    private final SpecialTokenSplitter splitter;
    private final ScoreMerger merger;
    private final byte[][] pieceBytes;

    SentencePieceTokenizer(Vocabulary vocabulary) {
        this.vocabulary = vocabulary;
        this.splitter = new SpecialTokenSplitter(vocabulary);
        this.merger = new ScoreMerger(vocabulary);
        this.pieceBytes = new byte[vocabulary.size()][];
        for (int id = 0; id < pieceBytes.length; id++) {
            pieceBytes[id] = pieceToBytes(id);
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        String input = Utf8.wellFormed(text);
        FramingRules framing = vocabulary.framing();
        IntList out = new IntList(input.length() / 3 + 4);
        if (addSpecial && framing.addBos()) {
            out.add(vocabulary.specials().bos());
        }
        boolean previousWasSpecial = true;
        for (Fragment fragment : splitter.split(input, parseSpecial)) {
            switch (fragment) {
                case Fragment.Text(int start, int end) -> {
                    String part = input.substring(start, end);
                    if (framing.addSpacePrefix() && previousWasSpecial) {
                        part = " " + part;
                    }
                    merger.tokenize(part.replace(' ', ESCAPED_SPACE), out);
                    previousWasSpecial = false;
                }
                case Fragment.Special(int id) -> {
                    out.add(id);
                    previousWasSpecial = true;
                }
            }
        }
        if (addSpecial && framing.addEos()) {
            out.add(vocabulary.specials().eos());
        }
        return out.toArray();
    }

    @Override
    public byte[] tokenBytes(int id) {
        return pieceBytes[id].clone();
    }

    @Override
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** llama.cpp's {@code token_to_piece(special = true)} for SPM vocabularies. */
    private byte[] pieceToBytes(int id) {
        int attributes = vocabulary.attributes(id);
        String piece = vocabulary.piece(id);
        if (TokenAttributes.has(attributes, TokenAttributes.VERBATIM)) {
            return Utf8.bytes(piece);
        }
        if (TokenAttributes.has(attributes, TokenAttributes.NORMAL)) {
            return Utf8.bytes(piece.replace(ESCAPED_SPACE, ' '));
        }
        if (TokenAttributes.has(attributes, TokenAttributes.BYTE)) {
            return new byte[] {ByteTokens.byteOf(piece, id)};
        }
        return new byte[0]; // UNUSED and UNDEFINED tokens print nothing
    }

    @Override
    public String toString() {
        return "SentencePieceTokenizer[" + vocabulary.size() + " tokens]";
    }
}
