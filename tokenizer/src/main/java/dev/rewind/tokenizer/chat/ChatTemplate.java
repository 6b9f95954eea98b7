package dev.rewind.tokenizer.chat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A chat template: the Jinja program, shipped with a model ({@code tokenizer.chat_template} in a
 * GGUF file, {@code chat_template} in {@code tokenizer_config.json}), that turns a conversation into
 * the text the model is fed.
 *
 * <p>{@link #parse} reads the template once; {@link #render} can then be called any number of times,
 * from any thread. The engine is Rewind's own and depends on nothing but the JDK. It renders as
 * {@code @huggingface/jinja} 0.5.11 (the engine of transformers.js) does with Hugging Face's settings
 * ({@code trim_blocks} and {@code lstrip_blocks} on, one trailing newline dropped): what
 * {@code true}/{@code false} and numbers print as, that {@code none} and undefined print as nothing,
 * that lists and dicts print as JSON, which operations fail, how macros bind their arguments.
 * Where that engine lacks something Jinja2 has, Rewind does what Jinja2 does: the characters argument
 * of {@code strip}, {@code rsplit}, {@code find}, {@code format}, {@code select}, {@code round},
 * {@code map('filter')}, tests with arguments ({@code divisibleby(3)}), comparing strings,
 * {@code "%s" % x}, {@code {% raw %}}, looping over a string or over undefined (no iterations),
 * {@code list.append}. It departs from that engine on purpose in a few places: a {@code for}'s
 * {@code else} runs only when there was nothing to loop over (there, also when every iteration
 * ended in {@code continue}); dividing by zero fails instead of giving {@code Infinity}; integers are
 * exact 64-bit values that fail on overflow instead of losing precision; a string never equals a
 * number ({@code "1" == 1} is false, as in Python); {@code tojson(sort_keys=true)} orders keys by
 * UTF-16 unit rather than by locale; and tuples print like lists instead of failing.
 *
 * <p>A template is data from a downloaded file, so it cannot do anything but produce text: it has no
 * access to files or Java objects, and every render is bounded by {@link RenderOptions.Limits}.
 * Failures are {@link TemplateException}s whose one-line message names the line and column.
 */
public final class ChatTemplate {

    private final String source;
    private final List<Stmt> program;

    private ChatTemplate(String source, List<Stmt> program) {
        this.source = source;
        this.program = program;
    }

    /**
     * Parses a template.
     *
     * @throws TemplateException of kind {@link TemplateException.Kind#SYNTAX} if it is not a valid
     *         template (or uses {@code include}, {@code extends}, {@code import} or another statement
     *         that chat templates cannot use)
     */
    public static ChatTemplate parse(String source) {
        Objects.requireNonNull(source, "source");
        return new ChatTemplate(source, Parser.parse(source));
    }

    /** The template's source text, as given to {@link #parse}. */
    public String source() {
        return source;
    }

    /** {@link #render(List, boolean, Map, RenderOptions)} with {@link RenderOptions#DEFAULT}. */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        return render(messages, addGenerationPrompt, extra, RenderOptions.DEFAULT);
    }

    /**
     * Renders a conversation.
     *
     * @param messages            the conversation, as the variable {@code messages}
     * @param addGenerationPrompt the variable {@code add_generation_prompt}: whether to end with the
     *                            start of an assistant turn, for the model to continue
     * @param extra               further variables, typically {@code bos_token} and {@code eos_token} (the
     *                            texts of those tokens), {@code tools} (a list of tool definitions), or a
     *                            template's own switches such as {@code enable_thinking}; values are
     *                            strings, numbers, booleans, null, lists and maps with string keys. They
     *                            may shadow the built-in functions but not {@code messages} or
     *                            {@code add_generation_prompt}.
     * @return the text to tokenize
     * @throws TemplateException        if the template raises (kind {@link TemplateException.Kind#RAISED},
     *                                  with the template's message as {@link TemplateException#reason()}),
     *                                  fails, or goes past a limit
     * @throws IllegalArgumentException if {@code extra} or a message holds a value that is not JSON-like
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> extra, RenderOptions options) {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(extra, "extra");
        Objects.requireNonNull(options, "options");
        for (String reserved : List.of("messages", "add_generation_prompt")) {
            if (extra.containsKey(reserved)) {
                throw new IllegalArgumentException("extra variables must not contain '" + reserved + "'");
            }
        }
        return switch (options.dialect()) {
            case JINJA -> renderVariables(variables(messages, addGenerationPrompt, extra), options);
            case LLAMA_CPP -> LlamaCppDialect.render(this, messages, addGenerationPrompt, extra, options);
        };
    }

    static Map<String, Object> variables(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> extra) {
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("messages", messages);
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.putAll(extra);
        return variables;
    }

    /** Renders with exactly these variables (the building block of {@link #render}; tests use it directly). */
    String renderVariables(Map<String, ?> variables, RenderOptions options) {
        Scope scope = Globals.scope().child();
        variables.forEach((name, value) -> scope.set(name, Values.fromJava(value, name)));
        try {
            return new Interpreter(source, options).render(program, scope);
        } catch (StackOverflowError e) {
            // The depth limit normally stops a deep template long before this; a thread with a very
            // small stack is the only way here, and it still gets an answer instead of a crash.
            throw TemplateException.at(source, 0, TemplateException.Kind.LIMIT,
                    "the template nests too deeply for this thread's stack (lower RenderOptions.Limits.maxDepth)");
        }
    }
}
