package dev.rewind.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * A byte-level BPE vocabulary ({@code tokenizer.ggml.model = gpt2}), tokenized as llama.cpp does:
 * the text is cut into words by the pre-tokenizer of {@code tokenizer.ggml.pre}, each word's UTF-8
 * bytes are mapped to GPT-2's byte characters, and pieces are merged by {@code tokenizer.ggml.merges}
 * rank.
 */
public final class BytePairTokenizer implements Tokenizer {

    private final Vocabulary vocabulary;
    private final PreTokenizer preTokenizer;
    private final SpecialTokenSplitter splitter;
    private final RankMerger merger;
    private final byte[][] pieceBytes;

    BytePairTokenizer(Vocabulary vocabulary, PreTokenizer preTokenizer, MergeRanks ranks, boolean ignoreMerges) {
        this.vocabulary = vocabulary;
        this.preTokenizer = preTokenizer;
        this.splitter = new SpecialTokenSplitter(vocabulary);
        this.merger = new RankMerger(vocabulary, ranks, ignoreMerges);
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
        for (Fragment fragment : splitter.split(input, parseSpecial)) {
            switch (fragment) {
                case Fragment.Text(int start, int end) -> {
                    for (String word : preTokenizer.split(input.substring(start, end))) {
                        merger.tokenize(ByteUnicode.encodeUtf8(word), out);
                    }
                }
                case Fragment.Special(int id) -> out.add(id);
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

    /** llama.cpp's {@code token_to_piece(special = true)} for BPE vocabularies. */
    private byte[] pieceToBytes(int id) {
        int attributes = vocabulary.attributes(id);
        String piece = vocabulary.piece(id);
        if (TokenAttributes.has(attributes, TokenAttributes.VERBATIM)) {
            return Utf8.bytes(piece);
        }
        if (TokenAttributes.has(attributes, TokenAttributes.NORMAL)) {
            return decodeByteCharacters(piece);
        }
        if (TokenAttributes.has(attributes, TokenAttributes.BYTE)) {
            return new byte[] {ByteTokens.byteOf(piece, id)};
        }
        return new byte[0]; // UNUSED and UNDEFINED tokens print nothing
    }

    /**
     * Maps each character of a piece back to the byte it stands for. A character that stands for no
     * byte comes out as llama.cpp writes it: {@code [UNK_BYTE_0x<its UTF-8 in hex><piece>]}.
     */
    private static byte[] decodeByteCharacters(String piece) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
        piece.codePoints().forEach(cp -> {
            int b = ByteUnicode.decode(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder unknown = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : Utf8.bytes(Character.toString(cp))) {
                    unknown.append(String.format("%02x", u & 0xFF));
                }
                unknown.append(piece).append(']');
                out.writeBytes(Utf8.bytes(unknown.toString()));
            }
        });
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "BytePairTokenizer[" + vocabulary.size() + " tokens, " + preTokenizer + "]";
    }
}
