package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A chat template bound to one model's vocabulary: a conversation becomes the text the model is fed,
 * then its token ids. This is what every command that formats a conversation goes through.
 *
 * <p>The template sees {@code messages}, {@code add_generation_prompt}, {@code bos_token} and
 * {@code eos_token} (the texts of those tokens), {@code tools} when there are any, and the extra
 * variables. The text is tokenized with special-token text recognised ({@code <|eot_id|>} becomes its
 * id). In the {@link RenderOptions.Dialect#JINJA} dialect, as Hugging Face's
 * {@code apply_chat_template(tokenize=True)}, nothing is added: a BOS is there only if the template
 * writes {@code bos_token}. In the {@link RenderOptions.Dialect#LLAMA_CPP} dialect, which removes a
 * leading BOS text, the tokenizer adds BOS (and EOS) where the vocabulary asks for them, as llama.cpp
 * does.
 *
 * @param template the chat template
 * @param tokenizer the model's tokenizer
 * @param bosToken the text of {@code bos_token} ("" when the vocabulary has none)
 * @param eosToken the text of {@code eos_token} ("" when the vocabulary has none)
 * @param tools    tool definitions for {@code tools}, or null for none (the variable is then undefined)
 * @param extra    further variables (e.g. {@code enable_thinking}); must not name the ones above
 * @param options  dialect, limits and clock of every render
 */
public record ChatFormat(ChatTemplate template, Tokenizer tokenizer, String bosToken, String eosToken, List<?> tools,
                         Map<String, ?> extra, RenderOptions options) {

    public ChatFormat {
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(bosToken, "bosToken");
        Objects.requireNonNull(eosToken, "eosToken");
        Objects.requireNonNull(options, "options");
        tools = tools == null ? null : List.copyOf(tools);
        extra = Map.copyOf(extra);
        for (String reserved : List.of("messages", "add_generation_prompt", "bos_token", "eos_token", "tools")) {
            if (extra.containsKey(reserved)) {
                throw new IllegalArgumentException("extra variables must not contain '" + reserved + "'");
            }
        }
    }

    /** The template with the texts of the vocabulary's own BOS and EOS tokens, no tools, no extra variables. */
    public static ChatFormat of(ChatTemplate template, Tokenizer tokenizer, RenderOptions options) {
        return new ChatFormat(template, tokenizer, tokenText(tokenizer, tokenizer.bos()), tokenText(tokenizer, tokenizer.eos()),
                null, Map.of(), options);
    }

    /** The text of a token, or "" when there is none. */
    public static String tokenText(Tokenizer tokenizer, OptionalInt id) {
        return id.isPresent() ? new String(tokenizer.tokenBytes(id.getAsInt()), StandardCharsets.UTF_8) : "";
    }

    /**
     * The text the conversation becomes.
     *
     * @throws TemplateException if the template raises, fails or goes past a limit
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("bos_token", bosToken);
        variables.put("eos_token", eosToken);
        if (tools != null) {
            variables.put("tools", tools);
        }
        variables.putAll(extra);
        return template.render(messages, addGenerationPrompt, variables, options);
    }

    /**
     * The token ids the conversation becomes: {@link #render} tokenized as described above.
     *
     * @throws TemplateException if the template raises, fails or goes past a limit
     */
    public int[] encode(List<Message> messages, boolean addGenerationPrompt) {
        return encodeText(render(messages, addGenerationPrompt));
    }

    /** Tokenizes a rendered text as {@link #encode} does. */
    public int[] encodeText(String rendered) {
        return tokenizer.encode(rendered, options.dialect() == RenderOptions.Dialect.LLAMA_CPP, true);
    }
}
