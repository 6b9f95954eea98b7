package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.engine.sampling.SamplingParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server over the trained stories260K model: every greedy answer, streamed or not, alone or
 * among 64 concurrent streams, equals what the engine computes for the request alone (the loop of
 * {@code rewind generate}); the prefix cache hits; pages all come back; bad requests are 4xx.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ServerTest {

    private static final String SHARED_PREFIX = "Once upon a time, there was a little girl named Lily. She lived in a small house"
            + " with her mom and dad. Every day she went to the park to play with her friends. One day,";

    private Fixture f;

    @BeforeAll
    void start() throws Exception {
        f = new Fixture();
        f.start(f.defaults(), 2048);
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
    }

    private static String completion(String prompt, int maxTokens, boolean stream, String extra) {
        return "{\"model\":\"stories\",\"prompt\":" + Fixture.quote(prompt) + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0"
                + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + extra + "}";
    }

    @Test
    void greedyCompletionsEqualTheEngineAloneStreamedOrNot() throws Exception {
        for (String prompt : List.of("Once upon a time", "Tom had a big red ball", "The cat")) {
            int[] ids = f.completionPrompt(prompt);
            String expected = f.greedy(ids, 40);
            HttpResponse<String> r = f.post("/v1/completions", completion(prompt, 40, false, ""));
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = Fixture.JSON.readTree(r.body());
            assertEquals(expected, body.at("/choices/0/text").asText(), prompt);
            assertEquals("text_completion", body.get("object").asText());
            assertEquals(ids.length, body.at("/usage/prompt_tokens").asInt());
            Fixture.Streamed s = f.stream("/v1/completions", completion(prompt, 40, true, ""), 1);
            assertEquals(expected, s.texts()[0], prompt + " (streamed)");
            assertEquals(body.at("/choices/0/finish_reason").asText(), s.finish()[0]);
            assertEquals(body.at("/usage/completion_tokens").asInt(), s.usage().get("completion_tokens").asInt());
        }
    }

    @Test
    void greedyChatEqualsTheEngineAloneThroughTheTemplate() throws Exception {
        String user = "Tell me about a dog";
        String expected = f.greedy(f.chatPrompt(user), 30);
        String body = "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":" + Fixture.quote(user) + "}],"
                + "\"max_completion_tokens\":30,\"temperature\":0";
        HttpResponse<String> r = f.post("/v1/chat/completions", body + "}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Fixture.JSON.readTree(r.body());
        assertEquals(expected, json.at("/choices/0/message/content").asText());
        assertEquals("assistant", json.at("/choices/0/message/role").asText());
        assertEquals("chat.completion", json.get("object").asText());
        Fixture.Streamed s = f.stream("/v1/chat/completions", body + ",\"stream\":true}", 1);
        assertEquals(expected, s.texts()[0]);
        assertEquals("assistant", s.chunks().getFirst().at("/choices/0/delta/role").asText());
    }

    @Test
    void sixtyFourConcurrentStreamsEachEqualTheirSingleRequestOutput() throws Exception {
        List<String> prompts = new ArrayList<>();
        String[] endings = {"she saw a bird", "she found a box", "she met a cat", "it rained", "she lost her hat", "a dog ran by",
                "she had a cake", "the sun was hot"};
        for (int i = 0; i < 32; i++) {
            prompts.add(SHARED_PREFIX + " " + endings[i % endings.length] + (i >= endings.length ? " number " + i : "") + ".");
        }
        String[] subjects = {"Tom", "Sue", "Ben", "Max", "Amy", "Sam", "Tim", "Mia"};
        for (int i = 0; i < 32; i++) {
            prompts.add(subjects[i % subjects.length] + " had " + (i + 2) + " toys");
        }
        List<String> expected = new ArrayList<>();
        for (String p : prompts) {
            expected.add(f.greedy(f.completionPrompt(p), 24));
        }
        double hitsBefore = f.metric("rewind_prefix_cache_hits_total");
        List<Future<Fixture.Streamed>> results = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String p : prompts) {
                results.add(clients.submit(() -> f.stream("/v1/completions", completion(p, 24, true, ""), 1)));
            }
        }
        int cachedTokens = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Fixture.Streamed s = results.get(i).get();
            assertEquals(200, s.status());
            assertEquals(expected.get(i), s.texts()[0], "stream " + i + " of 64: " + prompts.get(i));
            assertNotNull(s.finish()[0], "stream " + i + " has a finish_reason");
            cachedTokens += s.usage().at("/prompt_tokens_details/cached_tokens").asInt();
        }
        assertTrue(f.metric("rewind_prefix_cache_hits_total") > hitsBefore, "the prefix cache reports hits");
        assertTrue(cachedTokens >= 31 * 32, "the 31 later requests of the shared prefix took it from the cache: " + cachedTokens + " tokens");
        assertEquals(0, f.pagesLeftAfterIdle(), "every page is back in the pool after the run and a cache flush");
    }

    @Test
    void sixtyFourClientsThatDisconnectMidStreamLeaveNoPageBehind() throws Exception {
        double cancelledBefore = f.metric("rewind_cancelled_total");
        double generatedBefore = f.metric("rewind_generated_tokens_total");
        f.holdSteps(); // steps are let through one at a time until every client has hung up, however fast the machine is
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Integer>> chunks = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String body = completion("Lily and Tom " + i, 110, true, "");
                chunks.add(clients.submit(() -> readSomeAndHangUp(body, 3)));
            }
            for (int step = 0; step < 100 && !chunks.stream().allMatch(Future::isDone); step++) {
                f.allowSteps(1);
                Thread.sleep(20);
            }
            f.releaseSteps();
            for (Future<Integer> c : chunks) {
                assertEquals(3, c.get(), "each client saw three chunks before hanging up");
            }
        } finally {
            f.releaseSteps();
        }
        assertEquals(0, f.pagesLeftAfterIdle(), "disconnected streams gave their pages back");
        assertTrue(f.metric("rewind_cancelled_total") - cancelledBefore >= 32,
                "most of the 64 streams were cancelled, not run to the end");
        assertTrue(f.metric("rewind_generated_tokens_total") - generatedBefore < 64 * 110);
    }

    /** Sends a streaming request on a raw socket, reads {@code chunks} events and closes the connection. */
    private int readSomeAndHangUp(String body, int chunks) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", f.server.port())) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder seen = new StringBuilder();
            int events = 0;
            while (events < chunks) {
                int c = in.read();
                if (c < 0) {
                    break;
                }
                seen.append((char) c);
                if (seen.toString().endsWith("data: ")) {
                    events++;
                }
            }
            return events;
        }
    }

    @Test
    void badRequestsGetOpenAiErrorsAndDoNotDisturbOtherStreams() throws Exception {
        List<String> prompts = List.of("Once upon a time", "The dog", "Sue had a cat", "A big tree", "Ben ran", "The sun");
        List<String> expected = new ArrayList<>();
        for (String p : prompts) {
            expected.add(f.greedy(f.completionPrompt(p), 60));
        }
        String tooLong = "Once upon a time ".repeat(40);
        record Bad(String path, String body, int status, String param) {
        }
        List<Bad> bad = List.of(
                new Bad("/v1/completions", "{\"prompt\": \"x\",", 400, null),
                new Bad("/v1/completions", "[1, 2]", 400, null),
                new Bad("/v1/completions", "{\"prompt\": 5}", 400, "prompt"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": \"ten\"}", 400, "max_tokens"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"temperature\": true}", 400, "temperature"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"n\": 1000000}", 400, "n"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"stop\": [1]}", 400, "stop"),
                new Bad("/v1/completions", "{\"prompt\": \"x\", \"rewind\": {\"method\": \"beam\"}}", 400, "rewind.method"),
                new Bad("/v1/completions", "{\"prompt\": " + Fixture.quote(tooLong) + "}", 400, "prompt"),
                new Bad("/v1/completions", "{\"prompt\": [1, 99999]}", 400, "prompt"),
                new Bad("/v1/completions", "{\"model\": \"gpt-9\", \"prompt\": \"x\"}", 404, "model"),
                new Bad("/v1/chat/completions", "{\"messages\": \"hi\"}", 400, "messages"),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", 400, "messages[0].role"),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 7}]}", 400, "messages[0].content"),
                new Bad("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_logprobs\": 2}", 400, "top_logprobs"),
                new Bad("/v1/images/generations", "{}", 404, null),
                new Bad("/v1/completions", "{\"prompt\": \"" + "a".repeat(1 << 20) + "\"}", 413, null));
        List<Future<Fixture.Streamed>> streams = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String p : prompts) {
                streams.add(clients.submit(() -> f.stream("/v1/completions", completion(p, 60, true, ""), 1)));
            }
            for (Bad b : bad) {
                HttpResponse<String> r = f.post(b.path(), b.body());
                assertEquals(b.status(), r.statusCode(), b.body().substring(0, Math.min(80, b.body().length())) + " -> " + r.body());
                JsonNode error = Fixture.JSON.readTree(r.body()).get("error");
                assertNotNull(error, "an OpenAI error object: " + r.body());
                assertTrue(error.get("message").asText().length() > 5);
                assertTrue(error.has("type") && error.has("param") && error.has("code"));
                if (b.param() != null) {
                    assertEquals(b.param(), error.get("param").asText(), r.body());
                }
            }
            HttpResponse<String> get = f.get("/v1/completions");
            assertEquals(405, get.statusCode());
        }
        for (int i = 0; i < prompts.size(); i++) {
            assertEquals(expected.get(i), streams.get(i).get().texts()[0], "stream " + i + " undisturbed");
        }
        assertEquals("context_length_exceeded", Fixture.JSON.readTree(f.post("/v1/completions",
                "{\"prompt\": " + Fixture.quote(tooLong) + "}").body()).at("/error/code").asText());
    }

    @Test
    void oversizedBodiesAreAnswered413NotResetWhetherTheirLengthIsDeclaredOrChunked() throws Exception {
        byte[] big = ("{\"prompt\": \"" + "a".repeat(3 << 20) + "\"}").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> declared = f.http.send(HttpRequest.newBuilder(f.uri("/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(413, declared.statusCode(), declared.body());
            assertEquals("request_too_large", Fixture.JSON.readTree(declared.body()).at("/error/code").asText());
            HttpResponse<String> chunked = f.http.send(HttpRequest.newBuilder(f.uri("/v1/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(413, chunked.statusCode(), chunked.body());
            HttpResponse<String> elsewhere = f.http.send(HttpRequest.newBuilder(f.uri("/v1/images/generations"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, elsewhere.statusCode(), "an error answered before the body is read: " + elsewhere.body());
            // the client's next request still gets its answer
            assertEquals(400, f.post("/v1/completions", "{\"prompt\": 5}").statusCode());
        }
    }

    @Test
    void stopStringsCutTheTextAcrossTokenBoundaries() throws Exception {
        String prompt = "Once upon a time";
        int[] ids = f.completionPrompt(prompt);
        String full = f.greedy(ids, 40);
        // a stop string that starts inside one token and ends inside another
        String stop = full.substring(12, 19);
        assertTrue(full.indexOf(stop) == 12);
        String expected = full.substring(0, 12);
        String extra = ",\"stop\":[\"never-seen\"," + Fixture.quote(stop) + "]";
        JsonNode body = Fixture.JSON.readTree(f.post("/v1/completions", completion(prompt, 40, false, extra)).body());
        assertEquals(expected, body.at("/choices/0/text").asText());
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        Fixture.Streamed s = f.stream("/v1/completions", completion(prompt, 40, true, extra), 1);
        assertEquals(expected, s.texts()[0]);
        assertEquals("stop", s.finish()[0]);
        // a stop string that never comes leaves the text whole
        body = Fixture.JSON.readTree(f.post("/v1/completions", completion(prompt, 40, false, ",\"stop\":\"zzzz\"")).body());
        assertEquals(full, body.at("/choices/0/text").asText());
    }

    @Test
    void sampledChoicesFollowTheirSeedsAndTheLlamaCppExtensions() throws Exception {
        String prompt = "Sue went to the park";
        int[] ids = f.completionPrompt(prompt);
        String request = "{\"prompt\":" + Fixture.quote(prompt) + ",\"max_tokens\":20,\"n\":3,\"seed\":1234,\"temperature\":0.8,"
                + "\"top_p\":0.95,\"top_k\":40,\"min_p\":0.05,\"repeat_penalty\":1.1}";
        JsonNode body = Fixture.JSON.readTree(f.post("/v1/completions", request).body());
        Fixture.Streamed s = f.stream("/v1/completions", request.replace("}", ",\"stream\":true}"), 3);
        for (int i = 0; i < 3; i++) {
            String expected = f.reference(ids, 20, new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 1234 + i));
            assertEquals(expected, body.at("/choices/" + i + "/text").asText(), "choice " + i + " draws with seed 1234 + " + i);
            assertEquals(expected, s.texts()[i], "streamed choice " + i);
        }
        assertEquals(3 * 20, body.at("/usage/completion_tokens").asInt(), "stories never stops in 20 tokens at this prompt")
        ;
    }

    @Test
    void logprobsAreTheModelsLogSoftmaxWithTheGreedyTokenOnTop() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":6,\"temperature\":0,"
                + "\"logprobs\":true,\"top_logprobs\":3}";
        JsonNode json = Fixture.JSON.readTree(f.post("/v1/chat/completions", body).body());
        JsonNode content = json.at("/choices/0/logprobs/content");
        assertEquals(json.at("/usage/completion_tokens").asInt(), content.size());
        for (JsonNode t : content) {
            double lp = t.get("logprob").asDouble();
            assertTrue(lp <= 0);
            JsonNode top = t.get("top_logprobs");
            assertEquals(3, top.size());
            assertEquals(t.get("token").asText(), top.get(0).get("token").asText(), "greedy picks the most likely token");
            assertEquals(lp, top.get(0).get("logprob").asDouble(), 0);
            assertTrue(top.get(0).get("logprob").asDouble() >= top.get(1).get("logprob").asDouble());
            double mass = 0;
            for (JsonNode alt : top) {
                mass += Math.exp(alt.get("logprob").asDouble());
            }
            assertTrue(mass <= 1 + 1e-6, "probabilities of distinct tokens sum to at most 1");
        }
        JsonNode legacy = Fixture.JSON.readTree(f.post("/v1/completions",
                "{\"prompt\":\"The cat\",\"max_tokens\":4,\"temperature\":0,\"logprobs\":2}").body()).at("/choices/0/logprobs");
        assertEquals(4, legacy.get("tokens").size());
        assertEquals(4, legacy.get("token_logprobs").size());
        assertEquals(2, legacy.get("top_logprobs").get(0).size());
    }

    @Test
    void modelsHealthAndMetricsAnswer() throws Exception {
        JsonNode models = Fixture.JSON.readTree(f.get("/v1/models").body());
        assertEquals("stories", models.at("/data/0/id").asText());
        assertEquals("ok", Fixture.JSON.readTree(f.get("/health").body()).get("status").asText());
        String metrics = f.get("/metrics").body();
        for (String name : List.of("rewind_requests_total", "rewind_generated_tokens_total", "rewind_queue_depth", "rewind_kv_pages_in_use",
                "rewind_prefix_cache_hits_total", "rewind_step_seconds_sum")) {
            assertTrue(metrics.contains("# TYPE " + name), name);
        }
        assertEquals(2048, f.metric("rewind_kv_pages_total"));
    }
}
