package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind aligner} as a user meets it, with stories260K as the Aligner (its context is 128 tokens). */
class AlignerCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String stories() {
        return shared().resolve("stories260K.gguf").toString();
    }

    private static List<JsonNode> lines(String text) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    @Test
    void oneQuestionAnsweredByALocalModelOfAnotherArchitecturePrintsOnlyTheCorrection() throws IOException {
        String qwen = shared().resolve("tiny-qwen2-F32.gguf").toString();
        String[] args = {"aligner", "--aligner", stories(), "--upstream", qwen, "--question", "Lily and Tom", "-n", "8",
                "--upstream-max-tokens", "12", "--threads", "1"};
        CliTest.Run json = run(concat(args, "--output-format", "json"));
        assertEquals(0, json.exit(), json.err());
        JsonNode item = JSON.readTree(json.out());
        CliTest.Run upstreamAlone = run("generate", "--model", qwen, "--prompt", "Lily and Tom", "-n", "12", "--temperature", "0");
        assertEquals(upstreamAlone.out().strip(), item.get("answer").asText(), "the upstream answered greedily from the question");
        assertEquals("Lily and Tom", item.get("question").asText());
        assertEquals("tiny-qwen2-F32.gguf", item.get("source").asText());
        assertTrue(item.get("error").isNull());
        assertTrue(item.get("seconds").asDouble() >= item.get("upstream_seconds").asDouble());
        int tokens = item.get("tokens").asInt();
        assertTrue(tokens == 8 || tokens < 8 && item.get("stop").asText().equals("end_of_generation"), item.toString());

        CliTest.Run text = run(args);
        assertEquals(0, text.exit(), text.err());
        assertEquals(item.get("corrected").asText() + "\n", text.out(), "text output is the correction alone, greedy by default");
    }

    @Test
    void theTemplateIsSelectableAndACustomOneIsReadFromAFile(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"id\": 1, \"question\": \"Why?\", \"answer\": \"Because.\"}\n");
        Path custom = dir.resolve("custom.txt");
        Files.writeString(custom, "Q: {question}\nA: {answer}\nBetter:");
        String[][] cases = {
                {"BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: Why? | Because. ASSISTANT:"},
                {"BEGINNING OF CONVERSATION: USER: ##Question: Why?\n##Answer: Because.\n##Correction:  ASSISTANT:", "--template", "correction"},
                {"BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more empathic and helpful: Why? | Because. ASSISTANT:",
                        "--template", "empathy"},
                {"Q: Why?\nA: Because.\nBetter:", "--template-file", custom.toString()}};
        for (String[] c : cases) {
            String[] args = concat(new String[]{"aligner", "--aligner", stories(), "--input", in.toString(), "-n", "2"},
                    java.util.Arrays.copyOfRange(c, 1, c.length));
            CliTest.Run r = run(args);
            assertEquals(0, r.exit(), r.err());
            CliTest.Run tokens = run("tokenize", "--model", stories(), "--prompt", c[0], "--no-parse-special");
            int expected = JSON.readTree(tokens.out()).size();
            assertEquals(expected, lines(r.out()).getFirst().get("prompt_tokens").asInt(), "prompt of " + String.join(" ", args));
        }
        assertOneLineError(run("aligner", "--aligner", stories(), "--input", in.toString(), "--template", "v2"), "unknown template 'v2'",
                "v1, correction, empathy");
    }

    @Test
    void aBatchInterruptedAndRestartedWritesEachIdOnce(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            sb.append("{\"id\": \"item-").append(i).append("\", \"question\": \"Who is ").append(i)
                    .append("?\", \"answer\": \"").append("A long answer about Lily and the ball. ".repeat(i == 2 ? 12 : 1)).append("\"}\n");
        }
        Files.writeString(in, sb.toString());
        Path out = dir.resolve("out.jsonl");
        String[] args = {"aligner", "--aligner", stories(), "--input", in.toString(), "--output", out.toString(), "-n", "4"};
        CliTest.Run first = run(concat(args, "--max-items", "2"));
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.err().contains("[1/4] \"item-0\"") && first.err().contains("[2/4] \"item-1\""), first.err());
        assertTrue(first.err().contains("stopped at --max-items"), first.err());
        assertEquals(2, Files.readAllLines(out).size());
        Files.writeString(out, "{\"id\": \"item-2\", \"quest", StandardOpenOption.APPEND); // killed mid-line

        CliTest.Run second = run(args);
        assertEquals(0, second.exit(), second.err());
        assertTrue(second.err().contains("resuming") && second.err().contains("unfinished last line"), second.err());
        assertTrue(second.err().contains("answer truncated to fit"), "item-2's answer does not fit 128 tokens: " + second.err());
        List<JsonNode> all = lines(Files.readString(out));
        assertEquals(List.of("item-0", "item-1", "item-2", "item-3"), all.stream().map(n -> n.get("id").asText()).toList());
        for (JsonNode n : all) {
            for (String field : new String[]{"id", "question", "answer", "corrected", "truncated", "seconds"}) {
                assertTrue(n.has(field), field + " in " + n);
            }
        }
        assertTrue(all.get(2).get("truncated").asBoolean());
        assertTrue(!all.get(0).get("truncated").asBoolean());

        CliTest.Run third = run(args);
        assertEquals(0, third.exit(), third.err());
        assertEquals(4, Files.readAllLines(out).size(), "nothing left to do");
    }

    /**
     * An OpenAI-compatible server on loopback: HTTP 500 for questions with FAIL, no reply for HANG, a 401
     * echoing the Authorization header for ECHO, else an answer.
     */
    private static final class Stub implements AutoCloseable {
        final HttpServer server;
        final ExecutorService executor = Executors.newCachedThreadPool();
        final CountDownLatch stop = new CountDownLatch(1);
        final List<String> authorizations = new CopyOnWriteArrayList<>();

        Stub() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(executor);
            server.createContext("/v1/chat/completions", exchange -> {
                JsonNode body = JSON.readTree(exchange.getRequestBody());
                authorizations.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
                String q = body.path("messages").path(0).path("content").asText();
                if (q.contains("HANG")) {
                    try {
                        stop.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    exchange.close();
                    return;
                }
                if (q.contains("FOREVER")) { // D7: headers, then chunked spaces without end, as fast as they are read
                    exchange.sendResponseHeaders(200, 0);
                    byte[] chunk = new byte[64 * 1024];
                    java.util.Arrays.fill(chunk, (byte) ' ');
                    try (OutputStream o = exchange.getResponseBody()) {
                        o.write("{\"a\":".getBytes(StandardCharsets.US_ASCII));
                        while (true) {
                            o.write(chunk); // fails once the client gives up
                        }
                    } catch (IOException gaveUp) {
                        return;
                    }
                }
                if (q.contains("HUGE")) { // D12: a valid 50 MB reply
                    byte[] content = new byte[50 << 20];
                    java.util.Arrays.fill(content, (byte) 'x');
                    byte[] head = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"".getBytes(StandardCharsets.US_ASCII);
                    byte[] tail = "\"}}]}".getBytes(StandardCharsets.US_ASCII);
                    exchange.sendResponseHeaders(200, head.length + content.length + tail.length);
                    try (OutputStream o = exchange.getResponseBody()) {
                        o.write(head);
                        o.write(content);
                        o.write(tail);
                    } catch (IOException gaveUp) {
                        return;
                    }
                    return;
                }
                if (q.contains("ECHO")) { // a 401 repeating the credentials, as some gateways do
                    byte[] reply = ("{\"error\": \"bad key in Authorization: " + exchange.getRequestHeaders().getFirst("Authorization") + "\"}")
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(401, reply.length);
                    try (OutputStream o = exchange.getResponseBody()) {
                        o.write(reply);
                    }
                    return;
                }
                boolean fail = q.contains("FAIL");
                byte[] reply = (fail ? "{\"error\":\"overloaded\"}"
                        : "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"Lily went to the park.\"}}]}")
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(fail ? 500 : 200, reply.length);
                try (OutputStream o = exchange.getResponseBody()) {
                    o.write(reply);
                }
            });
            server.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
        }

        @Override
        public void close() {
            stop.countDown();
            server.stop(0);
            executor.shutdownNow();
        }
    }

    /** Runs the command with a made-up environment, as RewindCli would. */
    private static CliTest.Run runWithEnvironment(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        CommandLine cli = new CommandLine(new AlignerCommand(o, e, env::get));
        cli.setOut(new java.io.PrintWriter(o, true));
        cli.setErr(new java.io.PrintWriter(e, true));
        cli.setExecutionExceptionHandler(new ErrorReporter(e));
        int exit = cli.execute(args);
        return new CliTest.Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anEndpointThatFailsOrNeverAnswersFailsOnlyThoseItemsAndTheKeyComesFromTheEnvironment(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, """
                {"id": 1, "question": "Where did Lily go?"}
                {"id": 2, "question": "FAIL this one"}
                {"id": 3, "question": "HANG on this one"}
                {"id": 4, "question": "And Tim?"}
                """);
        try (Stub stub = new Stub()) {
            CliTest.Run r = runWithEnvironment(Map.of("MY_KEY", "sk-test-123"), "--aligner", stories(), "--input", in.toString(),
                    "--upstream-url", stub.url(), "--api-key-env", "MY_KEY", "--upstream-timeout", "0.5", "-n", "4");
            assertEquals(0, r.exit(), r.err());
            List<JsonNode> items = lines(r.out());
            assertEquals(4, items.size());
            assertEquals("Lily went to the park.", items.get(0).get("answer").asText());
            assertTrue(items.get(0).get("corrected").isTextual());
            assertTrue(items.get(1).get("error").asText().startsWith("HTTP 500"), items.get(1).toString());
            assertTrue(items.get(2).get("error").asText().contains("no reply"), items.get(2).toString());
            assertTrue(items.get(3).get("error").isNull());
            assertTrue(r.err().contains("2 failed"), r.err());
            assertTrue(stub.authorizations.stream().allMatch("Bearer sk-test-123"::equals), stub.authorizations.toString());
            assertTrue(!r.out().contains("sk-test-123") && !r.err().contains("sk-test-123"), "the key is never printed");

            assertOneLineError(runWithEnvironment(Map.of(), "--aligner", stories(), "--input", in.toString(), "--upstream-url", stub.url(),
                    "--api-key-env", "MY_KEY"), "MY_KEY", "not set");
            CliTest.Run single = runWithEnvironment(Map.of(), "--aligner", stories(), "--question", "FAIL please", "--upstream-url", stub.url());
            assertOneLineError(single, "HTTP 500");
        }
    }

    /**
     * Issue 9, D7 and D12 through the command line: an upstream that streams without end and one that sends a
     * valid 50 MB reply fail only their items, each within --upstream-timeout + 1 s, and the batch goes on.
     */
    @Test
    void anUpstreamStreamingForeverOrSending50MegabytesFailsOnlyThatItemWithinTheTimeout(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, """
                {"id": "forever", "question": "FOREVER please"}
                {"id": "huge", "question": "HUGE please"}
                {"id": "fine", "question": "Where did Lily go?"}
                """);
        try (Stub stub = new Stub()) {
            long start = System.nanoTime();
            CliTest.Run r = runWithEnvironment(Map.of(), "--aligner", stories(), "--input", in.toString(), "--upstream-url", stub.url(),
                    "--upstream-timeout", "2", "-n", "2");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(0, r.exit(), r.err());
            List<JsonNode> items = lines(r.out());
            assertEquals(List.of("forever", "huge", "fine"), items.stream().map(n -> n.get("id").asText()).toList());
            for (JsonNode failed : items.subList(0, 2)) {
                assertTrue(failed.get("error").asText().contains("larger than 8388608 bytes"), failed.toString());
                assertTrue(failed.get("upstream_seconds").asDouble() < 5, "within the timeout + 3 s: " + failed);
            }
            assertTrue(items.get(2).get("error").isNull(), items.get(2).toString());
            assertTrue(seconds < 20, "the whole batch took " + seconds + " s");
        }
    }

    /** Issue 9, D10: an error body that echoes the Authorization header must not put the key into the output or stderr. */
    @Test
    void anEchoedApiKeyIsRedactedFromTheOutputLineAndStderr(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"id\": 1, \"question\": \"ECHO my key\"}\n");
        Path out = dir.resolve("out.jsonl");
        try (Stub stub = new Stub()) {
            CliTest.Run r = runWithEnvironment(Map.of("OPENAI_API_KEY", "sk-live-abcdef123456"), "--aligner", stories(), "--input",
                    in.toString(), "--upstream-url", stub.url(), "--output", out.toString(), "-n", "2");
            assertEquals(0, r.exit(), r.err());
            String written = Files.readString(out);
            assertTrue(written.contains("HTTP 401") && written.contains("Bearer [redacted]"), written);
            assertTrue(!written.contains("abcdef123456") && !r.err().contains("abcdef123456") && !r.out().contains("abcdef123456"),
                    "the key is nowhere: " + written + r.err());
            assertTrue(r.err().contains("Bearer [redacted]"), r.err());
            CliTest.Run single = runWithEnvironment(Map.of("OPENAI_API_KEY", "sk-live-abcdef123456"), "--aligner", stories(),
                    "--question", "ECHO again", "--upstream-url", stub.url());
            assertOneLineError(single, "HTTP 401", "[redacted]");
            assertTrue(!single.err().contains("abcdef123456"), single.err());
        }
    }

    @Test
    void badCombinationsAreRefusedInOneLine(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, "{\"id\": 1, \"question\": \"q\", \"answer\": \"a\"}\n");
        assertOneLineError(run("aligner", "--aligner", stories()), "--question", "--input");
        assertOneLineError(run("aligner", "--aligner", stories(), "--question", "q"), "--upstream");
        assertOneLineError(run("aligner", "--aligner", stories(), "--question", "q", "--input", in.toString()), "exclude");
        assertOneLineError(run("aligner", "--aligner", stories(), "--question", "q", "--upstream", stories(), "--upstream-url", "http://x/v1"),
                "exclude");
        assertOneLineError(run("aligner", "--aligner", stories(), "--input", in.toString(), "--retry-errors"), "--output");
        assertOneLineError(run("aligner", "--aligner", "/no/such/aligner.gguf", "--input", in.toString()), "/no/such/aligner.gguf");
        assertOneLineError(run("aligner", "--aligner", stories(), "--input", in.toString(), "--upstream-url", "ftp://x"), "http");
        assertOneLineError(run("aligner", "--aligner", stories(), "--question", "Why? ".repeat(30), "-n", "4",
                "--upstream", shared().resolve("tiny-llama-F32.gguf").toString(), "--upstream-max-tokens", "4"), "the question alone");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
