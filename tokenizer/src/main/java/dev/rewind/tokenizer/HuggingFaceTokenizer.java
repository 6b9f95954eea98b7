package dev.rewind.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A tokenizer read from a Hugging Face model folder ({@code tokenizer.json} and {@code tokenizer_config.json}),
 * encoding and decoding as the Hugging Face tokenizers do: added tokens are found first, the text between
 * them is normalized, pre-tokenized and run through the BPE model, and the post-processor adds the special
 * tokens. Where transformers.js (which recorded this project's fixtures) and the Rust library differ, the class
 * javadoc of each part says which one it follows.
 *
 * <p>For the rest of the engine it is a {@link Tokenizer} like the GGUF ones: {@code parseSpecial = false}
 * leaves the text of special added tokens as text (non-special added tokens are always found, like
 * llama.cpp's USER_DEFINED tokens), {@link #tokenBytes} is a token's bytes through the decoder, and
 * {@link #decode(int[])} is the library's {@code decode(ids)}, clean-up of tokenization spaces included when
 * {@code tokenizer_config.json} asks for it.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class HuggingFaceTokenizer implements Tokenizer {

    /** Which rule decides the special tokens that {@code encode(..., addSpecial = true, ...)} adds. */
    public enum SpecialTokenRule {
        /**
         * {@code tokenizer.json}'s post-processor, as the tokenizers library and transformers.js apply it
         * (so a ByteLevel post-processor adds nothing even where {@code add_bos_token} is true).
         */
        POST_PROCESSOR,
        /**
         * As Python transformers' Llama and Gemma tokenizers ({@code tokenizer_class} LlamaTokenizer,
         * LlamaTokenizerFast, CodeLlamaTokenizer(Fast), GemmaTokenizer(Fast)): BOS in front when
         * {@code add_bos_token} (default true) and EOS at the end when {@code add_eos_token} (default false); other
         * classes keep the post-processor.
         */
        TRANSFORMERS
    }

    /** Everything a tokenizer is made of, as the loader reads it. */
    record Parts(Vocabulary vocabulary, HfAddedTokens addedTokens, HfNormalizer normalizer,
                 HfPreTokenizer preTokenizer, HfBpe model, HfPostProcessor postProcessor, HfDecoder decoder,
                 boolean[] added, boolean[] skipped, HuggingFaceConfig config) {
    }

    private final Parts parts;
    private final byte[][] tokenBytes;
    private final boolean stripsLeadingSpace;

    HuggingFaceTokenizer(Parts parts) {
        this.parts = parts;
        Vocabulary vocabulary = parts.vocabulary();
        this.tokenBytes = new byte[vocabulary.size()][];
        for (int id = 0; id < tokenBytes.length; id++) {
            String piece = vocabulary.piece(id);
            tokenBytes[id] = parts.decoder() == null ? Utf8.bytes(piece)
                    : HfDecoder.tokenBytes(parts.decoder(), piece, parts.added()[id]);
        }
        this.stripsLeadingSpace = parts.decoder() != null && HfDecoder.stripsLeadingSpace(parts.decoder());
    }

    /**
     * Reads the tokenizer of a model folder with {@link SpecialTokenRule#POST_PROCESSOR}.
     *
     * @throws TokenizerException with one line naming the file and the JSON path if a file is missing, not
     *                            JSON, or describes something malformed or not supported
     * @throws IOException        if a file cannot be read
     */
    public static HuggingFaceTokenizer load(Path folder) throws IOException {
        return load(folder, SpecialTokenRule.POST_PROCESSOR);
    }

    /**
     * Reads the tokenizer of a model folder, with {@code rule} deciding what {@code addSpecial} adds.
     *
     * @throws TokenizerException with one line naming the file and the JSON path if a file is missing, not
     *                            JSON, or describes something malformed or not supported
     * @throws IOException        if a file cannot be read
     */
    public static HuggingFaceTokenizer load(Path folder, SpecialTokenRule rule) throws IOException {
        return new HuggingFaceTokenizer(HuggingFaceLoader.read(folder, rule));
    }

    /** What {@code tokenizer_config.json} says: BOS/EOS flags and texts, chat templates, clean-up. */
    public HuggingFaceConfig config() {
        return parts.config();
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        List<HfAddedTokens.Segment> segments = new ArrayList<>();
        for (HfAddedTokens.Segment raw : parts.addedTokens().splitRaw(wellFormed(text), parseSpecial)) {
            switch (raw) {
                case HfAddedTokens.Segment.Token token -> segments.add(token);
                case HfAddedTokens.Segment.Text(String piece, boolean atOrigin) -> {
                    String normalized = parts.normalizer() == null ? piece : parts.normalizer().normalize(piece);
                    parts.addedTokens().splitNormalized(normalized, atOrigin, parseSpecial, segments);
                }
            }
        }
        for (HfAddedTokens.Segment segment : segments) {
            switch (segment) {
                case HfAddedTokens.Segment.Token(int id) -> out.add(id);
                case HfAddedTokens.Segment.Text(String piece, boolean atOrigin) -> {
                    List<HfPreTokenizer.Piece> words = List.of(new HfPreTokenizer.Piece(piece, atOrigin));
                    if (parts.preTokenizer() != null) {
                        words = parts.preTokenizer().split(words);
                    }
                    for (HfPreTokenizer.Piece word : words) {
                        parts.model().tokenize(word.text(), out);
                    }
                }
            }
        }
        return parts.postProcessor().process(out.toArray(), addSpecial);
    }

    /** {@link #decode(int[], boolean) decode(ids, false)}. */
    @Override
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The library's {@code decode(ids, skip_special_tokens)}: the token texts through the decoder, then the
     * clean-up of tokenization spaces if {@code tokenizer_config.json} asks for it ({@code " ."} to
     * {@code "."}, {@code " 's"} to {@code "'s"}, …). Skipped tokens are the special added tokens and those
     * named in {@code additional_special_tokens}.
     *
     * @throws IndexOutOfBoundsException if an id is not in {@code [0, vocabularySize())}
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        Vocabulary vocabulary = parts.vocabulary();
        List<HfDecoder.Chunk> chunks = new ArrayList<>(ids.length);
        List<String> pieces = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= vocabulary.size()) {
                throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary of "
                        + vocabulary.size() + " tokens");
            }
            if ((skipSpecialTokens && parts.skipped()[id]) || vocabulary.type(id) == TokenType.UNUSED) {
                continue;
            }
            chunks.add(HfDecoder.Chunk.of(vocabulary.piece(id), parts.added()[id]));
            pieces.add(vocabulary.piece(id));
        }
        String text;
        if (parts.decoder() == null) {
            text = String.join(" ", pieces); // the library's rule when there is no decoder
        } else {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (HfDecoder.Chunk chunk : parts.decoder().decode(chunks, true)) {
                out.writeBytes(chunk.bytes());
            }
            text = out.toString(StandardCharsets.UTF_8);
        }
        return parts.config().cleanUpTokenizationSpaces() ? cleanUpTokenizationSpaces(text) : text;
    }

    /**
     * The bytes token {@code id} stands for in the middle of a text: its piece through the decoder on its own
     * (GPT-2 byte characters to bytes, {@code ▁} to a space, {@code <0xNN>} to that byte; an added token's text
     * as it is). Steps that only act on the start or end of a whole text are left out.
     */
    @Override
    public byte[] tokenBytes(int id) {
        return tokenBytes[id].clone();
    }

    /**
     * A stream decoder; when {@code atTextStart} is true the first token loses one leading space if the decoder
     * drops it at the start of a text (a Strip after Fuse, or Metaspace), so that the stream equals
     * {@link #decode(int[])} for sequences that need no clean-up.
     */
    @Override
    public StreamDecoder newStreamDecoder(boolean atTextStart) {
        return new StreamDecoder(this::tokenBytes, atTextStart && stripsLeadingSpace);
    }

    @Override
    public Vocabulary vocabulary() {
        return parts.vocabulary();
    }

    /**
     * The clean-up of the Hugging Face libraries, in their order: a space is removed before {@code . ? ! ,},
     * {@code " ' "} becomes {@code "'"}, and a space is removed before {@code n't 'm 's 've 're}.
     */
    static String cleanUpTokenizationSpaces(String text) {
        return text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
                .replace(" 've", "'ve").replace(" 're", "'re");
    }

    /** {@code text} with unpaired surrogates replaced by U+FFFD, as a JavaScript TextEncoder writes them. */
    private static String wellFormed(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isSurrogate(text.charAt(i))) {
                StringBuilder out = new StringBuilder(text.length());
                text.codePoints().forEach(cp -> out.appendCodePoint(
                        cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE ? 0xFFFD : cp));
                return out.toString();
            }
        }
        return text;
    }

    @Override
    public String toString() {
        return "HuggingFaceTokenizer[" + parts.vocabulary().size() + " tokens]";
    }
}
