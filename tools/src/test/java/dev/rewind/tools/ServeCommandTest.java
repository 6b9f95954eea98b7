package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.server.RewindServer;
import dev.rewind.server.ServedModel;
import dev.rewind.server.ServerOptions;
import dev.rewind.tokenizer.chat.RenderOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code rewind serve}: greedy answers equal {@code rewind generate}'s; bad flags are one line. */
class ServeCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void greedyAnswersEqualRewindGenerateForCompletionsAndChat(@TempDir Path dir) throws Exception {
        Path model = CliTest.shared().resolve("stories260K.gguf");
        Path template = dir.resolve("chatml.jinja");
        Files.writeString(template, "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
        List<String> prompts = List.of("Once upon a time", "The little dog", "Mia had a red hat");
        List<String> generated = new ArrayList<>();
        List<String> chats = new ArrayList<>();
        for (String p : prompts) {
            CliTest.Run r = CliTest.run("generate", "-m", model.toString(), "-p", p, "--temperature", "0", "-n", "40", "--output-format", "json");
            assertEquals(0, r.exit(), r.err());
            generated.add(JSON.readTree(r.out()).get("text").asText());
            CliTest.Run c = CliTest.run("generate", "-m", model.toString(), "-p", p, "--chat", "--chat-template", template.toString(),
                    "--temperature", "0", "-n", "40", "--output-format", "json");
            assertEquals(0, c.exit(), c.err());
            chats.add(JSON.readTree(c.out()).get("text").asText());
        }
        try (WorkerPool pool = new WorkerPool(2); LoadedModel loaded = ModelLoader.load(model, pool, Precision.FAST)) {
            var chat = ChatPrompt.of(template, loaded.file(), loaded.tokenizer(), RenderOptions.Dialect.JINJA).orElseThrow().format();
            try (RewindServer server = RewindServer.start(List.of(new ServedModel("stories", loaded, chat)),
                    ServerOptions.defaults(128).withPort(0), 256, 16, KvType.F32, _ -> { })) {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                for (int i = 0; i < prompts.size(); i++) {
                    String q = JSON.writeValueAsString(prompts.get(i));
                    JsonNode completion = post(http, server, "/v1/completions", "{\"prompt\":" + q + ",\"max_tokens\":40,\"temperature\":0}");
                    assertEquals(generated.get(i), completion.at("/choices/0/text").asText(), prompts.get(i));
                    JsonNode answer = post(http, server, "/v1/chat/completions",
                            "{\"messages\":[{\"role\":\"user\",\"content\":" + q + "}],\"max_tokens\":40,\"temperature\":0}");
                    assertEquals(chats.get(i), answer.at("/choices/0/message/content").asText(), prompts.get(i) + " (chat)");
                }
            }
        }
    }

    private static JsonNode post(HttpClient http, RewindServer server, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void badServeFlagsAreOneLineErrors(@TempDir Path dir) {
        String model = CliTest.shared().resolve("stories260K.gguf").toString();
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--kv-pages", "3"), "KV pool of 3 pages", "--kv-pages");
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--kv-memory", "lots"), "--kv-memory 'lots'");
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--api-key-file", dir.resolve("none").toString()), "--api-key-file");
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--port", "70000"), "port must be between 0 and 65535");
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--context", "4096"), "--context must be between 2 and");
        CliTest.assertOneLineError(CliTest.run("serve", "-m", model, "--max-n", "100", "--parallel", "8"), "n limit");
    }
}
