package dev.rewind.tools.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.text.Escape;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.server.EmbeddingModel;
import dev.rewind.server.RewindServer;
import dev.rewind.server.ServedModel;
import dev.rewind.server.ServerOptions;
import dev.rewind.tokenizer.chat.ChatFormat;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.RenderOptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The HTTP target: a {@link RewindServer} started in-process on stories260K (with the bundled MiniLM
 * behind {@code /v1/embeddings}), sent requests over raw sockets: valid OpenAI requests whose JSON is
 * mutated (wrong types, huge numbers, deep nesting, removed and unknown keys, invalid UTF-8, cuts),
 * framed wrongly (lying, duplicate, huge or malformed {@code Content-Length}, bad chunked encoding, both
 * framings, huge or many headers, bad request lines) or sent by a slow client or one that closes early.
 * Clean: a well-formed HTTP answer within {@link #ANSWER} that is 2xx (a whole JSON body, or a stream
 * ending in {@code [DONE]}) or a 4xx with an OpenAI error object, and a valid request served right
 * after. {@link #leakCheck} (after the target's last case) requires every KV page back in the pool.
 */
final class HttpFuzz implements AutoCloseable {

    /** How long an answer may take. */
    static final Duration ANSWER = Duration.ofSeconds(8);
    private static final int CONTEXT = 128;
    private static final String CHATML = """
            {% for m in messages %}<|im_start|>{{ m.role }}
            {{ m.content }}<|im_end|>
            {% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
            {% endif %}""";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEEP = "@@deep@@";

    private final WorkerPool pool;
    private final LoadedModel model;
    private final RewindServer server;
    private final Deque<String> log;

    private HttpFuzz(WorkerPool pool, LoadedModel model, RewindServer server, Deque<String> log) {
        this.pool = pool;
        this.model = model;
        this.server = server;
        this.log = log;
    }

    static HttpFuzz start(Path models) throws Exception {
        WorkerPool pool = new WorkerPool(1);
        LoadedModel model = ModelLoader.load(models.resolve("stories260K.gguf"), pool, Precision.FAST);
        ChatFormat chat = ChatFormat.of(ChatTemplate.parse(CHATML), model.tokenizer(), RenderOptions.DEFAULT);
        ServerOptions options = new ServerOptions("127.0.0.1", 0, CONTEXT, 8, 64, 64, 1 << 20, CONTEXT - 1, CONTEXT, 4,
                Duration.ofSeconds(20), List.of(), false, 16, Duration.ofSeconds(2));
        Deque<String> log = new ArrayDeque<>();
        RewindServer server = RewindServer.start(List.of(new ServedModel("stories", model, chat)), EmbeddingModel.miniLm(1), options,
                96, 16, KvType.F32, line -> {
                    synchronized (log) {
                        log.addLast(line);
                        if (log.size() > 20) {
                            log.removeFirst();
                        }
                    }
                });
        return new HttpFuzz(pool, model, server, log);
    }

    // ------------------------------------------------------------------ requests

    private static ObjectNode baseBody(SplittableRandom random, String endpoint) {
        ObjectNode b = JSON.createObjectNode();
        switch (endpoint) {
            case "/v1/chat/completions" -> {
                b.put("model", "stories");
                ArrayNode messages = b.putArray("messages");
                if (random.nextBoolean()) {
                    messages.addObject().put("role", "system").put("content", "Be brief.");
                }
                messages.addObject().put("role", "user").put("content", "Once upon a time");
                if (random.nextInt(4) == 0) {
                    ObjectNode parts = messages.addObject().put("role", "user");
                    parts.putArray("content").addObject().put("type", "text").put("text", "there was");
                }
                options(b, random);
            }
            case "/v1/completions" -> {
                b.put("model", "stories");
                if (random.nextInt(4) == 0) {
                    b.putArray("prompt").add("Once upon").add("A cat");
                } else {
                    b.put("prompt", "Once upon a time");
                }
                options(b, random);
                if (random.nextBoolean()) {
                    b.put("echo", random.nextBoolean());
                }
                if (random.nextInt(3) == 0) {
                    b.put("logprobs", random.nextInt(3));
                }
            }
            default -> {
                b.put("model", "all-MiniLM-L6-v2");
                if (random.nextBoolean()) {
                    b.put("input", "hello world");
                } else {
                    b.putArray("input").add("hello world").add("a second text");
                }
                if (random.nextBoolean()) {
                    b.put("encoding_format", random.nextBoolean() ? "float" : "base64");
                }
            }
        }
        return b;
    }

    private static void options(ObjectNode b, SplittableRandom random) {
        b.put("max_tokens", 1 + random.nextInt(4));
        if (random.nextBoolean()) {
            b.put("temperature", random.nextBoolean() ? 0 : 0.8);
        }
        if (random.nextInt(3) == 0) {
            b.put("top_p", 0.9);
        }
        if (random.nextInt(3) == 0) {
            b.put("seed", random.nextInt(100));
        }
        if (random.nextInt(3) == 0) {
            b.put("n", 1 + random.nextInt(2));
        }
        if (random.nextInt(3) == 0) {
            b.put("stop", random.nextBoolean() ? "." : "\n");
        }
        if (random.nextInt(3) == 0) {
            b.put("stream", true);
            if (random.nextBoolean()) {
                b.putObject("stream_options").put("include_usage", true);
            }
        }
        if (random.nextInt(4) == 0) {
            b.put("presence_penalty", 0.5);
            b.put("frequency_penalty", 0.1);
        }
        if (random.nextInt(5) == 0) {
            b.put("logprobs", true);
            b.put("top_logprobs", 2);
        }
    }

    private static JsonNode nasty(SplittableRandom random) {
        return switch (random.nextInt(22)) {
            case 0 -> JSON.nullNode();
            case 1 -> JSON.getNodeFactory().booleanNode(random.nextBoolean());
            case 2 -> JSON.getNodeFactory().numberNode(-1);
            case 3 -> JSON.getNodeFactory().numberNode(Integer.MAX_VALUE);
            case 4 -> JSON.getNodeFactory().numberNode(Long.MIN_VALUE);
            case 5 -> JSON.getNodeFactory().numberNode(new java.math.BigInteger("123456789012345678901234567890"));
            case 6 -> JSON.getNodeFactory().numberNode(1e300);
            case 7 -> JSON.getNodeFactory().numberNode(new java.math.BigDecimal("1e400"));
            case 8 -> JSON.getNodeFactory().numberNode(-0.0);
            case 9 -> JSON.getNodeFactory().numberNode(0.5);
            case 10 -> JSON.getNodeFactory().textNode("");
            case 11 -> JSON.getNodeFactory().textNode("x\nFAKE: injected line\u001b[2J");
            case 12 -> JSON.getNodeFactory().textNode("\ud800 lone");
            case 13 -> JSON.createObjectNode();
            case 14 -> JSON.createArrayNode();
            case 15 -> JSON.getNodeFactory().textNode(DEEP);
            case 16 -> JSON.getNodeFactory().textNode("a".repeat(100_000));
            case 17 -> JSON.createArrayNode().add("x").add(1).addNull();
            case 18 -> JSON.getNodeFactory().numberNode(CONTEXT + 1);
            case 19 -> JSON.getNodeFactory().textNode("stories");
            case 20 -> JSON.createArrayNode().add(JSON.createArrayNode().add(1).add(2));
            default -> JSON.getNodeFactory().numberNode(0);
        };
    }

    private static final String[] KEYS = {"model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "top_p",
            "top_k", "min_p", "seed", "n", "stop", "stream", "stream_options", "logprobs", "top_logprobs", "echo", "presence_penalty",
            "frequency_penalty", "repeat_penalty", "logit_bias", "input", "encoding_format", "dimensions", "user", "suffix", "tools",
            "response_format", "alignment", "best_of", "\u0000", ""};

    /** Replaces, removes or adds values of the body. */
    private static String mutateJson(ObjectNode body, SplittableRandom random) {
        List<Object[]> slots = new ArrayList<>();
        collect(body, "", slots);
        Object[] slot = slots.get(random.nextInt(slots.size()));
        return switch (random.nextInt(6)) {
            case 0 -> {
                if (slot[0] instanceof ObjectNode o) {
                    o.remove((String) slot[1]);
                } else {
                    ((ArrayNode) slot[0]).remove((Integer) slot[1]);
                }
                yield "removed " + slot[2];
            }
            case 1 -> {
                String key = KEYS[random.nextInt(KEYS.length)];
                body.set(key, nasty(random));
                yield "set " + key;
            }
            default -> {
                if (slot[0] instanceof ObjectNode o) {
                    o.set((String) slot[1], nasty(random));
                } else {
                    ((ArrayNode) slot[0]).set((Integer) slot[1], nasty(random));
                }
                yield "replaced " + slot[2];
            }
        };
    }

    private static void collect(JsonNode node, String path, List<Object[]> slots) {
        if (node instanceof ObjectNode o) {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String p = path + "." + e.getKey();
                slots.add(new Object[]{o, e.getKey(), p});
                collect(e.getValue(), p, slots);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                String p = path + "[" + i + "]";
                slots.add(new Object[]{a, i, p});
                collect(a.get(i), p, slots);
            }
        }
    }

    private static byte[] serialize(ObjectNode body) throws IOException {
        String text = JSON.writeValueAsString(body);
        String quoted = "\"" + DEEP + "\"";
        if (text.contains(quoted)) {
            text = text.replace(quoted, "[".repeat(100_000) + "]".repeat(100_000));
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** What the case sends and how the client behaves. */
    private record Plan(byte[] request, boolean halfClose, boolean closeEarly, int slowPieces, boolean head, String description) {
    }

    private Plan plan(SplittableRandom random) throws IOException {
        String[] endpoints = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/chat/completions", "/v1/completions"};
        String endpoint = random.nextInt(12) == 0 ? new String[]{"/v1/models", "/health", "/metrics", "/nope"}[random.nextInt(4)]
                : endpoints[random.nextInt(endpoints.length)];
        boolean post = endpoint.startsWith("/v1/") && !endpoint.equals("/v1/models");
        List<String> done = new ArrayList<>();
        done.add(endpoint);
        byte[] body = new byte[0];
        if (post) {
            ObjectNode json = baseBody(random, endpoint);
            int edits = random.nextInt(3);
            for (int i = 0; i < edits; i++) {
                done.add(mutateJson(json, random));
            }
            body = serialize(json);
            switch (random.nextInt(10)) {
                case 0 -> {
                    int cut = random.nextInt(body.length + 1);
                    body = java.util.Arrays.copyOf(body, cut);
                    done.add("body cut at " + cut);
                }
                case 1 -> {
                    int at = random.nextInt(body.length);
                    byte[][] bad = {{(byte) 0xff}, {(byte) 0xc3}, {(byte) 0xc0, (byte) 0xaf}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                            {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {0}};
                    byte[] b = bad[random.nextInt(bad.length)];
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    out.write(body, 0, at);
                    out.write(b);
                    out.write(body, at, body.length - at);
                    body = out.toByteArray();
                    done.add("invalid UTF-8 at " + at);
                }
                case 2 -> {
                    for (int k = 0; k < 1 + random.nextInt(4); k++) {
                        int at = random.nextInt(body.length);
                        body[at] = (byte) random.nextInt(256);
                        done.add("body byte " + at + " flipped");
                    }
                }
                default -> {
                }
            }
        }
        String method = post ? "POST" : "GET";
        String target = endpoint;
        String version = "HTTP/1.1";
        List<String> headers = new ArrayList<>();
        headers.add("Host: 127.0.0.1");
        headers.add("Connection: close");
        if (post && random.nextInt(10) != 0) {
            headers.add("Content-Type: " + (random.nextInt(10) == 0 ? "text/plain" : "application/json"));
        }
        byte[] payload = body;
        boolean halfClose = false;
        boolean closeEarly = false;
        int slowPieces = 0;
        int framing = random.nextInt(3) == 0 ? random.nextInt(22) : -1;
        switch (framing) {
            case 0 -> {
                int declared = Math.max(0, body.length - 1 - random.nextInt(Math.max(1, body.length)));
                headers.add("Content-Length: " + declared);
                done.add("Content-Length " + declared + " for " + body.length + " bytes");
            }
            case 1 -> {
                int declared = body.length + 1 + random.nextInt(1000);
                headers.add("Content-Length: " + declared);
                halfClose = true;
                done.add("Content-Length " + declared + " for " + body.length + " bytes, then EOF");
            }
            case 2 -> {
                String v = new String[]{"-1", "abc", "1e3", "99999999999999999999", " " + body.length + " ", "+" + body.length, "0x10",
                        "9223372036854775807", "4294967296", "", body.length + ", " + body.length}[random.nextInt(11)];
                headers.add("Content-Length: " + v);
                halfClose = true;
                done.add("Content-Length '" + v + "'");
            }
            case 3 -> {
                headers.add("Content-Length: " + body.length);
                int other = random.nextBoolean() ? body.length : body.length + 5;
                headers.add("Content-Length: " + other);
                halfClose = true;
                done.add("two Content-Lengths " + body.length + " and " + other);
            }
            case 4, 5 -> {
                headers.add("Transfer-Encoding: chunked");
                payload = chunked(body, random, done);
                halfClose = true;
            }
            case 6 -> {
                headers.add("Transfer-Encoding: chunked");
                headers.add("Content-Length: " + body.length);
                payload = chunked(body, random, done);
                halfClose = true;
                done.add("chunked and Content-Length");
            }
            case 7 -> {
                headers.add("Content-Length: " + body.length);
                headers.add("X-Huge: " + "h".repeat(random.nextBoolean() ? 7000 : 100_000));
                done.add("a huge header");
            }
            case 8 -> {
                headers.add("Content-Length: " + body.length);
                for (int i = 0; i < 3000; i++) {
                    headers.add("X-H" + i + ": v");
                }
                done.add("3000 headers");
            }
            case 9 -> {
                done.add("no Content-Length");
                halfClose = true;
            }
            case 10 -> {
                headers.add("Content-Length: " + body.length);
                slowPieces = 2 + random.nextInt(20);
                done.add("slow client, " + slowPieces + " pieces");
            }
            case 11 -> {
                headers.add("Content-Length: " + body.length);
                closeEarly = true;
                done.add("client closes early");
            }
            case 12 -> {
                version = new String[]{"HTTP/9.9", "HTTP/1.0", "HTTP/0.9", "HTTP/1.1 extra", "http/1.1", ""}[random.nextInt(6)];
                headers.add("Content-Length: " + body.length);
                halfClose = true;
                done.add("version '" + version + "'");
            }
            case 13 -> {
                method = new String[]{"DELETE", "PUT", "HEAD", "OPTIONS", "GARBAGE", "", "PO ST", "TRACE"}[random.nextInt(8)];
                headers.add("Content-Length: " + body.length);
                halfClose = true;
                done.add("method '" + method + "'");
            }
            case 14 -> {
                target = new String[]{endpoint + "%00", endpoint + "/", "/v1/../v1/completions", "http://127.0.0.1" + endpoint,
                        endpoint + "?" + "q".repeat(100_000), "*", "/%zz", endpoint + "#frag", "//v1//completions", endpoint + "\u0001"}[random.nextInt(10)];
                headers.add("Content-Length: " + body.length);
                halfClose = true;
                done.add("target " + Escape.excerpt(target, 60));
            }
            case 15 -> {
                headers.add("Content-Length: " + body.length);
                headers.add("Expect: 100-continue");
                done.add("Expect: 100-continue");
            }
            case 16 -> {
                headers.add("Transfer-Encoding: " + new String[]{"gzip", "chunked, chunked", "identity", "x-unknown", "gzip, chunked"}[random.nextInt(5)]);
                headers.add("Content-Length: " + body.length);
                halfClose = true;
                done.add("odd Transfer-Encoding");
            }
            case 17 -> {
                headers.removeIf(h -> h.startsWith("Host"));
                headers.add("Content-Length: " + body.length);
                if (random.nextBoolean()) {
                    headers.add("Host: a");
                    headers.add("Host: b");
                }
                done.add("no or two Host headers");
            }
            case 18 -> {
                headers.add("Content-Length: " + body.length);
                headers.add(new String[]{"Bad Header: x", "NoColon", ": empty", "X-Ctl: a\u0001b", "X-Fold: a\r\n b", "X-8bit: \u00ff\u00fe"}
                        [random.nextInt(6)]);
                halfClose = true;
                done.add("malformed header");
            }
            case 19 -> {
                headers.add("Content-Length: " + body.length);
                headers.add("Authorization: Bearer " + "k".repeat(random.nextInt(10_000)));
                done.add("an Authorization header");
            }
            case 20 -> {
                headers.add("Content-Length: " + body.length);
                headers.add("Content-Encoding: gzip");
                done.add("Content-Encoding: gzip");
            }
            default -> headers.add("Content-Length: " + body.length);
        }
        if (framing == -1) {
            done.add("plain framing");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write((method + " " + target + (version.isEmpty() ? "" : " " + version) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        for (String h : headers) {
            out.write((h + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.write(payload);
        return new Plan(out.toByteArray(), halfClose, closeEarly, slowPieces, method.equals("HEAD"), String.join("; ", done));
    }

    private static byte[] chunked(byte[] body, SplittableRandom random, List<String> done) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int bad = random.nextInt(3) == 0 ? random.nextInt(8) : -1;
        int at = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, 1 + random.nextInt(200));
            String size = Integer.toHexString(n);
            if (bad == 0) {
                size = new String[]{"zz", "-1", "ffffffffffffffff", "7fffffff", "", " 10", "1;ext=" + "e".repeat(10_000)}[random.nextInt(7)];
                done.add("chunk size '" + Escape.excerpt(size, 30) + "'");
                bad = -1;
            } else if (random.nextInt(4) == 0) {
                size += ";name=value";
            }
            out.writeBytes((size + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body, at, n);
            if (bad == 1) {
                done.add("chunk without CRLF");
                bad = -1;
            } else {
                out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            at += n;
        }
        switch (bad) {
            case 2 -> done.add("no last chunk");
            case 3 -> {
                out.writeBytes("0\r\nX-Trailer: t\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                done.add("chunked with a trailer");
            }
            case 4 -> {
                out.writeBytes("400\r\nshort".getBytes(StandardCharsets.ISO_8859_1));
                done.add("a chunk longer than its data");
            }
            default -> {
                out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                if (bad < 0) {
                    done.add("chunked");
                } else if (bad > 4) {
                    done.add("chunked");
                }
            }
        }
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ the case

    Outcome run(long caseSeed, String[] input) throws Exception {
        SplittableRandom random = new SplittableRandom(caseSeed);
        Plan plan = plan(random);
        input[0] = plan.description();
        Outcome outcome;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            socket.setSoTimeout((int) ANSWER.toMillis());
            OutputStream out = socket.getOutputStream();
            byte[] r = plan.request();
            try {
                if (plan.closeEarly()) {
                    boolean whole = random.nextBoolean();
                    out.write(r, 0, whole ? r.length : random.nextInt(r.length + 1));
                    out.flush();
                    if (whole && random.nextBoolean()) { // read the start of the answer (of a stream: a few events), then go
                        socket.setSoTimeout(2000);
                        try {
                            socket.getInputStream().readNBytes(random.nextInt(300));
                        } catch (SocketTimeoutException e) {
                            // the answer was shorter and the server keeps the connection: going away is the point
                        }
                    }
                    socket.setSoLinger(true, 0); // a reset, as a killed client's
                    outcome = null;
                } else {
                    if (plan.slowPieces() > 0) {
                        int step = Math.max(1, r.length / plan.slowPieces());
                        for (int at = 0; at < r.length; at += step) {
                            out.write(r, at, Math.min(step, r.length - at));
                            out.flush();
                            Thread.sleep(random.nextInt(30));
                        }
                    } else {
                        out.write(r);
                        out.flush();
                    }
                    if (plan.halfClose()) {
                        socket.shutdownOutput();
                    }
                    Answer a = read(socket.getInputStream(), System.nanoTime() + ANSWER.toNanos(), plan.head());
                    // An answer to HEAD is its head alone: a 2xx or 4xx status and no error object to check.
                    outcome = plan.head() && a.status() >= 200 && a.status() < 500 ? new Outcome.CleanError("HEAD: " + a.status()) : classify(a);
                }
            } catch (java.net.SocketException e) {
                // The server closed or reset while we wrote: acceptable only when it answered first.
                outcome = classify(tryRead(socket));
            }
        }
        Outcome after = stillServing();
        if (after instanceof Outcome.Unclean) {
            return after;
        }
        return outcome == null ? new Outcome.Success() : outcome;
    }

    private static Answer tryRead(Socket socket) {
        try {
            return read(socket.getInputStream(), System.nanoTime() + ANSWER.toNanos(), false);
        } catch (IOException e) {
            return new Answer(-1, "", new byte[0], "the connection failed while the request was sent and no answer came: " + e);
        }
    }

    /** A parsed HTTP answer, or why there is none ({@code status} -1). */
    private record Answer(int status, String headers, byte[] body, String problem) {
    }

    /** Reads one answer; to a HEAD request, only its head. */
    private static Answer read(InputStream in, long deadline, boolean headOnly) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        try {
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    return new Answer(-1, head.toString(StandardCharsets.ISO_8859_1), new byte[0],
                            head.size() == 0 ? "the connection closed without an answer" : "the answer's head was cut off");
                }
                head.write(b);
                matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
                if (head.size() > 65536) {
                    return new Answer(-1, "", new byte[0], "an answer head over 64 KiB");
                }
            }
            String headers = head.toString(StandardCharsets.ISO_8859_1);
            String[] lines = headers.split("\r\n");
            String[] status = lines[0].split(" ", 3);
            if (status.length < 2 || !status[0].startsWith("HTTP/1.") || !status[1].matches("\\d{3}")) {
                return new Answer(-1, headers, new byte[0], "a malformed status line '" + lines[0] + "'");
            }
            int code = Integer.parseInt(status[1]);
            long length = -1;
            boolean chunked = false;
            for (String line : lines) {
                String lower = line.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(line.substring(15).strip());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (headOnly) {
                return new Answer(code, headers, new byte[0], null);
            }
            if (chunked) {
                while (true) {
                    String size = readLine(in);
                    int n = Integer.parseInt(size.split(";")[0].strip(), 16);
                    if (n == 0) {
                        break;
                    }
                    body.write(in.readNBytes(n));
                    readLine(in);
                    if (System.nanoTime() > deadline) {
                        return new Answer(-1, headers, body.toByteArray(), "the answer was still streaming after " + ANSWER.toSeconds() + " s");
                    }
                }
            } else if (length >= 0) {
                byte[] b = in.readNBytes((int) Math.min(length, 64 << 20));
                if (b.length < length) {
                    return new Answer(-1, headers, b, "the body was cut off at " + b.length + " of " + length + " bytes");
                }
                body.write(b);
            } else if (code != 204 && code != 304) {
                body.write(in.readAllBytes());
            }
            return new Answer(code, headers, body.toByteArray(), null);
        } catch (SocketTimeoutException e) {
            return new Answer(-1, head.toString(StandardCharsets.ISO_8859_1), new byte[0], "no answer within " + ANSWER.toSeconds() + " s (hang)");
        } catch (NumberFormatException e) {
            return new Answer(-1, head.toString(StandardCharsets.ISO_8859_1), new byte[0], "a malformed answer framing: " + e.getMessage());
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.append((char) c);
            }
            if (b.length() > 4096) {
                throw new IOException("a chunk line over 4 KiB");
            }
        }
        if (c < 0) {
            throw new IOException("the chunked answer ended early");
        }
        return b.toString();
    }

    private Outcome classify(Answer a) {
        if (a.status() < 0) {
            return new Outcome.Unclean(a.problem() + serverFailure());
        }
        String text = new String(a.body(), StandardCharsets.UTF_8);
        if (a.status() >= 200 && a.status() < 300) {
            if (a.headers().toLowerCase(Locale.ROOT).contains("text/event-stream")) {
                String last = "";
                for (String line : text.split("\n")) {
                    if (line.startsWith("data: ")) {
                        last = line.substring(6);
                    }
                }
                if (last.equals("[DONE]")) {
                    return new Outcome.Success();
                }
                JsonNode error = parse(last).path("error");
                if (!error.isObject()) {
                    return new Outcome.Unclean("a stream that ends neither in [DONE] nor in an error: " + Escape.excerpt(text, 300));
                }
                if (error.path("type").asText().equals("server_error")) {
                    return new Outcome.Unclean("a stream that failed with a server error: " + error + serverFailure());
                }
                return new Outcome.CleanError(error.path("message").asText());
            }
            if (a.headers().toLowerCase(Locale.ROOT).contains("application/json") && parse(text).isMissingNode()) {
                return new Outcome.Unclean(a.status() + " with a body that is not JSON: " + Escape.excerpt(text, 300));
            }
            return new Outcome.Success();
        }
        if (a.status() >= 400 && a.status() < 500 || a.status() == 505) { // 505: the protocol's answer to an HTTP version it lacks
            JsonNode error = parse(text).path("error");
            if (!error.path("message").isTextual() || !error.path("type").isTextual() || error.path("message").asText().isBlank()) {
                return new Outcome.Unclean(a.status() + " without an OpenAI error object: " + Escape.excerpt(a.headers().strip() + " | " + text, 400));
            }
            return new Outcome.CleanError(a.status() + " " + Escape.visible(error.path("message").asText()));
        }
        return new Outcome.Unclean("status " + a.status() + ": " + Escape.excerpt(text, 300) + serverFailure());
    }

    private static JsonNode parse(String text) {
        try {
            JsonNode n = JSON.readTree(text);
            return n == null ? JSON.missingNode() : n;
        } catch (IOException e) {
            return JSON.missingNode();
        }
    }

    /** The server's last logged failure, if any, for an unclean case's description. */
    private String serverFailure() {
        synchronized (log) {
            for (Iterator<String> it = log.descendingIterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.contains(" failed: ")) {
                    return " (server log: " + line + ")";
                }
            }
        }
        return "";
    }

    /** A valid completion must be answered 200 right after each case. */
    private Outcome stillServing() throws IOException {
        byte[] body = "{\"model\":\"stories\",\"prompt\":\"Once\",\"max_tokens\":1,\"temperature\":0}".getBytes(StandardCharsets.UTF_8);
        Answer a = exchange("POST", "/v1/completions", body);
        if (a.status() != 200) {
            return new Outcome.Unclean("the server stopped serving: a valid completion then got " + (a.status() < 0 ? a.problem()
                    : a.status() + " " + Escape.excerpt(new String(a.body(), StandardCharsets.UTF_8), 200)) + serverFailure());
        }
        return new Outcome.Success();
    }

    private Answer exchange(String method, String path, byte[] body) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            socket.setSoTimeout((int) ANSWER.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write((method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            return read(socket.getInputStream(), System.nanoTime() + ANSWER.toNanos(), false);
        }
    }

    /**
     * After the target's cases: once no request runs or waits and the prefix cache is dropped, {@code /metrics} must
     * report no KV page in use.
     */
    Outcome leakCheck() throws Exception {
        long until = System.nanoTime() + 30_000_000_000L;
        while (true) {
            String metrics = new String(exchange("GET", "/metrics", new byte[0]).body(), StandardCharsets.UTF_8);
            if (metric(metrics, "rewind_running_requests") + metric(metrics, "rewind_queue_depth") == 0) {
                break;
            }
            if (System.nanoTime() > until) {
                return new Outcome.Unclean("requests still running 30 s after the last case: " + metric(metrics, "rewind_running_requests"));
            }
            Thread.sleep(20);
        }
        server.clearPrefixCache();
        String metrics = new String(exchange("GET", "/metrics", new byte[0]).body(), StandardCharsets.UTF_8);
        long inUse = metric(metrics, "rewind_kv_pages_in_use");
        if (inUse != 0) {
            return new Outcome.Unclean(inUse + " KV pages still in use once every request ended and the prefix cache was dropped");
        }
        return new Outcome.Success();
    }

    private static long metric(String metrics, String name) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + " ")) {
                return (long) Double.parseDouble(line.substring(name.length() + 1).strip());
            }
        }
        throw new IllegalStateException("no metric " + name + " in /metrics");
    }

    @Override
    public void close() throws Exception {
        server.close();
        model.close();
        pool.close();
    }
}
