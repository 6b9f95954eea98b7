package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code rewind template} as a user meets it: the model's own template and BOS/EOS tokens, the
 * options that replace them, and one-line errors for bad input. The shared models carry no chat
 * template, so the tests write vocabulary-only GGUF files that do.
 */
class TemplateCommandTest {

    private static final String SIMPLE = "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}"
            + "{% if add_generation_prompt %}<|assistant|>{% endif %}";

    @TempDir
    Path dir;

    /** A copy of a shared GGUF's metadata (vocabulary included, no tensors), with {@code template} as its chat template. */
    private Path modelWithTemplate(String sharedFile, String template) throws IOException {
        Path out = dir.resolve("with-template.gguf");
        try (GgufFile source = GgufFile.open(CliTest.shared().resolve(sharedFile))) {
            GgufWriter w = GgufWriter.create();
            source.metadata().asMap().forEach(w::metadata);
            if (template != null) {
                w.metadata(TemplateCommand.TEMPLATE_KEY, new GgufValue.Str(template));
            }
            w.write(out);
        }
        return out;
    }

    private Path file(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    private Path conversation() throws IOException {
        return file("chat.json", "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}]");
    }

    @Test
    void rendersTheModelsTemplateWithItsBosAndEosTokens() throws IOException {
        Path model = modelWithTemplate("stories260K.gguf", SIMPLE);
        CliTest.Run r = run("template", "--model", model.toString(), "--messages", conversation().toString(), "--add-generation-prompt");
        assertEquals(0, r.exit(), r.err());
        assertEquals("<s><|system|>Be brief.</s><|user|>Hi</s><|assistant|>", r.out());
        CliTest.Run noPrompt = run("template", "--model", model.toString(), "--messages", conversation().toString());
        assertEquals("<s><|system|>Be brief.</s><|user|>Hi</s>", noPrompt.out());
    }

    @Test
    void theRealLlama3TemplateInAGgufGivesHuggingFacesText() throws IOException {
        Path hf = CliTest.shared().getParent().resolve("hf").resolve("llama3");
        ObjectMapper json = new ObjectMapper();
        String template = json.readTree(hf.resolve("tokenizer_config.json").toFile()).get("chat_template").asText();
        Path model = modelWithTemplate("tokenizers/ggml-vocab-llama-bpe.gguf", template);
        List<String> records = Files.readAllLines(hf.resolve("chat.jsonl"), StandardCharsets.UTF_8);
        assertEquals(18, records.size(), "llama3/chat.jsonl records");
        int checked = 0;
        // Loading a 128k-token vocabulary takes a while: the first two conversations, each with and
        // without the generation prompt (tokenizer/FixtureRenderingTest checks every record).
        for (String line : records.subList(0, 4)) {
            JsonNode r = json.readTree(line);
            if (!r.has("text")) {
                continue;
            }
            Path messages = file("messages.json", r.get("messages").toString());
            List<String> args = new java.util.ArrayList<>(List.of("template", "--model", model.toString(), "--messages", messages.toString()));
            if (r.get("add_generation_prompt").asBoolean()) {
                args.add("--add-generation-prompt");
            }
            CliTest.Run out = run(args.toArray(String[]::new));
            assertEquals(0, out.exit(), out.err());
            assertEquals(r.get("text").asText(), out.out(), line);
            checked++;
        }
        assertEquals(4, checked, "llama3/chat.jsonl records with a text");
    }

    @Test
    void aTemplateFileAndTokenTextsReplaceTheModels() throws IOException {
        Path model = modelWithTemplate("stories260K.gguf", "model's own template");
        Path template = file("t.jinja", SIMPLE);
        CliTest.Run r = run("template", "--model", model.toString(), "--template", template.toString(), "--messages", conversation().toString(),
                "--bos-token", "[BOS]", "--eos-token", "[EOS]");
        assertEquals(0, r.exit(), r.err());
        assertEquals("[BOS]<|system|>Be brief.[EOS]<|user|>Hi[EOS]", r.out());
        CliTest.Run noModel = run("template", "--template", template.toString(), "--messages", conversation().toString());
        assertEquals(0, noModel.exit(), noModel.err());
        assertEquals("<|system|>Be brief.<|user|>Hi", noModel.out());
    }

    @Test
    void toolsVariablesAndTheLlamaCppDialect() throws IOException {
        Path tools = file("tools.json", "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}]");
        Path template = file("t.jinja", "{{ tools | map(attribute='function.name') | join(',') }}|{{ enable_thinking }}|{{ date_string }}|"
                + "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}{% endif %}{{ m.content }}{% endfor %}");
        CliTest.Run r = run("template", "--template", template.toString(), "--messages", conversation().toString(), "--tools", tools.toString(),
                "--var", "enable_thinking=false", "--var", "date_string=26 Jul 2024", "--llama-cpp");
        assertEquals(0, r.exit(), r.err());
        assertEquals("get_weather|false|26 Jul 2024|Be brief.\nHi", r.out());
        assertOneLineError(run("template", "--template", template.toString(), "--messages", conversation().toString(), "--tools", tools.toString()),
                "t.jinja", "raised an exception", "no system role");
    }

    /** Found by the chat-template fuzz target's command-line cases: a template file that is not UTF-8 was refused as 'Input length = 1'. */
    @Test
    void aTemplateFileThatIsNotUtf8IsNamedWithTheOffsetOfItsBadByte() throws IOException {
        Path bad = dir.resolve("latin1.jinja");
        Files.write(bad, new byte[]{'{', '{', ' ', '"', (byte) 0xe9, '"', ' ', '}', '}'});
        assertOneLineError(run("template", "--template", bad.toString(), "--messages", conversation().toString()),
                "latin1.jinja: not valid UTF-8 (byte 0xe9 at byte offset 4)");
        assertOneLineError(run("generate", "--model", CliTest.shared().resolve("stories260K.gguf").toString(), "--chat", "--chat-template",
                bad.toString(), "--prompt", "hi", "-n", "1"), "latin1.jinja: not valid UTF-8 (byte 0xe9 at byte offset 4)");
    }

    @Test
    void aModelWithoutTemplateNeedsTemplateFile() throws IOException {
        Path model = modelWithTemplate("stories260K.gguf", null);
        assertOneLineError(run("template", "--model", model.toString(), "--messages", conversation().toString()),
                "has no chat template", "tokenizer.chat_template", "--template");
        assertOneLineError(run("template", "--messages", conversation().toString()), "--model", "--template");
    }

    @Test
    void badMessagesFilesAreNamedWithTheirLineAndColumn() throws IOException {
        Path model = modelWithTemplate("stories260K.gguf", SIMPLE);
        String m = model.toString();
        assertOneLineError(run("template", "--model", m, "--messages", dir.resolve("missing.json").toString()), "missing.json");
        Path broken = file("broken.json", "[\n  {\"role\": \"user\",\n   \"content\": \"hi\"\n  ,]\n");
        assertOneLineError(run("template", "--model", m, "--messages", broken.toString()), "broken.json", "bad JSON", "line 4, column");
        assertOneLineError(run("template", "--model", m, "--messages", file("trailing.json", "[] []").toString()), "trailing.json", "bad JSON");
        assertOneLineError(run("template", "--model", m, "--messages", file("empty.json", "").toString()), "empty.json");
        assertOneLineError(run("template", "--model", m, "--messages", file("object.json", "{\"role\": \"user\"}").toString()),
                "object.json", "JSON array");
        assertOneLineError(run("template", "--model", m, "--messages", file("norole.json", "[{\"content\": \"x\"}]").toString()),
                "norole.json", "message 1", "role");
        assertOneLineError(run("template", "--model", m, "--messages", file("number.json", "[{\"role\": \"user\", \"content\": 5}]").toString()),
                "number.json", "message 1", "content");
        assertOneLineError(run("template", "--model", m, "--messages", conversation().toString(), "--var", "novalue"), "--var");
    }

    @Test
    void templateErrorsNameTheTemplateLineAndColumn() throws IOException {
        Path model = modelWithTemplate("stories260K.gguf", "{% for m in messages %}\n{{ m.content + none }}\n{% endfor %}");
        assertOneLineError(run("template", "--model", model.toString(), "--messages", conversation().toString()),
                "tokenizer.chat_template", "line 2, column", "none");
        Path syntax = file("bad.jinja", "{% if messages %}\nno end");
        assertOneLineError(run("template", "--template", syntax.toString(), "--messages", conversation().toString()),
                "bad.jinja", "syntax error", "{% endif %}");
    }

    @Test
    void aMissingModelIsOneLine() throws IOException {
        CliTest.Run r = run("template", "--model", dir.resolve("nope.gguf").toString(), "--messages", conversation().toString());
        assertOneLineError(r, "nope.gguf");
        if (r.err().lines().count() != 1) {
            fail("one line expected: " + r.err());
        }
    }
}
