package dev.rewind.tokenizer;

/**
 * How a vocabulary frames text, after llama.cpp's vocabulary flags.
 *
 * @param addBos         {@code encode(..., addSpecial = true, ...)} puts BOS first
 * @param addEos         {@code encode(..., addSpecial = true, ...)} puts EOS last
 * @param addSpacePrefix a space is put before text that starts the input or follows a special token
 *                       (SentencePiece); {@code decode} drops one leading space of the first piece
 * @param cleanSpaces    {@code decode} removes spaces before {@code ? ! . ,} and in some contractions,
 *                       as llama.cpp's {@code clean_up_tokenization_spaces}
 */
public record FramingRules(boolean addBos, boolean addEos, boolean addSpacePrefix, boolean cleanSpaces) {
}
