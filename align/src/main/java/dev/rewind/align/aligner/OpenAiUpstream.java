package dev.rewind.align.aligner;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Answers from any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, …): one
 * {@code POST …/chat/completions} per question with the question as the single user message,
 * temperature 0, and the reply's {@code choices[0].message.content} as the answer. Every way it can
 * fail — no connection, no reply within the timeout, an HTTP error status, a body that is not the
 * expected JSON — is an {@link UpstreamResult.Failure} for that question, never an exception.
 */
public final class OpenAiUpstream implements Upstream {

    /**
     * @param endpoint  the chat-completions URL (see {@link #chatCompletions})
     * @param model     the {@code model} field of the request; omitted when empty (servers of one model accept that)
     * @param apiKey    sent as {@code Authorization: Bearer …} when present
     * @param timeout   for connecting and, separately, for the whole reply
     * @param maxTokens the {@code max_tokens} field of the request
     */
    public record Settings(URI endpoint, Optional<String> model, Optional<String> apiKey, Duration timeout, int maxTokens) {
        /** @throws IllegalArgumentException if the timeout is not positive or max tokens below 1 */
        public Settings {
            Objects.requireNonNull(endpoint, "endpoint");
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(apiKey, "apiKey");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the upstream timeout must be positive, got " + timeout);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("the upstream's max tokens must be >= 1, got " + maxTokens);
            }
        }

        @Override
        public String toString() { // never print the key
            return "Settings[endpoint=" + endpoint + ", model=" + model + ", apiKey=" + (apiKey.isPresent() ? "(set)" : "(none)")
                    + ", timeout=" + timeout + ", maxTokens=" + maxTokens + "]";
        }
    }

    private static final int BODY_EXCERPT = 200;

    private final Settings settings;
    private final HttpClient client;
    private final ObjectMapper json = new ObjectMapper();

    /** A client for one endpoint; it opens connections as questions come. */
    public OpenAiUpstream(Settings settings) {
        this.settings = settings;
        this.client = HttpClient.newBuilder().connectTimeout(settings.timeout()).build();
    }

    /**
     * The chat-completions URL for what a user typed: a URL ending in {@code /chat/completions} as it
     * is, any other (e.g. {@code http://host:8000/v1}) with {@code /chat/completions} appended.
     *
     * @throws IllegalArgumentException if it is not an http or https URL
     */
    public static URI chatCompletions(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a URL: " + url, e);
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("the upstream URL must be http:// or https:// with a host, got " + url);
        }
        String s = uri.toString();
        if (s.endsWith("/chat/completions")) {
            return uri;
        }
        return URI.create(s.replaceAll("/+$", "") + "/chat/completions");
    }

    @Override
    public String describe() {
        return settings.endpoint().toString();
    }

    @Override
    public UpstreamResult answer(String question) {
        long start = System.nanoTime();
        String where = settings.endpoint().toString();
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(settings.endpoint())
                    .timeout(settings.timeout())
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body(question), StandardCharsets.UTF_8));
            settings.apiKey().ifPresent(key -> request.header("Authorization", "Bearer " + key));
            HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (response.statusCode() / 100 != 2) {
                return failure("HTTP " + response.statusCode() + " from " + where + excerpt(response.body()), start);
            }
            return content(response.body())
                    .<UpstreamResult>map(text -> new UpstreamResult.Answer(text, seconds(start)))
                    .orElseGet(() -> failure("the reply of " + where + " has no choices[0].message.content" + excerpt(response.body()), start));
        } catch (HttpTimeoutException e) {
            return failure("no reply from " + where + " within " + settings.timeout().toMillis() / 1000.0 + " s", start);
        } catch (ConnectException e) {
            return failure("cannot connect to " + where + (e.getMessage() == null ? "" : ": " + e.getMessage()), start);
        } catch (IOException e) {
            return failure("the request to " + where + " failed: " + e, start);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failure("interrupted while waiting for " + where, start);
        }
    }

    private String body(String question) throws JsonProcessingException {
        ObjectNode root = json.createObjectNode();
        settings.model().ifPresent(m -> root.put("model", m));
        ObjectNode message = root.putArray("messages").addObject();
        message.put("role", "user");
        message.put("content", question);
        root.put("temperature", 0);
        root.put("max_tokens", settings.maxTokens());
        return json.writeValueAsString(root);
    }

    private Optional<String> content(String body) {
        try {
            JsonNode content = json.readTree(body).path("choices").path(0).path("message").path("content");
            return content.isTextual() ? Optional.of(content.asText()) : Optional.empty();
        } catch (JsonProcessingException e) {
            return Optional.empty();
        }
    }

    private static String excerpt(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        String oneLine = body.strip().replaceAll("\\s+", " ");
        return ": " + (oneLine.length() > BODY_EXCERPT ? oneLine.substring(0, BODY_EXCERPT) + "…" : oneLine);
    }

    private static UpstreamResult.Failure failure(String message, long start) {
        return new UpstreamResult.Failure(message, seconds(start));
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Closes the HTTP client, abandoning any request still waiting for a reply. */
    @Override
    public void close() {
        client.shutdownNow();
    }
}
