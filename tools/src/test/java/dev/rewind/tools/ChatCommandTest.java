package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static dev.rewind.tools.CliTest.runWithInput;
import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code rewind chat} and {@code generate --chat} end to end, through standard input and output, on
 * stories260K given a chat template (no shared model carries one): the turns, the KV cache reuse
 * of earlier turns, /save, /reset, and the template's errors; and the alignment commands' use of the
 * template.
 */
class ChatCommandTest {

    /** A small template in the usual shape: BOS, one block per message, EOS closing each reply, a generation prompt. */
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}"
            + "{% if m.role == 'system' %}{{ m.content }}\n"
            + "{% elif m.role == 'user' %}{% if m.content == 'boom' %}{{ raise_exception('no booms here') }}{% endif %}Q: {{ m.content }}\n"
            + "{% else %}A:{{ m.content }}{{ eos_token }}\n{% endif %}"
            + "{% endfor %}{% if add_generation_prompt %}A:{% endif %}";

    private static final Pattern TURN = Pattern.compile(
            "chat: turn (\\d+): (\\d+) prompt tokens, (\\d+) from the cache, (\\d+) evaluated \\([^)]*\\); (\\d+) generated");

    @TempDir
    static Path dir;
    private static Path model;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void modelWithTemplate() throws IOException {
        model = withTemplate(shared().resolve("stories260K.gguf"), TEMPLATE, dir.resolve("stories-chat.gguf"));
        tokenizer = ModelLoader.loadTokenizer(model);
    }

    /** A copy of a GGUF model, tensors included, with {@code template} as its chat template. */
    static Path withTemplate(Path source, String template, Path out) throws IOException {
        try (GgufFile file = GgufFile.open(source)) {
            GgufWriter w = GgufWriter.create();
            file.metadata().asMap().forEach(w::metadata);
            w.metadata(ChatPrompt.TEMPLATE_KEY, new GgufValue.Str(template));
            for (GgufTensorInfo t : file.tensors()) {
                w.tensor(t.name(), t.type(), t.shape(), file.tensorData(t));
            }
            w.write(out);
        }
        return out;
    }

    /** The ids a conversation becomes, computed here from the template and the vocabulary (Hugging Face's way: nothing added). */
    private static int[] ids(String template, List<Message> conversation) {
        String text = ChatTemplate.parse(template).render(conversation, true, Map.of("bos_token", "<s>", "eos_token", "</s>"));
        return tokenizer.encode(text, false, true);
    }

    /** The statistics line of each turn: turn, prompt tokens, from the cache, evaluated, generated. */
    private static List<int[]> turns(String err) {
        List<int[]> turns = new ArrayList<>();
        Matcher m = TURN.matcher(err);
        while (m.find()) {
            turns.add(new int[]{Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5))});
        }
        return turns;
    }

    private static String[] chat(String... more) {
        List<String> args = new ArrayList<>(List.of("chat", "--model", model.toString(), "-n", "12", "--temperature", "0", "--threads", "2"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @Test
    void twoTurnsTheSecondEvaluatingOnlyItsOwnTokens() throws IOException {
        Path saved = dir.resolve("two-turns.json");
        CliTest.Run r = runWithInput("Once upon a time\nThe end\n/save " + saved + "\n", chat());
        assertEquals(0, r.exit(), r.err());
        List<Message> conversation = Conversations.read(saved);
        assertEquals(List.of("user", "assistant", "user", "assistant"), conversation.stream().map(Message::role).toList());
        String reply1 = (String) conversation.get(1).content();
        String reply2 = (String) conversation.get(3).content();
        assertFalse(reply1.isEmpty(), "the model answered");
        assertEquals(reply1 + "\n" + reply2 + "\n", r.out(), "stdout holds the streamed replies only");

        List<int[]> turns = turns(r.err());
        assertEquals(2, turns.size(), r.err());
        int[] first = turns.get(0);
        int[] second = turns.get(1);
        int[] prompt1 = ids(TEMPLATE, conversation.subList(0, 1));
        int[] prompt2 = ids(TEMPLATE, conversation.subList(0, 3));
        assertEquals(prompt1.length, first[1], "turn 1's prompt is the rendered first message");
        assertEquals(0, first[2]);
        assertEquals(prompt1.length, first[3], "an empty cache: everything evaluated");
        assertEquals(prompt2.length, second[1], "turn 2's prompt is the whole conversation rendered again");
        // The cache holds turn 1's prompt and its reply but the reply's last token (generation stopped
        // there, so it was never fed). Turn 2 takes all of it from the cache and evaluates only the rest:
        // that last token, the closing EOS, the new user message and the generation prompt.
        int held = first[1] + first[4] - 1;
        assertEquals(held, second[2], "everything turn 1 left in the cache is reused");
        assertEquals(prompt2.length - held, second[3], "turn 2 evaluates only its own tokens");
        assertTrue(second[3] < prompt2.length - prompt1.length, "not even the reply is evaluated again");

        // The first reply is what generate --chat gives for the same message.
        CliTest.Run oneShot = run("generate", "--chat", "--model", model.toString(), "--prompt", "Once upon a time", "-n", "12",
                "--temperature", "0", "--threads", "2");
        assertEquals(0, oneShot.exit(), oneShot.err());
        assertEquals(reply1 + "\n", oneShot.out());
    }

    @Test
    void systemSaveResetAndTheSavedFileAsMessages() throws IOException {
        Path saved = dir.resolve("saved.json");
        Path again = dir.resolve("again.json");
        CliTest.Run r = runWithInput("Lily\n/save " + saved + "\n/reset\nLily\n/save " + again + "\n/exit\nnever read\n",
                chat("--system", "A story."));
        assertEquals(0, r.exit(), r.err());
        List<Message> conversation = Conversations.read(saved);
        assertEquals(List.of("system", "user", "assistant"), conversation.stream().map(Message::role).toList());
        assertEquals("A story.", conversation.get(0).content());
        assertEquals("Lily", conversation.get(1).content());
        assertTrue(r.err().contains("conversation reset"), r.err());
        assertEquals(conversation, Conversations.read(again), "after /reset the same message gets the same greedy reply");
        assertFalse(r.out().contains("never read"));
        List<int[]> turns = turns(r.err());
        assertEquals(2, turns.size(), r.err());
        assertEquals(turns.get(0)[1], turns.get(1)[1], "the same prompt");
        assertEquals(turns.get(0)[1] - 1, turns.get(1)[2], "after /reset the cache still serves the common prefix");

        // The saved file is a messages file for rewind template and chat --messages.
        CliTest.Run template = run("template", "--model", model.toString(), "--messages", saved.toString());
        assertEquals(0, template.exit(), template.err());
        assertEquals("<s>A story.\nQ: Lily\nA:" + conversation.get(2).content() + "</s>\n", template.out());
        CliTest.Run resumed = runWithInput("More\n", chat("--messages", saved.toString()));
        assertEquals(0, resumed.exit(), resumed.err());
        int[] resumedTurn = turns(resumed.err()).getFirst();
        List<Message> continued = new ArrayList<>(conversation);
        continued.add(new Message("user", "More"));
        assertEquals(ids(TEMPLATE, continued).length, resumedTurn[1], "the conversation goes on from the file");
    }

    @Test
    void aTemplateThatRaisesCostsOneTurnNotTheChat() {
        CliTest.Run r = runWithInput("boom\n/nope\nLily\n", chat());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("stories-chat.gguf (tokenizer.chat_template): "), r.err());
        assertTrue(r.err().contains("no booms here"), r.err());
        assertTrue(r.err().contains("unknown command /nope"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        List<int[]> turns = turns(r.err());
        assertEquals(1, turns.size(), "the refused message is not part of the conversation: " + r.err());
        assertEquals(ids(TEMPLATE, List.of(new Message("user", "Lily"))).length, turns.getFirst()[1]);
    }

    @Test
    void aConversationLongerThanTheContextIsRefusedAndTheChatGoesOn() {
        CliTest.Run r = runWithInput("Once upon a time there was a little girl named Lily who loved to play\nLily\n", chat("--context", "24"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("but the context holds 24"), r.err());
        assertEquals(1, turns(r.err()).size(), r.err());
    }

    @Test
    void aChatTemplateFileReplacesTheModelsOrGivesATemplateToAModelWithout() throws IOException {
        Path hf = shared().getParent().resolve("hf").resolve("llama3");
        String llama3 = new ObjectMapper().readTree(hf.resolve("tokenizer_config.json").toFile()).get("chat_template").asText();
        Path file = dir.resolve("llama3.jinja");
        Files.writeString(file, llama3, StandardCharsets.UTF_8);
        String stories = shared().resolve("stories260K.gguf").toString();
        CliTest.Run r = runWithInput("Hello\n", "chat", "--model", stories, "--chat-template", file.toString(), "-n", "4", "--threads", "2");
        assertEquals(0, r.exit(), r.err());
        assertEquals(ids(llama3, List.of(new Message("user", "Hello"))).length, turns(r.err()).getFirst()[1],
                "Llama 3's template (its header tokens are plain text in this vocabulary)");

        assertOneLineError(runWithInput("Hello\n", "chat", "--model", stories), "has no chat template", "--chat-template");
        CliTest.Run noTemplate = runWithInput("Hello\n", "chat", "--model", stories);
        assertEquals(1, noTemplate.exit());
        Path broken = dir.resolve("broken.jinja");
        Files.writeString(broken, "{% if messages %}");
        assertOneLineError(runWithInput("Hello\n", "chat", "--model", stories, "--chat-template", broken.toString()),
                "broken.jinja", "syntax error");
        assertOneLineError(runWithInput("", "chat", "--model", model.toString(), "--chat-dialect", "mine"), "not a chat dialect");
        assertEquals(2, runWithInput("", "chat", "--model", model.toString(), "--chat-dialect", "mine").exit(), "a usage error");
        assertOneLineError(runWithInput("", chat("--ignore-eos")), "--ignore-eos");
        assertOneLineError(runWithInput("", chat("--messages", dir.resolve("none.json").toString())), "none.json");
    }

    @Test
    void generateChatRendersThePromptAsAUserMessage() throws IOException {
        String[] base = {"generate", "--chat", "--model", model.toString(), "--prompt", "Lily", "--system", "A story.", "-n", "8",
                "--temperature", "0", "--output-format", "json", "--threads", "2"};
        CliTest.Run r = run(base);
        assertEquals(0, r.exit(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        int[] expected = ids(TEMPLATE, List.of(new Message("system", "A story."), new Message("user", "Lily")));
        assertArrayEquals(expected, new ObjectMapper().treeToValue(json.get("prompt_tokens"), int[].class));
        String stop = json.get("stop").asText();
        int generated = json.get("tokens").size();
        assertTrue(stop.equals("max_tokens") && generated == 8 || stop.equals("end_of_generation") && generated <= 8, json.toString());

        assertOneLineError(run("generate", "--model", model.toString(), "--prompt", "x", "--system", "s"), "--system", "--chat");
        assertOneLineError(run("generate", "--model", model.toString(), "--prompt", "x", "--chat-template", "t.jinja"), "--chat-template", "--chat");
        assertOneLineError(run("generate", "--chat", "--model", shared().resolve("stories260K.gguf").toString(), "--prompt", "x"),
                "has no chat template", "--chat-template");
        CliTest.Run raises = run("generate", "--chat", "--model", model.toString(), "--prompt", "boom", "--system", "s");
        assertOneLineError(raises, "no booms here", "--chat-dialect llama-cpp");
        assertEquals(1, raises.exit());
    }

    @Test
    void theLlamaCppDialectFoldsTheSystemMessageIntoTheUsersAndLetsTheTokenizerAddBos() throws IOException {
        Path noSystem = dir.resolve("no-system.jinja");
        Files.writeString(noSystem, "{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}"
                + "{% elif m.role == 'user' %}Q: {{ m.content }}\n{% else %}A:{{ m.content }}{{ eos_token }}\n{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}A:{% endif %}");
        String[] args = {"generate", "--chat", "--model", model.toString(), "--chat-template", noSystem.toString(), "--prompt", "Lily",
                "--system", "A story.", "-n", "2", "--temperature", "0", "--output-format", "json", "--threads", "2"};
        assertOneLineError(run(args), "no-system.jinja", "no system role", "--chat-dialect llama-cpp");
        String[] llamaCpp = java.util.Arrays.copyOf(args, args.length + 2);
        llamaCpp[args.length] = "--chat-dialect";
        llamaCpp[args.length + 1] = "llama-cpp";
        CliTest.Run r = run(llamaCpp);
        assertEquals(0, r.exit(), r.err());
        // llama.cpp's way: "A story.\nLily" as the one user message, the BOS text removed and BOS added as the vocabulary asks
        assertArrayEquals(tokenizer.encode("Q: A story.\nLily\nA:", true, true),
                new ObjectMapper().treeToValue(new ObjectMapper().readTree(r.out()).get("prompt_tokens"), int[].class));
        Path messages = dir.resolve("system-user.json");
        Files.writeString(messages, "[{\"role\": \"system\", \"content\": \"A story.\"}, {\"role\": \"user\", \"content\": \"Lily\"}]");
        CliTest.Run text = run("template", "--model", model.toString(), "--template", noSystem.toString(), "--messages", messages.toString(),
                "--add-generation-prompt", "--chat-dialect", "llama-cpp");
        assertEquals(0, text.exit(), text.err());
        assertEquals("Q: A story.\nLily\nA:", text.out());
    }

    @Test
    void deraPutsThePromptInTheAlignedModelsTemplateUnlessTurnedOff() throws IOException {
        String[] base = {"dera", "--aligned", model.toString(), "--reference", shared().resolve("stories260K.gguf").toString(),
                "--prompt", "Lily", "--lambda", "0.5", "-n", "4", "--temperature", "0", "--output-format", "json", "--threads", "2"};
        CliTest.Run chat = run(base);
        assertEquals(0, chat.exit(), chat.err());
        JsonNode json = new ObjectMapper().readTree(chat.out());
        int[] expected = ids(TEMPLATE, List.of(new Message("user", "Lily")));
        assertArrayEquals(expected, new ObjectMapper().treeToValue(json.get("prompt_tokens"), int[].class));
        assertTrue(json.get("chat_template").asText().contains("tokenizer.chat_template"), json.toString());
        assertTrue(chat.err().contains("--no-chat-template"), chat.err());

        String[] raw = java.util.Arrays.copyOf(base, base.length + 1);
        raw[base.length] = "--no-chat-template";
        CliTest.Run plain = run(raw);
        assertEquals(0, plain.exit(), plain.err());
        JsonNode plainJson = new ObjectMapper().readTree(plain.out());
        assertArrayEquals(tokenizer.encode("Lily", true, true), new ObjectMapper().treeToValue(plainJson.get("prompt_tokens"), int[].class));
        assertTrue(plainJson.get("chat_template").isNull());
        assertNotEquals(json.get("prompt_tokens"), plainJson.get("prompt_tokens"));

        String[] both = java.util.Arrays.copyOf(raw, raw.length + 2);
        both[raw.length] = "--chat-template";
        both[raw.length + 1] = "t.jinja";
        assertOneLineError(run(both), "exclude each other");
    }

    @Test
    void theAlignersLocalUpstreamAnswersThroughItsTemplateUnlessTurnedOff() throws IOException {
        String stories = shared().resolve("stories260K.gguf").toString();
        String[] base = {"aligner", "--aligner", stories, "--upstream", model.toString(), "--question", "Lily", "-n", "4",
                "--upstream-max-tokens", "6", "--threads", "1", "--output-format", "json"};
        CliTest.Run r = run(base);
        assertEquals(0, r.exit(), r.err());
        JsonNode item = new ObjectMapper().readTree(r.out());
        CliTest.Run oneShot = run("generate", "--chat", "--model", model.toString(), "--prompt", "Lily", "-n", "6", "--temperature", "0",
                "--threads", "1");
        assertEquals(oneShot.out().strip(), item.get("answer").asText(), "the upstream answered the question as a user message");
        assertTrue(r.err().contains("--no-upstream-chat-template"), r.err());

        String[] raw = java.util.Arrays.copyOf(base, base.length + 1);
        raw[base.length] = "--no-upstream-chat-template";
        CliTest.Run plain = run(raw);
        assertEquals(0, plain.exit(), plain.err());
        CliTest.Run rawGenerate = run("generate", "--model", model.toString(), "--prompt", "Lily", "-n", "6", "--temperature", "0",
                "--threads", "1");
        assertEquals(rawGenerate.out().strip(), new ObjectMapper().readTree(plain.out()).get("answer").asText());

        assertOneLineError(run("aligner", "--aligner", stories, "--question", "q", "--upstream-url", "http://localhost:1/v1",
                "--no-upstream-chat-template"), "local --upstream");
    }
}
