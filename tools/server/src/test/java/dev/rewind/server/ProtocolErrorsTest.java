package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Found by the fuzz suite's HTTP target (seeds 5390877026071313944, 4369591197397552006, 14408258297200118935,
 * 17138706299807316892, 467324584293927948): what Jetty refuses before the request reaches the API was answered
 * with Jetty's HTML page, not an OpenAI error object. Each request here is sent over a raw socket.
 */
@Timeout(120)
class ProtocolErrorsTest {

    private static final String BODY = "{\"prompt\":\"Once\",\"max_tokens\":1}";

    @Test
    void jettysOwnRefusalsAreOpenAiErrorObjects() throws Exception {
        try (Fixture f = new Fixture()) {
            f.start(f.defaults(), 64);
            String post = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
            expect(f, 400, post + "Content-Length: " + BODY.length() + "\r\nContent-Length: " + (BODY.length() + 5) + "\r\n\r\n" + BODY);
            expect(f, 400, post + "Content-Length: abc\r\n\r\n" + BODY);
            expect(f, 400, post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            expect(f, 400, "GET /v1/models\u0001 HTTP/1.1\r\nHost: x\r\n\r\n");
            expect(f, 431, post + "X-Big: " + "h".repeat(100_000) + "\r\nContent-Length: 0\r\n\r\n");
            expect(f, 505, "POST /v1/completions HTTP/9.9\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            assertEquals(200, f.post("/v1/completions", BODY).statusCode(), "the server still serves");
        }
    }

    private static void expect(Fixture f, int status, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", f.server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 " + status + " "), answer);
            assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("content-type: application/json"), answer);
            JsonNode error = Fixture.JSON.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4)).path("error");
            assertTrue(error.path("message").isTextual() && !error.path("message").asText().isBlank(), answer);
            assertEquals(status >= 500 ? "server_error" : "invalid_request_error", error.path("type").asText(), answer);
        }
    }
}
