package dev.rewind.tokenizer;

import java.util.List;

/**
 * What a {@code tokenizer.ggml.pre} name means, after llama.cpp's table of pre-tokenizer types at the
 * reference commit c392e50, plus {@code gpt-4o} and {@code llama4}, which llama.cpp added later.
 *
 * @param splitter     how words are cut
 * @param ignoreMerges a word that is a piece becomes that token directly
 * @param addBos       the default of {@code add_bos_token}
 * @param cleanSpaces  whether decoding cleans up spaces
 * @param defaultBos   whether the BPE default BOS id (11) applies when no key names one; llama.cpp drops it
 *                     for ChatGLM 4
 */
record PreTokenizerChoice(PreTokenizer splitter, boolean ignoreMerges, boolean addBos, boolean cleanSpaces,
                          boolean defaultBos) {

    /** Every name llama.cpp accepts, in the order of its table. */
    static final List<String> NAMES = List.of(
            "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "deepseek-llm", "deepseek-coder",
            "deepseek-v3", "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat",
            "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "refact", "command-r",
            "qwen2", "deepseek-r1-qwen", "stablelm2", "olmo", "dbrx", "smaug-bpe", "poro-chat", "chatglm-bpe",
            "viking", "jais", "tekken", "smollm", "codeshell", "bloom", "gpt3-finnish", "exaone", "chameleon",
            "minerva-7b", "megrez", "gpt-4o", "llama4");

    /**
     * The choice for {@code name}; a missing or empty name means {@code default}.
     *
     * @throws TokenizerException naming {@code tokenizer.ggml.pre} and the name if llama.cpp does not know it
     */
    static PreTokenizerChoice forName(String name) {
        return switch (name) {
            case "", "default" -> plain(PreTokenizer.DEFAULT, true);
            case "llama3", "llama-v3", "llama-bpe", "falcon3" ->
                    new PreTokenizerChoice(PreTokenizer.LLAMA3, true, true, true, true);
            case "deepseek-llm" -> plain(PreTokenizer.DEEPSEEK_LLM, false);
            case "deepseek-coder" -> plain(PreTokenizer.DEEPSEEK_CODER, false);
            case "deepseek-v3" -> plain(PreTokenizer.DEEPSEEK3_LLM, false);
            case "falcon" -> plain(PreTokenizer.FALCON, true);
            case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de",
                 "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais" -> plain(PreTokenizer.GPT2, true);
            case "starcoder", "refact", "codeshell", "exaone", "minerva-7b" -> plain(PreTokenizer.STARCODER, true);
            case "command-r", "smollm" -> plain(PreTokenizer.STARCODER, false);
            case "qwen2", "deepseek-r1-qwen" -> plain(PreTokenizer.QWEN2, false);
            case "stablelm2", "megrez" -> plain(PreTokenizer.QWEN2, true);
            case "dbrx", "smaug-bpe" -> plain(PreTokenizer.LLAMA3, true);
            case "chatglm-bpe" -> new PreTokenizerChoice(PreTokenizer.LLAMA3, false, false, true, false);
            case "poro-chat" -> plain(PreTokenizer.BLOOM, false);
            case "bloom", "gpt3-finnish" -> plain(PreTokenizer.BLOOM, true);
            case "viking" -> plain(PreTokenizer.VIKING, false);
            case "tekken" -> new PreTokenizerChoice(PreTokenizer.TEKKEN, true, true, false, true);
            case "gpt-4o", "llama4" -> plain(PreTokenizer.GPT4O, false);
            case "chameleon" -> new PreTokenizerChoice(PreTokenizer.CHAMELEON, false, true, false, true);
            default -> throw new TokenizerException("unknown pre-tokenizer type '" + name + "' in metadata key '"
                    + MetadataReader.PRE + "' (supported: " + String.join(", ", NAMES) + ")");
        };
    }

    private static PreTokenizerChoice plain(PreTokenizer splitter, boolean cleanSpaces) {
        return new PreTokenizerChoice(splitter, false, false, cleanSpaces, true);
    }
}
