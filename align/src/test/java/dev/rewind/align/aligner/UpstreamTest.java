package dev.rewind.align.aligner;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.models.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Upstream answers from a local model and from an OpenAI-compatible server on loopback, failures included. */
class UpstreamTest {

    private static OpenAiUpstream client(String url, Duration timeout) {
        return new OpenAiUpstream(new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(url), Optional.of("stub-model"),
                Optional.of("secret-key"), timeout, 64));
    }

    @Test
    void anOpenAiCompatibleServerAnswersWithTheQuestionAsTheUserMessage() throws Exception {
        try (StubChatServer server = new StubChatServer(); OpenAiUpstream upstream = client(server.baseUrl(), Duration.ofSeconds(10))) {
            UpstreamResult r = upstream.answer("Is the sky blue?");
            assertEquals("Answer to: Is the sky blue?", assertInstanceOf(UpstreamResult.Answer.class, r).text());
            StubChatServer.Request request = server.requests.getFirst();
            assertEquals("/v1/chat/completions", request.path());
            assertEquals("Bearer secret-key", request.authorization());
            assertEquals("stub-model", request.body().get("model").asText());
            assertEquals("user", request.body().get("messages").get(0).get("role").asText());
            assertEquals("Is the sky blue?", request.body().get("messages").get(0).get("content").asText());
            assertEquals(0, request.body().get("temperature").asInt());
            assertEquals(64, request.body().get("max_tokens").asInt());
        }
    }

    @Test
    void withoutAKeyOrModelNeitherIsSent() throws Exception {
        try (StubChatServer server = new StubChatServer();
             OpenAiUpstream upstream = new OpenAiUpstream(new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(server.baseUrl() + "/"),
                     Optional.empty(), Optional.empty(), Duration.ofSeconds(10), 8))) {
            assertInstanceOf(UpstreamResult.Answer.class, upstream.answer("hi"));
            assertEquals(null, server.requests.getFirst().authorization());
            assertTrue(!server.requests.getFirst().body().has("model"));
        }
    }

    @Test
    void anHttpErrorIsAFailureNamingTheStatusAndBody() throws Exception {
        try (StubChatServer server = new StubChatServer(); OpenAiUpstream upstream = client(server.baseUrl(), Duration.ofSeconds(10))) {
            UpstreamResult.Failure f = assertInstanceOf(UpstreamResult.Failure.class, upstream.answer("please FAIL"));
            assertTrue(f.message().startsWith("HTTP 500 from " + server.baseUrl() + "/chat/completions"), f.message());
            assertTrue(f.message().contains("the model exploded"), f.message());
            assertInstanceOf(UpstreamResult.Answer.class, upstream.answer("and now succeed"), "the client still works");
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOut() throws Exception {
        try (StubChatServer server = new StubChatServer(); OpenAiUpstream upstream = client(server.baseUrl(), Duration.ofMillis(500))) {
            long start = System.nanoTime();
            UpstreamResult.Failure f = assertInstanceOf(UpstreamResult.Failure.class, upstream.answer("HANG forever"));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(f.message().contains("no reply from") && f.message().contains("within 0.5 s"), f.message());
            assertTrue(seconds >= 0.45 && seconds < 5, "took " + seconds + " s");
            assertInstanceOf(UpstreamResult.Answer.class, upstream.answer("quick one"), "the next question is answered");
        }
    }

    @Test
    void aReplyThatIsNotTheExpectedJsonIsAFailure() throws Exception {
        try (StubChatServer server = new StubChatServer(); OpenAiUpstream upstream = client(server.baseUrl(), Duration.ofSeconds(10))) {
            UpstreamResult.Failure f = assertInstanceOf(UpstreamResult.Failure.class, upstream.answer("GARBAGE please"));
            assertTrue(f.message().contains("is not JSON") && f.message().contains("<html>not json</html>"), f.message());
        }
    }

    @Test
    void noServerIsAFailureNotAnException() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (OpenAiUpstream upstream = client("http://127.0.0.1:" + port + "/v1", Duration.ofSeconds(5))) {
            UpstreamResult.Failure f = assertInstanceOf(UpstreamResult.Failure.class, upstream.answer("anyone?"));
            assertTrue(f.message().contains("127.0.0.1:" + port), f.message());
        }
    }

    @Test
    void theEndpointIsTheBaseUrlPlusChatCompletions() {
        assertEquals(URI.create("http://h:8000/v1/chat/completions"), OpenAiUpstream.chatCompletions("http://h:8000/v1"));
        assertEquals(URI.create("http://h:8000/v1/chat/completions"), OpenAiUpstream.chatCompletions("http://h:8000/v1/"));
        assertEquals(URI.create("https://api.example.com/v1/chat/completions"),
                OpenAiUpstream.chatCompletions("https://api.example.com/v1/chat/completions"));
        assertThrows(IllegalArgumentException.class, () -> OpenAiUpstream.chatCompletions("ftp://h/v1"));
        assertThrows(IllegalArgumentException.class, () -> OpenAiUpstream.chatCompletions("not a url"));
        assertTrue(!new OpenAiUpstream.Settings(URI.create("http://h/"), Optional.empty(), Optional.of("sk-123"), Duration.ofSeconds(1), 1)
                .toString().contains("sk-123"), "the key is never printed");
    }

    @Test
    void aLocalModelAnswersGreedilyFromTheQuestion() throws Exception {
        SharedModels.GreedyReference ref = SharedModels.greedy("stories260K", "p1");
        try (WorkerPool pool = new WorkerPool(1); LoadedModel m = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
             ModelRunner r = new ModelRunner(m.model(), 128, 16, KvType.F32);
             LocalModelUpstream upstream = new LocalModelUpstream("stories260K.gguf", r, m.tokenizer(), "{question}", 32, 128)) {
            UpstreamResult.Answer a = assertInstanceOf(UpstreamResult.Answer.class, upstream.answer(ref.prompt()));
            String expected = m.tokenizer().decode(ref.genIds()).strip();
            assertEquals(expected, a.text(), "llama.cpp's greedy continuation");
            assertEquals("stories260K.gguf", upstream.describe());
        }
    }

    @Test
    void aLocalModelWithAnotherTokenizerAndTooSmallAContextFailsPerQuestion(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("byte-vocab.gguf");
        try (WorkerPool pool = new WorkerPool(1)) {
            SyntheticModel.write(file, new SyntheticModel.Shape("t", 64, 1, 2, 1, 64, 300, 64, 10000.0, 1e-5f, false),
                    GgmlType.F32, 3, pool, done -> { });
            try (LoadedModel m = ModelLoader.load(file, pool); ModelRunner r = new ModelRunner(m.model(), 64, 16, KvType.F32);
                 LocalModelUpstream upstream = new LocalModelUpstream("byte-vocab.gguf", r, m.tokenizer(), "Q: {question}\nA:", 8, 64)) {
                assertNotEquals(512, m.tokenizer().vocabularySize(), "a tokenizer other than the aligner's");
                UpstreamResult.Answer a = assertInstanceOf(UpstreamResult.Answer.class, upstream.answer("Why?"));
                assertTrue(a.seconds() > 0);
                UpstreamResult.Failure f = assertInstanceOf(UpstreamResult.Failure.class, upstream.answer("why ".repeat(100)));
                assertTrue(f.message().startsWith("byte-vocab.gguf could not answer: the prompt has"), f.message());
                assertInstanceOf(UpstreamResult.Answer.class, upstream.answer("And now?"), "the next question works again");
            }
        }
    }
}
