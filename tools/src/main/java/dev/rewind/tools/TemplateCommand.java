package dev.rewind.tools;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.ChatFormat;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;
import dev.rewind.tokenizer.chat.TemplateException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code rewind template}: the text a model is fed for a conversation, through its chat template. */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = {"Render a conversation with a model's chat template (tokenizer.chat_template) and print the text "
                + "exactly as the model would be fed it (no newline is added).",
                "BOS/EOS texts come from the model's vocabulary unless given. Rendering follows Hugging Face "
                        + "(@huggingface/jinja); --llama-cpp follows llama.cpp instead."})
final class TemplateCommand implements Callable<Integer> {

    static final String TEMPLATE_KEY = ChatPrompt.TEMPLATE_KEY;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "GGUF file whose chat template and BOS/EOS tokens to use (a vocabulary-only file will do).")
    Path model;

    @Option(names = "--messages", paramLabel = "FILE.json", required = true,
            description = "The conversation: a JSON array of {\"role\", \"content\"} objects (content may also be a list "
                    + "of parts or null; other fields such as tool_calls are passed to the template).")
    Path messages;

    @Option(names = "--add-generation-prompt",
            description = "End with the start of an assistant turn, for the model to continue (add_generation_prompt).")
    boolean addGenerationPrompt;

    @Option(names = "--template", paramLabel = "FILE", description = "Use this template file instead of the model's.")
    Path template;

    @Option(names = "--bos-token", paramLabel = "T", description = "Text of bos_token (default: the model's BOS token, else empty).")
    String bosToken;

    @Option(names = "--eos-token", paramLabel = "T", description = "Text of eos_token (default: the model's EOS token, else empty).")
    String eosToken;

    @Option(names = "--tools", paramLabel = "FILE.json", description = "Tool definitions, a JSON array, as the variable tools.")
    Path tools;

    @Option(names = "--var", paramLabel = "NAME=VALUE",
            description = "Another template variable, e.g. enable_thinking=false or date_string=\"26 Jul 2024\"; "
                    + "VALUE is read as JSON, or taken as a string when it is not JSON. Repeatable.")
    List<String> variables = new ArrayList<>();

    @Option(names = "--llama-cpp",
            description = "Render as llama.cpp does: system messages folded into the next user message when the template "
                    + "has no system role, and a leading BOS / trailing EOS text removed (the same as --chat-dialect llama-cpp).")
    boolean llamaCpp;

    @Option(names = "--chat-dialect", paramLabel = "D", defaultValue = "hf", converter = ChatTemplateOptions.DialectConverter.class,
            description = "hf (default: as Hugging Face renders) or llama-cpp (as --llama-cpp), as the other commands take it.")
    RenderOptions.Dialect dialect;

    private final PrintStream out;

    TemplateCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws IOException {
        if (model == null && template == null) {
            throw new UserException("give --model PATH (to use its chat template) or --template FILE");
        }
        String where;
        String source;
        if (template != null) {
            where = template.toString();
            source = ChatPrompt.readTemplate(template);
        } else {
            where = model + " (" + TEMPLATE_KEY + ")";
            source = modelTemplate(model);
        }
        Tokenizer vocabulary = model != null && (bosToken == null || eosToken == null) ? ModelLoader.loadTokenizer(model) : null;
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("bos_token", bosToken != null ? bosToken : vocabulary == null ? "" : ChatFormat.tokenText(vocabulary, vocabulary.bos()));
        extra.put("eos_token", eosToken != null ? eosToken : vocabulary == null ? "" : ChatFormat.tokenText(vocabulary, vocabulary.eos()));
        if (tools != null) {
            Object list = Conversations.toJava(Conversations.readJson(tools));
            if (!(list instanceof List<?>)) {
                throw new UserException(tools + ": the tools must be a JSON array");
            }
            extra.put("tools", list);
        }
        for (String v : variables) {
            int eq = v.indexOf('=');
            if (eq <= 0) {
                throw new UserException("--var needs NAME=VALUE, got '" + v + "'");
            }
            extra.put(v.substring(0, eq), Conversations.jsonOrText(v.substring(eq + 1)));
        }
        List<Message> conversation = Conversations.read(messages);
        RenderOptions options = RenderOptions.DEFAULT.withDialect(llamaCpp ? RenderOptions.Dialect.LLAMA_CPP : dialect);
        ChatTemplate parsed = ChatPrompt.parse(source, where);
        try {
            out.print(parsed.render(conversation, addGenerationPrompt, extra, options));
        } catch (TemplateException e) {
            throw new UserException(where + ": " + e.getMessage());
        }
        out.flush();
        return 0;
    }

    /** The model's {@code tokenizer.chat_template}, or a clear refusal when it has none. */
    private static String modelTemplate(Path model) throws IOException {
        try (GgufFile file = GgufFile.open(model)) {
            return file.metadata().string(TEMPLATE_KEY).orElseThrow(() -> new UserException(
                    model + " has no chat template (no " + TEMPLATE_KEY + "): give one with --template FILE"));
        }
    }
}
