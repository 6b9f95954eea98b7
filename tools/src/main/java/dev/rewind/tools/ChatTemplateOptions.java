package dev.rewind.tools;

import dev.rewind.models.LoadedModel;
import dev.rewind.tokenizer.chat.RenderOptions;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The options of the commands that format a conversation for a model: which chat template
 * ({@code --chat-template FILE} instead of the model's {@code tokenizer.chat_template}) and whose way
 * of rendering it ({@code --chat-dialect}).
 */
final class ChatTemplateOptions {

    @Option(names = "--chat-template", paramLabel = "FILE",
            description = "A chat template (Jinja) file to use instead of the model's tokenizer.chat_template.")
    Path file;

    @Option(names = "--chat-dialect", paramLabel = "D", defaultValue = "hf", converter = DialectConverter.class,
            description = {"hf (default): render the template as Hugging Face does (transformers, @huggingface/jinja); "
                    + "llama-cpp: as llama.cpp does (system messages folded into the next user message when the template "
                    + "has no system role; a leading BOS text removed and BOS added by the tokenizer)."})
    RenderOptions.Dialect dialect;

    /** Parses {@code hf} / {@code llama-cpp}. */
    static final class DialectConverter implements CommandLine.ITypeConverter<RenderOptions.Dialect> {
        @Override
        public RenderOptions.Dialect convert(String value) {
            return switch (value.strip().toLowerCase()) {
                case "hf", "jinja" -> RenderOptions.Dialect.JINJA;
                case "llama-cpp", "llama.cpp", "llamacpp" -> RenderOptions.Dialect.LLAMA_CPP;
                default -> throw new CommandLine.TypeConversionException("'" + value + "' is not a chat dialect (valid: hf, llama-cpp)");
            };
        }
    }

    /** The model's chat prompt ({@code --chat-template}'s if given), or empty when there is no template at all. */
    Optional<ChatPrompt> forModel(LoadedModel model) throws IOException {
        return ChatPrompt.of(file, model.file(), model.tokenizer(), dialect);
    }

    /** The model's chat prompt, or one line saying the model has none and how to give one. */
    ChatPrompt require(LoadedModel model) throws IOException {
        return forModel(model).orElseThrow(() -> new UserException(model.file().path() + " has no chat template (no "
                + ChatPrompt.TEMPLATE_KEY + "): give one with --chat-template FILE"));
    }
}
