package dev.rewind.tools;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;
import dev.rewind.tokenizer.chat.TemplateException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

/** {@code rewind template}: the text a model is fed for a conversation, through its chat template. */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = {"Render a conversation with a model's chat template (tokenizer.chat_template) and print the text "
                + "exactly as the model would be fed it (no newline is added).",
                "BOS/EOS texts come from the model's vocabulary unless given. Rendering follows Hugging Face "
                        + "(@huggingface/jinja); --llama-cpp follows llama.cpp instead."})
final class TemplateCommand implements Callable<Integer> {

    static final String TEMPLATE_KEY = "tokenizer.chat_template";

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
                    + "has no system role, and a leading BOS / trailing EOS text removed.")
    boolean llamaCpp;

    private final PrintStream out;
    private final ObjectMapper json = JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

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
            source = Files.readString(template, StandardCharsets.UTF_8);
        } else {
            where = model + " (" + TEMPLATE_KEY + ")";
            source = modelTemplate(model);
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        Tokenizer vocabulary = model != null && (bosToken == null || eosToken == null) ? ModelLoader.loadTokenizer(model) : null;
        extra.put("bos_token", bosToken != null ? bosToken : tokenText(vocabulary, true));
        extra.put("eos_token", eosToken != null ? eosToken : tokenText(vocabulary, false));
        if (tools != null) {
            Object list = Json.toJava(readJson(tools));
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
            extra.put(v.substring(0, eq), variable(v.substring(eq + 1)));
        }
        List<Message> conversation = conversation(readJson(messages));
        RenderOptions options = RenderOptions.DEFAULT.withDialect(llamaCpp ? RenderOptions.Dialect.LLAMA_CPP : RenderOptions.Dialect.JINJA);
        try {
            out.print(ChatTemplate.parse(source).render(conversation, addGenerationPrompt, extra, options));
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

    /** The text of the vocabulary's BOS or EOS token, or "" without a vocabulary or without that token. */
    private static String tokenText(Tokenizer tokenizer, boolean bos) {
        if (tokenizer == null) {
            return "";
        }
        OptionalInt id = bos ? tokenizer.bos() : tokenizer.eos();
        return id.isPresent() ? new String(tokenizer.tokenBytes(id.getAsInt()), StandardCharsets.UTF_8) : "";
    }

    private JsonNode readJson(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            JsonNode node = json.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new UserException(file + ": empty file, expected JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String position = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new UserException(file + ": bad JSON" + position + ": " + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
    }

    /** The messages file as messages: an array of objects with a string role. */
    private List<Message> conversation(JsonNode array) {
        if (!array.isArray()) {
            throw new UserException(messages + ": expected a JSON array of messages, found " + array.getNodeType().name().toLowerCase());
        }
        List<Message> conversation = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode m = array.get(i);
            String which = messages + ": message " + (i + 1);
            if (!m.isObject()) {
                throw new UserException(which + " is not a JSON object");
            }
            if (!m.path("role").isTextual()) {
                throw new UserException(which + " has no string \"role\"");
            }
            JsonNode content = m.get("content");
            if (content != null && !content.isTextual() && !content.isArray() && !content.isNull()) {
                throw new UserException(which + ": \"content\" must be a string, a list of parts or null");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> fields = (Map<String, Object>) Json.toJava(m);
            fields.remove("role");
            fields.remove("content");
            conversation.add(new Message(m.get("role").textValue(), content == null ? null : Json.toJava(content), fields));
        }
        return conversation;
    }

    private Object variable(String text) {
        try {
            return Json.toJava(json.readTree(text));
        } catch (JsonProcessingException e) {
            return text;
        }
    }

    /** JSON trees as the plain Java values the template engine takes. */
    static final class Json {
        private Json() {
        }

        static Object toJava(JsonNode node) {
            if (node == null || node.isNull() || node.isMissingNode()) {
                return null;
            }
            if (node.isObject()) {
                Map<String, Object> map = new LinkedHashMap<>();
                node.properties().forEach(e -> map.put(e.getKey(), toJava(e.getValue())));
                return map;
            }
            if (node.isArray()) {
                List<Object> list = new ArrayList<>(node.size());
                node.forEach(item -> list.add(toJava(item)));
                return list;
            }
            if (node.isTextual()) {
                return node.textValue();
            }
            if (node.isBoolean()) {
                return node.booleanValue();
            }
            if (node.isIntegralNumber()) {
                return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
            }
            return node.doubleValue();
        }
    }
}
