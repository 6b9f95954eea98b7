package dev.rewind.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bounds: a full queue answers 429 with Retry-After; API keys are required when configured. */
@Timeout(120)
class LimitsTest {

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        try (Fixture f = new Fixture()) {
            f.start(f.defaults().withParallel(1, 256).withQueue(1), 256);
            f.holdSteps(); // the one slot's request stays running, however fast the machine generates
            CompletableFuture<Fixture.Streamed> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return f.stream("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":40,\"temperature\":0,\"stream\":true}", 1);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(1, f.awaitMetric("rewind_running_requests", 1), "the first request runs");
            CompletableFuture<HttpResponse<String>> queued = f.http.sendAsync(HttpRequest.newBuilder(f.uri("/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"The cat\",\"max_tokens\":5,\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(1, f.awaitMetric("rewind_queue_depth", 1), "the second request waits");
            HttpResponse<String> refused = f.post("/v1/completions", "{\"prompt\":\"A dog\",\"max_tokens\":5}");
            assertEquals(429, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            assertEquals("rate_limit_exceeded", Fixture.JSON.readTree(refused.body()).at("/error/type").asText());
            assertEquals(1, f.metric("rewind_running_requests"), "the refusal did not disturb the running request");
            f.releaseSteps();
            Fixture.Streamed first = running.get();
            assertEquals(200, first.status());
            assertEquals(f.greedy(f.completionPrompt("Once upon a time"), 40), first.texts()[0], "the held request's answer is its greedy one");
            HttpResponse<String> second = queued.get();
            assertEquals(200, second.statusCode(), second.body());
            assertEquals(f.greedy(f.completionPrompt("The cat"), 5), Fixture.JSON.readTree(second.body()).at("/choices/0/text").asText(),
                    "the queued request ran once the slot was free");
            assertEquals(0, f.pagesLeftAfterIdle());
        }
    }

    /** A pool too small for every request at once: requests wait, are re-queued or cut short, never hang or leak. */
    @Test
    void aSmallKvPoolDelaysOrShortensRequestsButLosesNoPage() throws Exception {
        try (Fixture f = new Fixture()) {
            f.start(f.defaults(), 24); // 24 pages of 16: room for about four of the eight requests below
            List<String> prompts = List.of("Once upon a time", "The dog ran", "Sue had a cat", "A big tree", "Ben and Mia", "The sun",
                    "Tom saw a bird", "Lily liked cake");
            List<String> expected = new java.util.ArrayList<>();
            for (String p : prompts) {
                expected.add(f.greedy(f.completionPrompt(p), 70));
            }
            List<CompletableFuture<HttpResponse<String>>> answers = new java.util.ArrayList<>();
            for (String p : prompts) {
                answers.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri("/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                        "{\"prompt\":" + Fixture.quote(p) + ",\"max_tokens\":70,\"temperature\":0}")).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < prompts.size(); i++) {
                HttpResponse<String> r = answers.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                String text = Fixture.JSON.readTree(r.body()).at("/choices/0/text").asText();
                assertTrue(expected.get(i).startsWith(text), "request " + i + " is its greedy answer or a beginning of it: " + text);
            }
            assertEquals(0, f.pagesLeftAfterIdle());
        }
    }

    @Test
    void apiKeysAreRequiredWhenConfigured() throws Exception {
        try (Fixture f = new Fixture()) {
            f.start(f.defaults().withApiKeys(List.of("sk-first", "sk-second")), 256);
            String body = "{\"prompt\":\"The cat\",\"max_tokens\":3,\"temperature\":0}";
            assertEquals(401, f.post("/v1/completions", body).statusCode());
            for (String key : List.of("sk-wrong", "sk-firs", "sk-first2", "")) {
                HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.uri("/v1/completions")).header("Authorization", "Bearer " + key)
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(401, r.statusCode(), key);
                assertEquals("invalid_api_key", Fixture.JSON.readTree(r.body()).at("/error/code").asText());
            }
            for (String key : List.of("sk-first", "sk-second")) {
                HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.uri("/v1/completions")).header("Authorization", "Bearer " + key)
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), key);
            }
            assertEquals(200, f.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.server.port() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode(), "health needs no key");
            assertTrue(f.log.stream().noneMatch(l -> l.contains("The cat")), "no request content in the log by default");
        }
    }
}
