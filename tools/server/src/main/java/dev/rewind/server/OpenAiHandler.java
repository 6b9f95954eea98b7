package dev.rewind.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The HTTP side: routes, authentication, body limits, OpenAI's JSON and server-sent-event shapes.
 * Each request runs on its own virtual thread, which submits a {@link Job} to the scheduler and
 * writes its events as they come; a write that fails (the client went away) cancels the job.
 */
final class OpenAiHandler extends Handler.Abstract {

    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, ServedModel> models;
    private final String defaultModel;
    private final ServerOptions options;
    private final Scheduler scheduler;
    private final AlignmentLane lane;
    private final Metrics metrics;
    private final IntSupplier pagesInUse;
    private final int pagesTotal;
    private final Consumer<String> log;
    private final EmbeddingModel.Holder embeddings;
    private final List<byte[]> keyDigests;
    private final long created = System.currentTimeMillis() / 1000;
    private volatile boolean shuttingDown;

    OpenAiHandler(Map<String, ServedModel> models, String defaultModel, ServerOptions options, Scheduler scheduler, AlignmentLane lane,
                  Metrics metrics,
                  IntSupplier pagesInUse, int pagesTotal, EmbeddingModel.Holder embeddings, Consumer<String> log) {
        this.models = models;
        this.defaultModel = defaultModel;
        this.options = options;
        this.scheduler = scheduler;
        this.lane = lane;
        this.metrics = metrics;
        this.pagesInUse = pagesInUse;
        this.pagesTotal = pagesTotal;
        this.log = log;
        this.embeddings = embeddings;
        this.keyDigests = options.apiKeys().stream().map(OpenAiHandler::digest).toList();
    }

