package dev.rewind.tools;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.models.GgufWeights;
import dev.rewind.models.HfWeights;
import dev.rewind.models.ModelWeights;
import dev.rewind.tokenizer.HuggingFaceTokenizer;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.ChatFormat;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;
import dev.rewind.tokenizer.chat.TemplateException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A model's chat format together with where its template came from, so that a template that fails
 * or raises is reported in one line naming it (the file, or the model's {@code tokenizer.chat_template}).
 *
 * @param format the template bound to the model's vocabulary
 * @param origin where the template came from, for messages
 */
record ChatPrompt(ChatFormat format, String origin) {

    /** The GGUF key of a model's chat template. */
    static final String TEMPLATE_KEY = "tokenizer.chat_template";

    /** A model's own template, if its file has one. */
    static Optional<String> modelTemplate(GgufFile file) {
        return file.metadata().string(TEMPLATE_KEY);
    }

    /** The template of a loaded model: the GGUF key, or a Hugging Face folder's {@code tokenizer_config.json} {@code chat_template}. */
    static Optional<String> modelTemplate(ModelWeights weights, Tokenizer tokenizer) {
        return switch (weights) {
            case GgufWeights g -> modelTemplate(g.gguf());
            case HfWeights _ -> tokenizer instanceof HuggingFaceTokenizer h ? h.config().chatTemplate() : Optional.empty();
        };
    }

    /** Where {@link #modelTemplate(ModelWeights, Tokenizer)} reads, for messages. */
    static String templateOrigin(ModelWeights weights) {
        return weights instanceof GgufWeights ? weights.path() + " (" + TEMPLATE_KEY + ")"
                : weights.path().resolve("tokenizer_config.json") + " (chat_template)";
    }

    /**
     * The chat prompt of a model: {@code templateFile}'s template if given, else the model's own; empty
     * when neither exists.
     *
     * @throws UserException if the template does not parse
     */
    /** The largest template file read (the engine's output limit; real templates are a few KiB). */
    static final long MAX_TEMPLATE_BYTES = 16 << 20;

    /**
     * A {@code --chat-template}/{@code --template} file's text.
     *
     * @throws UserException naming the file when it is larger than {@link #MAX_TEMPLATE_BYTES} or not UTF-8 (with the
     *                       first bad byte's offset)
     */
    static String readTemplate(Path file) throws IOException {
        try {
            return dev.rewind.tokenizer.JsonReader.readUtf8(file, file.toString(), MAX_TEMPLATE_BYTES);
        } catch (dev.rewind.tokenizer.TokenizerException e) {
            throw new UserException(e.getMessage());
        }
    }

    static Optional<ChatPrompt> of(Path templateFile, ModelWeights model, Tokenizer tokenizer, RenderOptions.Dialect dialect) throws IOException {
        String source;
        String origin;
        if (templateFile != null) {
            source = readTemplate(templateFile);
            origin = templateFile.toString();
        } else {
            Optional<String> own = modelTemplate(model, tokenizer);
            if (own.isEmpty()) {
                return Optional.empty();
            }
            source = own.get();
            origin = templateOrigin(model);
        }
        return Optional.of(new ChatPrompt(ChatFormat.of(parse(source, origin), tokenizer, RenderOptions.DEFAULT.withDialect(dialect)), origin));
    }

    /** Parses a template, or one line naming where it came from and where its syntax breaks. */
    static ChatTemplate parse(String source, String origin) {
        try {
            return ChatTemplate.parse(source);
        } catch (TemplateException e) {
            throw new UserException(origin + ": " + e.getMessage());
        }
    }

    /** The text of a conversation; a template error becomes one line naming the template. */
    String render(List<Message> messages, boolean addGenerationPrompt) {
        try {
            return format.render(messages, addGenerationPrompt);
        } catch (TemplateException e) {
            throw failure(e, messages);
        }
    }

    /** The token ids of a conversation; a template error becomes one line naming the template. */
    int[] encode(List<Message> messages, boolean addGenerationPrompt) {
        return format.encodeText(render(messages, addGenerationPrompt));
    }

    /** The ids of a one-turn conversation: an optional system message, a user message, the assistant's turn opened. */
    int[] encodeQuestion(String system, String user) {
        return encode(oneTurn(system, user), true);
    }

    static List<Message> oneTurn(String system, String user) {
        List<Message> messages = new ArrayList<>();
        if (system != null) {
            messages.add(new Message("system", system));
        }
        messages.add(new Message("user", user));
        return messages;
    }

    UserException failure(TemplateException e, List<Message> messages) {
        boolean system = messages.stream().anyMatch(m -> m.role().equals("system"));
        String hint = e.kind() == TemplateException.Kind.RAISED && system && format.options().dialect() == RenderOptions.Dialect.JINJA
                ? " (if the template has no system role, --chat-dialect llama-cpp folds system messages into the next user message)" : "";
        return new UserException(origin + ": " + e.getMessage() + hint);
    }
}
