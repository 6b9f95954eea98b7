package dev.rewind.tokenizer;

/**
 * What a {@code tokenizer.ggml.pre} name means, after llama.cpp's table of pre-tokenizer types.
 *
 * @param splitter     how words are cut
 * @param ignoreMerges a word that is a piece becomes that token directly
 * @param addBos       the default of {@code add_bos_token}
 * @param cleanSpaces  whether decoding cleans up spaces
 */
record PreTokenizerChoice(PreTokenizer splitter, boolean ignoreMerges, boolean addBos, boolean cleanSpaces) {

    /**
     * The choice for {@code name}; a missing or empty name means {@code default}.
     *
     * @throws TokenizerException naming {@code tokenizer.ggml.pre} and the name if it is not supported
     */
    static PreTokenizerChoice forName(String name) {
        return switch (name) {
            case "", "default" -> new PreTokenizerChoice(PreTokenizer.DEFAULT, false, false, true);
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> new PreTokenizerChoice(PreTokenizer.LLAMA3, true, true, true);
            case "dbrx", "smaug-bpe" -> new PreTokenizerChoice(PreTokenizer.LLAMA3, false, false, true);
            case "gpt-2", "phi-2", "mpt", "olmo" -> new PreTokenizerChoice(PreTokenizer.GPT2, false, false, true);
            case "qwen2", "deepseek-r1-qwen" -> new PreTokenizerChoice(PreTokenizer.QWEN2, false, false, false);
            case "stablelm2", "megrez" -> new PreTokenizerChoice(PreTokenizer.QWEN2, false, false, true);
            default -> throw new TokenizerException("unknown pre-tokenizer type '" + name + "' in metadata key '"
                    + MetadataReader.PRE + "' (supported: default, gpt-2, phi-2, mpt, olmo, llama3, llama-v3, "
                    + "llama-bpe, falcon3, dbrx, smaug-bpe, qwen2, deepseek-r1-qwen, stablelm2, megrez)");
        };
    }
}
