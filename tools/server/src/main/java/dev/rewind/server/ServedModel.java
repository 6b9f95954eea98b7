package dev.rewind.server;

import dev.rewind.models.LoadedModel;
import dev.rewind.tokenizer.chat.ChatFormat;

import java.util.Objects;

/**
 * A model the server offers under a name.
 *
 * @param name   the {@code model} value clients send
 * @param loaded the weights and tokenizer
 * @param chat   its chat format, or null when it has no template (then /v1/chat/completions refuses it)
 */
public record ServedModel(String name, LoadedModel loaded, ChatFormat chat) {
    public ServedModel {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(loaded, "loaded");
    }
}
