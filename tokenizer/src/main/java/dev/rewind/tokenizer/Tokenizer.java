package dev.rewind.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Text to token ids and back.
 *
 * <p>A GGUF vocabulary behaves as llama.cpp's tokenizer for it, and is one of two kinds chosen by
 * {@code tokenizer.ggml.model}: {@code llama} is a SentencePiece vocabulary ({@link SentencePieceTokenizer}:
 * merges by piece score, {@code ▁} for spaces, byte fallback) and {@code gpt2} is a byte-level BPE
 * vocabulary ({@link BytePairTokenizer}: merge ranks and the pre-tokenizer regexes chosen by
 * {@code tokenizer.ggml.pre}). A Hugging Face model folder ({@code tokenizer.json} and
 * {@code tokenizer_config.json}) behaves as the Hugging Face tokenizers do ({@link HuggingFaceTokenizer}).
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public sealed interface Tokenizer permits SentencePieceTokenizer, BytePairTokenizer, HuggingFaceTokenizer {

    /**
     * Builds the tokenizer described by {@code tokenizer.ggml.*} metadata.
     *
     * @throws TokenizerException naming the key if a required key is missing, a value is malformed,
     *         or the model or pre-tokenizer type is not supported
     */
    static Tokenizer fromMetadata(TokenizerMetadata metadata) {
        return TokenizerFactory.create(metadata);
    }

    /**
     * Reads the tokenizer of a Hugging Face model folder: {@code tokenizer.json}, with
     * {@code tokenizer_config.json}, {@code chat_template.jinja} and {@code generation_config.json} where
     * present. {@code encode(text, true, ...)} adds what {@code tokenizer.json}'s post-processor adds.
     *
     * @throws TokenizerException with one line naming the file and the JSON path if a file is missing, not
     *                            JSON, or describes something malformed or not supported (such as a model
     *                            type other than BPE)
     * @throws IOException        if a file cannot be read
     * @see HuggingFaceTokenizer#load(Path, HuggingFaceTokenizer.SpecialTokenRule)
     */
    static HuggingFaceTokenizer fromHuggingFace(Path folder) throws IOException {
        return HuggingFaceTokenizer.load(folder);
    }

    /**
     * Tokenizes {@code text} exactly as llama.cpp's {@code llama_tokenize(text, add_special, parse_special)}.
     *
     * @param addSpecial   add BOS in front (and EOS at the end) where the vocabulary asks for them:
     *                     {@code tokenizer.ggml.add_bos_token}/{@code add_eos_token}, or the type's
     *                     default when absent (SentencePiece: BOS yes, EOS no; byte-level BPE: neither,
     *                     except the {@code llama-bpe} pre-tokenizer, which adds BOS)
     * @param parseSpecial recognise the text of CONTROL and UNKNOWN tokens (e.g. {@code <s>}) and emit their
     *                     ids; when false that text is tokenized as plain text. USER_DEFINED tokens are
     *                     always recognised, as in llama.cpp.
     * @return the token ids, never null
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * The bytes token {@code id} stands for in output, as llama.cpp's {@code token_to_piece} with
     * {@code special = true}: SentencePiece pieces with {@code ▁} turned into spaces, {@code <0xNN>}
     * byte tokens as that byte, byte-level BPE pieces mapped back to their bytes, CONTROL, UNKNOWN and
     * USER_DEFINED tokens as their text, UNUSED and UNDEFINED tokens as nothing.
     *
     * @throws IndexOutOfBoundsException if {@code id} is not in {@code [0, vocabularySize())}
     */
    byte[] tokenBytes(int id);

    /**
     * Decodes a whole token sequence as llama.cpp's {@code llama_detokenize(ids, remove_special = false,
     * unparse_special = true)}: the pieces of {@link #tokenBytes} concatenated; if the vocabulary puts a
     * space in front of the text when encoding (SentencePiece's {@code add_space_prefix}), one leading
     * space of the <em>first</em> piece is dropped; byte-level BPE vocabularies that llama.cpp cleans up
     * ({@code gpt-2}, {@code llama-bpe}, {@code default}) lose spaces before {@code ? ! . ,} and before
     * some contractions. Invalid UTF-8 becomes U+FFFD.
     */
    default String decode(int[] ids) {
        return Detokenizer.decode(this, ids);
    }

    /**
     * A decoder for text produced one token at a time, e.g. generated text following a prompt. It emits
     * exactly the bytes of {@link #tokenBytes} (no space removal, no clean-up) and never splits a
     * multi-byte UTF-8 character between two results.
     */
    default StreamDecoder newStreamDecoder() {
        return new StreamDecoder(this::tokenBytes, false);
    }

    /**
     * A stream decoder; when {@code atTextStart} is true the first token is treated as the start of a
     * sequence and loses one leading space exactly where {@link #decode} drops it, so that the stream
     * equals {@code decode} for any sequence whose decoding needs no clean-up of spaces.
     */
    default StreamDecoder newStreamDecoder(boolean atTextStart) {
        return new StreamDecoder(this::tokenBytes, atTextStart && vocabulary().framing().addSpacePrefix());
    }

    /** The vocabulary: pieces, scores, types, special tokens and framing rules. */
    Vocabulary vocabulary();

    /** The number of tokens in the vocabulary. */
    default int vocabularySize() {
        return vocabulary().size();
    }

    /**
     * The raw vocabulary string of token {@code id} (e.g. {@code ▁the}, {@code <0x0A>}, {@code Ġthe}).
     *
     * @throws IndexOutOfBoundsException if {@code id} is out of range
     */
    default String piece(int id) {
        return vocabulary().piece(id);
    }

    /**
     * The type of token {@code id} as the vocabulary stores it.
     *
     * @throws IndexOutOfBoundsException if {@code id} is out of range
     */
    default TokenType tokenType(int id) {
        return vocabulary().type(id);
    }

    /** The beginning-of-sequence token, if the vocabulary has one. */
    default OptionalInt bos() {
        return Vocabulary.optional(vocabulary().specials().bos());
    }

    /** The end-of-sequence token, if the vocabulary has one. */
    default OptionalInt eos() {
        return Vocabulary.optional(vocabulary().specials().eos());
    }

    /** The end-of-turn token ({@code tokenizer.ggml.eot_token_id}, or found by its text), if any. */
    default OptionalInt eot() {
        return Vocabulary.optional(vocabulary().specials().eot());
    }

    /** The end-of-message token ({@code tokenizer.ggml.eom_token_id}, or {@code <|eom_id|>}), if any. */
    default OptionalInt eom() {
        return Vocabulary.optional(vocabulary().specials().eom());
    }

    /** The unknown token, if the vocabulary has one. */
    default OptionalInt unknown() {
        return Vocabulary.optional(vocabulary().specials().unknown());
    }

    /** The padding token, if the vocabulary has one. */
    default OptionalInt padding() {
        return Vocabulary.optional(vocabulary().specials().padding());
    }

    /**
     * Whether generating {@code id} ends generation: the EOS, EOT and EOM tokens, and (as llama.cpp)
     * tokens whose text marks the end of a turn, such as {@code <|im_end|>} or {@code <|eot_id|>}.
     */
    default boolean isEndOfGeneration(int id) {
        return vocabulary().isEndOfGeneration(id);
    }
}
