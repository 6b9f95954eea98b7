package dev.rewind.tokenizer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a model folder's {@code tokenizer_config.json} says about its tokenizer (and {@code chat_template.jinja}
 * or {@code chat_template.json}, which recent folders keep the template in). Absent keys are empty.
 *
 * @param addBosToken               {@code add_bos_token}
 * @param addEosToken               {@code add_eos_token}
 * @param bosToken                  {@code bos_token}, as text (an {@code AddedToken} object gives its content)
 * @param eosToken                  {@code eos_token}, as text
 * @param unknownToken              {@code unk_token}, as text
 * @param paddingToken              {@code pad_token}, as text
 * @param additionalSpecialTokens   {@code additional_special_tokens}, as texts
 * @param cleanUpTokenizationSpaces {@code clean_up_tokenization_spaces}; true when absent, as in transformers.js
 * @param chatTemplates             the chat templates by name: a single template is named {@code default}; a
 *                                  list of {@code {name, template}} objects keeps its names
 * @param tokenizerClass            {@code tokenizer_class}, e.g. {@code LlamaTokenizerFast}
 */
public record HuggingFaceConfig(Optional<Boolean> addBosToken, Optional<Boolean> addEosToken,
                                Optional<String> bosToken, Optional<String> eosToken, Optional<String> unknownToken,
                                Optional<String> paddingToken, List<String> additionalSpecialTokens,
                                boolean cleanUpTokenizationSpaces, Map<String, String> chatTemplates,
                                Optional<String> tokenizerClass) {

    /** The name transformers uses for the template of a folder that has one. */
    public static final String DEFAULT_TEMPLATE = "default";

    /** Copies the collections, which stay unmodifiable (templates in the file's order). */
    public HuggingFaceConfig {
        additionalSpecialTokens = List.copyOf(additionalSpecialTokens);
        chatTemplates = Collections.unmodifiableMap(new LinkedHashMap<>(chatTemplates));
    }

    /** The chat template transformers uses when none is named: the one called {@code default}, if any. */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplates.get(DEFAULT_TEMPLATE));
    }
}
