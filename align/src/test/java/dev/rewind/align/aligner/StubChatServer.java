package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An OpenAI-compatible chat-completions server on loopback for tests, on a free port. Its reply depends
 * on the question: one containing {@code FAIL} gets HTTP 500, one containing {@code HANG} never gets a
 * reply (until the server stops), one containing {@code GARBAGE} gets a 200 that is not JSON; any other
 * gets the answer {@code "Answer to: <question>"}. It records each request's body and Authorization header.
 */
final class StubChatServer implements AutoCloseable {

    /** One request as received. */
    record Request(JsonNode body, String authorization, String path) {
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final ObjectMapper json = new ObjectMapper();
    final List<Request> requests = new CopyOnWriteArrayList<>();

    StubChatServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/v1/chat/completions", this::handle);
        server.start();
    }

    /** The base URL a user would give: {@code http://127.0.0.1:PORT/v1}. */
    String baseUrl() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort() + "/v1";
    }

    private void handle(HttpExchange exchange) throws IOException {
        JsonNode body = json.readTree(exchange.getRequestBody());
        requests.add(new Request(body, exchange.getRequestHeaders().getFirst("Authorization"), exchange.getRequestURI().getPath()));
        String question = body.path("messages").path(0).path("content").asText();
        if (question.contains("HANG")) {
            try {
                stopping.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
            return;
        }
        if (question.contains("FAIL")) {
            reply(exchange, 500, "{\"error\": \"the model exploded\"}");
        } else if (question.contains("GARBAGE")) {
            reply(exchange, 200, "<html>not json</html>");
        } else {
            var root = json.createObjectNode();
            var message = root.putArray("choices").addObject().putObject("message");
            message.put("role", "assistant");
            message.put("content", "Answer to: " + question);
            reply(exchange, 200, json.writeValueAsString(root));
        }
    }

    private static void reply(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        stopping.countDown();
        server.stop(0);
        executor.shutdownNow();
    }
}
