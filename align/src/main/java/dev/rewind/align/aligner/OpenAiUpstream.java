package dev.rewind.align.aligner;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.text.Escape;

import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Answers from any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, …): one
 * {@code POST …/chat/completions} per question with the question as the single user message,
 * temperature 0, and the reply's {@code choices[0].message.content} as the answer. Every way it can
 * fail — no connection, no complete reply within the timeout, an HTTP error status, a reply larger than
 * the cap, a body that is not the expected JSON — is an {@link UpstreamResult.Failure} for that question,
 * never an exception.
 *
 * <p>One deadline covers the whole exchange: connecting, the headers and the body. The body is read into
 * memory up to {@link Settings#maxReplyBytes} and no further (the connection is closed there), so a server
 * that streams without end or trickles fails the question at the deadline with bounded memory. The API key
 * is redacted ({@value #REDACTED}) from everything this class returns — failure messages quoting the reply,
 * and answers — in case the server echoes it; redirects are never followed (they would carry it elsewhere).
 * Not thread-safe: one question at a time.
 */
public final class OpenAiUpstream implements Upstream {

    /** The largest reply read by default: 8 MiB, far more than any chat answer. */
    public static final long DEFAULT_MAX_REPLY_BYTES = 8L << 20;

    /** What the API key is replaced by wherever it would be shown. */
    public static final String REDACTED = "[redacted]";

    /**
     * @param endpoint      the chat-completions URL (see {@link #chatCompletions})
     * @param model         the {@code model} field of the request; omitted when empty (servers of one model accept that)
     * @param apiKey        sent as {@code Authorization: Bearer …} when present
     * @param timeout       for the whole exchange of one question: connecting, headers and body
     * @param maxTokens     the {@code max_tokens} field of the request
     * @param maxReplyBytes the largest reply body read
     */
    public record Settings(URI endpoint, Optional<String> model, Optional<String> apiKey, Duration timeout, int maxTokens,
                           long maxReplyBytes) {
        /** @throws IllegalArgumentException if the timeout is not positive, max tokens below 1 or the cap below 1 */
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
            if (maxReplyBytes < 1 || maxReplyBytes > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("the largest upstream reply must be 1 byte to 2 GiB, got " + maxReplyBytes);
            }
        }

        /** Settings with the default reply cap, {@link #DEFAULT_MAX_REPLY_BYTES}. */
        public Settings(URI endpoint, Optional<String> model, Optional<String> apiKey, Duration timeout, int maxTokens) {
            this(endpoint, model, apiKey, timeout, maxTokens, DEFAULT_MAX_REPLY_BYTES);
        }

        @Override
        public String toString() { // never print the key
            return "Settings[endpoint=" + shown(endpoint) + ", model=" + model + ", apiKey=" + (apiKey.isPresent() ? "(set)" : "(none)")
                    + ", timeout=" + timeout + ", maxTokens=" + maxTokens + ", maxReplyBytes=" + maxReplyBytes + "]";
        }
    }

    private static final int BODY_EXCERPT = 200;

    private final Settings settings;
    /** Replaced after an exchange is abandoned, so that its connection is closed, not left reading. */
    private HttpClient client;
    private final ObjectMapper json;
    private final String where;

    /** A client for one endpoint; it opens connections as questions come. */
    public OpenAiUpstream(Settings settings) {
        this.settings = settings;
        this.client = newClient(settings);
        JsonFactory factory = JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                .maxDocumentLength(settings.maxReplyBytes())
                .maxStringLength((int) settings.maxReplyBytes())
                .maxNestingDepth(200)
                .build()).build();
        this.json = JsonMapper.builder(factory).build();
        this.where = shown(settings.endpoint());
    }

    private static HttpClient newClient(Settings settings) {
        return HttpClient.newBuilder().connectTimeout(settings.timeout()).followRedirects(HttpClient.Redirect.NEVER).build();
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
            throw new IllegalArgumentException("not a URL: " + Escape.excerpt(url, 200), e);
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https")) || uri.getHost() == null) {
            throw new IllegalArgumentException("the upstream URL must be http:// or https:// with a host, got " + shown(uri));
        }
        String s = uri.toString();
        if (s.endsWith("/chat/completions")) {
            return uri;
        }
        return URI.create(s.replaceAll("/+$", "") + "/chat/completions");
    }

    /**
     * How a URL is shown (in output lines and messages): without user info, and with the values of query
     * parameters that look like credentials ({@code key}, {@code token}, {@code secret}, …) redacted.
     */
    static String shown(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme() + "://";
        String host = uri.getHost() == null ? "" : uri.getHost();
        String port = uri.getPort() < 0 ? "" : ":" + uri.getPort();
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        String query = "";
        if (uri.getRawQuery() != null) {
            StringBuilder q = new StringBuilder("?");
            for (String part : uri.getRawQuery().split("&", -1)) {
                int eq = part.indexOf('=');
                String name = eq < 0 ? part : part.substring(0, eq);
                boolean secret = name.toLowerCase(java.util.Locale.ROOT).matches(".*(key|token|secret|passw|auth|sig|cred).*");
                q.append(q.length() > 1 ? "&" : "").append(eq < 0 || !secret ? part : name + "=" + REDACTED);
            }
            query = q.toString();
        }
        return Escape.visible(scheme + host + port + path + query);
    }

    @Override
    public String describe() {
        return where;
    }

    @Override
    public UpstreamResult answer(String question) {
        long start = System.nanoTime();
        long deadline = start + settings.timeout().toNanos();
        HttpRequest request;
        try {
            HttpRequest.Builder builder = HttpRequest.newBuilder(settings.endpoint())
                    .timeout(settings.timeout())
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body(question), StandardCharsets.UTF_8));
            settings.apiKey().ifPresent(key -> builder.header("Authorization", "Bearer " + key));
            request = builder.build();
        } catch (JsonProcessingException | IllegalArgumentException e) {
            return failure("cannot build the request to " + where + ": " + e.getMessage(), start);
        }
        AtomicReference<CappedBody> reading = new AtomicReference<>();
        HttpResponse.BodyHandler<byte[]> handler = info -> {
            CappedBody body = new CappedBody(settings.maxReplyBytes(), info.headers().firstValueAsLong("content-length").orElse(-1));
            reading.set(body);
            return body;
        };
        CompletableFuture<HttpResponse<byte[]>> exchange = client.sendAsync(request, handler);
        HttpResponse<byte[]> response;
        try {
            response = exchange.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            stop(exchange, reading);
            return timedOut(start);
        } catch (InterruptedException e) {
            stop(exchange, reading);
            Thread.currentThread().interrupt();
            return failure("interrupted while waiting for " + where, start);
        } catch (ExecutionException e) {
            stop(exchange, reading);
            return failure(e.getCause(), start);
        } catch (CancellationException e) {
            return failure("the request to " + where + " was cancelled", start);
        }
        String body = new String(response.body(), StandardCharsets.UTF_8);
        if (response.statusCode() / 100 != 2) {
            return failure("HTTP " + response.statusCode() + " from " + where + excerpt(body), start);
        }
        JsonNode content;
        try {
            content = json.readTree(body).path("choices").path(0).path("message").path("content");
        } catch (JsonProcessingException e) {
            return failure("the reply of " + where + " is not JSON (" + Escape.excerpt(String.valueOf(e.getOriginalMessage()), 120) + ")"
                    + excerpt(body), start);
        }
        if (!content.isTextual()) {
            return failure("the reply of " + where + " has no choices[0].message.content" + excerpt(body), start);
        }
        return new UpstreamResult.Answer(redact(content.asText()), seconds(start));
    }

    /**
     * Abandons an exchange: cancels it and its body, and closes the client's connections (a cancelled body
     * alone may leave the connection open, a server streaming into it), starting a new client for the
     * next question.
     */
    private void stop(CompletableFuture<?> exchange, AtomicReference<CappedBody> reading) {
        exchange.cancel(true);
        CappedBody body = reading.get();
        if (body != null) {
            body.cancel();
        }
        client.shutdownNow();
        client = newClient(settings);
    }

    private UpstreamResult.Failure timedOut(long start) {
        return failure("no reply from " + where + " within " + settings.timeout().toMillis() / 1000.0 + " s", start);
    }

    private UpstreamResult.Failure failure(Throwable cause, long start) {
        return switch (cause) {
            case HttpTimeoutException e -> timedOut(start);
            case CappedBody.TooLarge e -> failure("the reply of " + where + " is larger than " + settings.maxReplyBytes()
                    + " bytes (the most read); it was cut off there", start);
            case ConnectException e -> failure("cannot connect to " + where + (e.getMessage() == null ? "" : ": " + e.getMessage()), start);
            case null -> failure("the request to " + where + " failed", start);
            default -> failure("the request to " + where + " failed: "
                    + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()), start);
        };
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

    /** A short, visible, key-free excerpt of a reply for a failure message. */
    private String excerpt(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        String oneLine = redact(body.strip().replaceAll("\\s+", " "));
        return ": " + Escape.excerpt(oneLine, BODY_EXCERPT);
    }

    /** {@code text} with the API key (as it is, JSON-escaped and URL-encoded) replaced by {@value #REDACTED}. */
    String redact(String text) {
        if (settings.apiKey().isEmpty()) {
            return text;
        }
        String key = settings.apiKey().get();
        String out = text;
        for (String form : new String[]{key, new String(JsonStringEncoder.getInstance().quoteAsString(key)),
                URLEncoder.encode(key, StandardCharsets.UTF_8)}) {
            if (!form.isEmpty()) {
                out = out.replace(form, REDACTED);
            }
        }
        return out;
    }

    private UpstreamResult.Failure failure(String message, long start) {
        return new UpstreamResult.Failure(Escape.visible(redact(message)), seconds(start));
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