    void shuttingDown() {
        shuttingDown = true;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        long start = System.nanoTime();
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        String endpoint = switch (path) {
            case "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings" -> path;
            default -> "other";
        };
        int status;
        String note = "";
        try {
            status = switch (path) {
                case "/health" -> {
                    requireMethod(method, "GET");
                    yield sendJson(response, callback, shuttingDown ? 503 : 200,
                            "{\"status\":\"" + (shuttingDown ? "shutting down" : "ok") + "\"}");
                }
                case "/metrics" -> {
                    requireMethod(method, "GET");
                    authorize(request);
                    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    response.setStatus(200);
                    Content.Sink.write(response, true, metrics.render(pagesInUse, pagesTotal), callback);
                    yield 200;
                }
                case "/v1/models" -> {
                    requireMethod(method, "GET");
                    authorize(request);
                    yield sendJson(response, callback, 200, modelList());
                }
                case "/v1/chat/completions", "/v1/completions" -> {
                    requireMethod(method, "POST");
                    authorize(request);
                    String[] outcome = complete(request, response, callback, path.equals("/v1/chat/completions"), start);
                    note = outcome[1];
                    yield Integer.parseInt(outcome[0]);
                }
                case "/v1/embeddings" -> {
                    requireMethod(method, "POST");
                    authorize(request);
                    EmbeddingsApi.Answer answer = EmbeddingsApi.answer(json, readBody(request, response), embeddings, shuttingDown);
                    note = answer.note();
                    yield sendJson(response, callback, 200, answer.body());
                }
                default -> throw new ApiException(404, "invalid_request_error", null, "not_found", "no such endpoint: " + method + " " + path);
            };
        } catch (ApiException e) {
            discardBody(request, response);
            status = sendError(response, callback, e);
        } catch (RuntimeException e) {
            log.accept("server: " + method + " " + path + " failed: " + e);
            discardBody(request, response);
            status = sendError(response, callback, new ApiException(500, "server_error", null, null, "internal error: " + e.getMessage()));
        }
        metrics.request(endpoint, status);
        log.accept(String.format("%s %s %d %.0f ms%s", method, path, status, (System.nanoTime() - start) / 1e6, note));
        return true;
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiException(405, "invalid_request_error", null, "method_not_allowed", "use " + allowed + " here, not " + method);
        }
    }

    /** Bearer keys compared as SHA-256 digests with {@link MessageDigest#isEqual}: time independent of where they differ. */
    private void authorize(Request request) {
        if (keyDigests.isEmpty()) {
            return;
        }
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        boolean ok = false;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            byte[] given = digest(header.substring(7).strip());
            for (byte[] key : keyDigests) {
                ok |= MessageDigest.isEqual(key, given);
            }
        }
        if (!ok) {
            throw new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                    header == null ? "missing Authorization: Bearer header" : "invalid API key");
        }
    }

    private static byte[] digest(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private String modelList() {
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (String name : models.keySet()) {
            data.addObject().put("id", name).put("object", "model").put("created", created).put("owned_by", "rewind");
        }
        data.addObject().put("id", embeddings.name()).put("object", "model").put("created", created).put("owned_by", "rewind");
        return root.toString();
    }

    /** Runs one completion; returns {status, log note}. */
    private String[] complete(Request request, Response response, Callback callback, boolean chat, long start) {
        JsonNode body = readBody(request, response);
        long deadline = start + options.timeout().toNanos();
        ApiRequest api = ApiRequest.parse(chat, body, models, defaultModel, options, deadline);
        Job job;
        try {
            job = api.alignment() == null ? scheduler.submit(api.generation()) : lane.submit(api);
        } catch (ApiException e) {
            if (e.status() == 429) {
                response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
            }
            throw e;
        }
        String id = (chat ? "chatcmpl-" : "cmpl-") + HexFormat.of().formatHex(longBytes(ThreadLocalRandom.current().nextLong()));
        long createdAt = System.currentTimeMillis() / 1000;
        Rendering r = new Rendering(json, chat, id, createdAt, api.model(), api.generation().n(), api.generation().logprobs());
        try {
            if (api.stream()) {
                return stream(response, callback, job, r, api.includeUsage());
            }
            return whole(response, callback, job, r);
        } finally {
            if (!job.cancelled()) {
                scheduler.cancel(job); // a no-op for a finished job; frees the pages of one left behind
            }
        }
    }

    private String[] whole(Response response, Callback callback, Job job, Rendering r) {
        while (true) {
            Event e = nextEvent(job);
            switch (e) {
                case Event.Delta d -> r.add(d);
                case Event.Finished f -> r.finish(f);
                case Event.Failed f -> throw f.error();
                case Event.Done d -> {
                    sendJson(response, callback, 200, r.whole(d).toString());
                    return new String[]{"200", note(d, r)};
                }
            }
        }
    }

    private String[] stream(Response response, Callback callback, Job job, Rendering r, boolean includeUsage) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        OutputStream out = Content.Sink.asOutputStream(response);
        try {
            if (r.chat()) {
                for (int i = 0; i < r.n(); i++) {
                    send(out, r.roleChunk(i, includeUsage));
                }
            }
            while (true) {
                Event e = nextEvent(job);
                switch (e) {
                    case Event.Delta d -> send(out, r.deltaChunk(d, includeUsage));
                    case Event.Finished f -> send(out, r.finishChunk(f, includeUsage));
                    case Event.Failed f -> {
                        send(out, errorBody(f.error()));
                        out.close();
                        callback.succeeded();
                        return new String[]{String.valueOf(f.error().status()), " (stream failed: " + f.error().getMessage() + ")"};
                    }
                    case Event.Done d -> {
                        if (includeUsage || d.report() != null) {
                            send(out, r.usageChunk(d, includeUsage));
                        }
                        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                        out.close();
                        callback.succeeded();
                        return new String[]{"200", note(d, r)};
                    }
                }
            }
        } catch (IOException e) {
            scheduler.cancel(job);
            callback.failed(e);
            return new String[]{"499", " (client went away)"};
        }
    }

    private String note(Event.Done d, Rendering r) {
        String sizes = " prompt=" + d.promptTokens() + " cached=" + d.cachedTokens() + " completion=" + d.completionTokens();
        return options.logContent() ? sizes + " output=" + r.texts() : sizes;
    }

    private Event nextEvent(Job job) {
        try {
            while (true) {
                Event e = job.next(1000);
                if (e != null) {
                    return e;
                }
                if (System.nanoTime() - job.request.deadlineNanos() > 60_000_000_000L) {
                    throw new ApiException(504, "server_error", null, "timeout", "the scheduler did not answer in time");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
    }

    private static void send(OutputStream out, ObjectNode chunk) throws IOException {
        out.write(("data: " + chunk + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * Reads the body, at most {@link ServerOptions#maxBodyBytes()} of it; a longer one is a 413 (declared or found
     * while reading).
     */
    private JsonNode readBody(Request request, Response response) {
        long declared = request.getLength();
        if (declared > options.maxBodyBytes()) {
            throw new ApiException(413, "invalid_request_error", null, "request_too_large",
                    "the request body has " + declared + " bytes; the limit is " + options.maxBodyBytes());
        }
        byte[] bytes;
        try (InputStream in = Request.asInputStream(request)) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, options.maxBodyBytes() + 1));
            if (bytes.length > options.maxBodyBytes()) {
                drain(in, response);
                throw new ApiException(413, "invalid_request_error", null, "request_too_large",
                        "the request body is over the limit of " + options.maxBodyBytes() + " bytes");
            }
        } catch (IOException e) {
            throw ApiException.invalid(null, "could not read the request body: " + e.getMessage());
        }
        try {
            return json.readTree(bytes);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiException.invalid(null, "the request body is not valid JSON" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getMessage());
        }
    }

    /** Most bytes of an unread body read and thrown away before an error answer: see {@link #discardBody}. */
    static final long DRAIN_BYTES = 64L << 20;

    /**
     * Reads and throws away what is left of the body before an error answer (401, 404, 413, ...). A server that answers
     * and closes with the client's bytes still unread makes the kernel reset the connection, and the client then sees
     * no answer at all. A body declared longer than {@link #DRAIN_BYTES} is not read: its connection is closed.
     */
    private static void discardBody(Request request, Response response) {
        if (request.getLength() > DRAIN_BYTES) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
            return;
        }
        try (InputStream in = Request.asInputStream(request)) {
            drain(in, response);
        } catch (IOException | RuntimeException e) {
            // the client went away or the body was read to its end already: nothing more to discard
        }
    }

    private static void drain(InputStream in, Response response) throws IOException {
        byte[] sink = new byte[64 << 10];
        long left = DRAIN_BYTES;
        int n;
        while (left > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, left))) > 0) {
            left -= n;
        }
        if (left <= 0) {
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
    }

    private int sendJson(Response response, Callback callback, int status, String body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(response, true, body, callback);
        return status;
    }

    private int sendError(Response response, Callback callback, ApiException e) {
        if (response.isCommitted()) {
            callback.failed(e);
            return e.status();
        }
        if (e.status() == 405) {
            response.getHeaders().put(HttpHeader.ALLOW, "GET, POST");
        }
        return sendJson(response, callback, e.status(), errorBody(e).toString());
    }

    private ObjectNode errorBody(ApiException e) {
        ObjectNode root = json.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return root;
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    /** Collects a request's events into OpenAI's response objects and chunks. */
    private static final class Rendering {
        private final ObjectMapper json;
        private final boolean chat;
        private final String id;
        private final long created;
        private final String model;
        private final int n;
        private final boolean logprobs;
        private final StringBuilder[] texts;
        private final String[] finish;
        private final List<List<Event.Logprobs>> steps = new ArrayList<>();

        Rendering(ObjectMapper json, boolean chat, String id, long created, String model, int n, boolean logprobs) {
            this.json = json;
            this.chat = chat;
            this.id = id;
            this.created = created;
            this.model = model;
            this.n = n;
            this.logprobs = logprobs;
            this.texts = new StringBuilder[n];
            this.finish = new String[n];
            for (int i = 0; i < n; i++) {
                texts[i] = new StringBuilder();
                steps.add(new ArrayList<>());
            }
        }

        boolean chat() {
            return chat;
        }

        int n() {
            return n;
        }

        String texts() {
            List<String> all = new ArrayList<>();
            for (StringBuilder t : texts) {
                all.add(t.toString());
            }
            return all.toString();
        }

        void add(Event.Delta d) {
            texts[d.index()].append(d.text());
            if (d.logprobs() != null) {
                steps.get(d.index()).add(d.logprobs());
            }
        }

        void finish(Event.Finished f) {
            finish[f.index()] = f.reason();
        }

        private ObjectNode head(String object) {
            ObjectNode root = json.createObjectNode();
            root.put("id", id);
            root.put("object", object);
            root.put("created", created);
            root.put("model", model);
            root.putNull("system_fingerprint");
            return root;
        }

        ObjectNode whole(Event.Done done) {
            ObjectNode root = head(chat ? "chat.completion" : "text_completion");
            ArrayNode choices = root.putArray("choices");
            for (int i = 0; i < n; i++) {
                ObjectNode c = choices.addObject();
                c.put("index", i);
                if (chat) {
                    c.putObject("message").put("role", "assistant").put("content", texts[i].toString());
                } else {
                    c.put("text", texts[i].toString());
                }
                if (logprobs) {
                    c.set("logprobs", logprobsNode(steps.get(i)));
                } else {
                    c.putNull("logprobs");
                }
                c.put("finish_reason", finish[i]);
            }
            root.set("usage", usage(done));
            if (done.report() != null) {
                root.set("rewind", done.report());
            }
            return root;
        }

        ObjectNode roleChunk(int index, boolean includeUsage) {
            ObjectNode root = head("chat.completion.chunk");
            ObjectNode c = root.putArray("choices").addObject();
            c.put("index", index);
            c.putObject("delta").put("role", "assistant").put("content", "");
            c.putNull("logprobs");
            c.putNull("finish_reason");
            if (includeUsage) {
                root.putNull("usage");
            }
            return root;
        }

        ObjectNode deltaChunk(Event.Delta d, boolean includeUsage) {
            ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
            ObjectNode c = root.putArray("choices").addObject();
            c.put("index", d.index());
            if (chat) {
                c.putObject("delta").put("content", d.text());
            } else {
                c.put("text", d.text());
            }
            if (d.logprobs() != null) {
                c.set("logprobs", logprobsNode(List.of(d.logprobs())));
            } else {
                c.putNull("logprobs");
            }
            c.putNull("finish_reason");
            if (includeUsage) {
                root.putNull("usage");
            }
            return root;
        }

        ObjectNode finishChunk(Event.Finished f, boolean includeUsage) {
            ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
            ObjectNode c = root.putArray("choices").addObject();
            c.put("index", f.index());
            if (chat) {
                c.putObject("delta");
            } else {
                c.put("text", "");
            }
            c.putNull("logprobs");
            c.put("finish_reason", f.reason());
            if (includeUsage) {
                root.putNull("usage");
            }
            return root;
        }

        /** The last chunk: usage when asked for, the alignment report when there is one. */
        ObjectNode usageChunk(Event.Done done, boolean includeUsage) {
            ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
            root.putArray("choices");
            if (includeUsage) {
                root.set("usage", usage(done));
            }
            if (done.report() != null) {
                root.set("rewind", done.report());
            }
            return root;
        }

        private ObjectNode usage(Event.Done d) {
            ObjectNode u = json.createObjectNode();
            u.put("prompt_tokens", d.promptTokens());
            u.put("completion_tokens", d.completionTokens());
            u.put("total_tokens", d.promptTokens() + d.completionTokens());
            u.putObject("prompt_tokens_details").put("cached_tokens", d.cachedTokens());
            return u;
        }

        /** Chat: {@code {"content": [{token, logprob, bytes, top_logprobs}]}}; completions: the legacy parallel arrays. */
        private ObjectNode logprobsNode(List<Event.Logprobs> list) {
            ObjectNode node = json.createObjectNode();
            if (chat) {
                ArrayNode content = node.putArray("content");
                for (Event.Logprobs lp : list) {
                    ObjectNode t = tokenNode(content.addObject(), lp.chosen());
                    ArrayNode top = t.putArray("top_logprobs");
                    for (Event.TokenLogprob alt : lp.top()) {
                        tokenNode(top.addObject(), alt);
                    }
                }
                node.putNull("refusal");
            } else {
                ArrayNode tokens = node.putArray("tokens");
                ArrayNode logprobs = node.putArray("token_logprobs");
                ArrayNode top = node.putArray("top_logprobs");
                for (Event.Logprobs lp : list) {
                    tokens.add(lp.chosen().token());
                    logprobs.add(lp.chosen().logprob());
                    ObjectNode alts = top.addObject();
                    for (Event.TokenLogprob alt : lp.top()) {
                        alts.put(alt.token(), alt.logprob());
                    }
                }
            }
            return node;
        }

        private static ObjectNode tokenNode(ObjectNode t, Event.TokenLogprob lp) {
            t.put("token", lp.token());
            t.put("logprob", lp.logprob());
            ArrayNode bytes = t.putArray("bytes");
            for (byte b : lp.bytes()) {
                bytes.add(b & 0xff);
            }
            return t;
        }
    }
}
