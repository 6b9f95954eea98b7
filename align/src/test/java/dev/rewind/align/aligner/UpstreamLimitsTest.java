package dev.rewind.align.aligner;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, D7, D10, D12: one deadline covers connecting, the headers and the body, the body is read up to
 * a cap, and the API key never comes back in a message or an answer, whatever the server does.
 */
class UpstreamLimitsTest {

    private static final String KEY = "sk-secret-0123456789";

    private static OpenAiUpstream client(MisbehavingServer server, Duration timeout) {
        return new OpenAiUpstream(new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(server.baseUrl()), Optional.empty(),
                Optional.of(KEY), timeout, 16));
    }

    private record Outcome(UpstreamResult result, double seconds) {
    }

    private static Outcome ask(OpenAiUpstream upstream) {
        long start = System.nanoTime();
        UpstreamResult r = upstream.answer("hello");
        return new Outcome(r, (System.nanoTime() - start) / 1e9);
    }

    /** The server's connection is closed (its writes fail) soon after the client gave up, and it sent a bounded amount. */
    private static void assertConnectionDropped(MisbehavingServer server, long gaveUpAt) throws InterruptedException {
        long limit = gaveUpAt + 2_000_000_000L;
        while (server.closedAt.get() == 0 && System.nanoTime() < limit) {
            Thread.sleep(20);
        }
        assertTrue(server.closedAt.get() != 0, "the connection is closed when the client gives up");
        assertTrue(server.bytesSent.get() < 64L << 20, "bounded: the server could send only " + server.bytesSent.get() + " bytes");
    }

    @ParameterizedTest
    @EnumSource(value = MisbehavingServer.Behaviour.class, names = {"TRICKLE_BODY", "TRICKLE_HEADERS"})
    void aServerThatTricklesFailsTheQuestionAtTheDeadline(MisbehavingServer.Behaviour behaviour) throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(behaviour); OpenAiUpstream upstream = client(server, Duration.ofMillis(1500))) {
            Outcome o = ask(upstream);
            String message = assertInstanceOf(UpstreamResult.Failure.class, o.result()).message();
            assertTrue(message.contains("no reply from") && message.contains("within 1.5 s"), message);
            assertTrue(o.seconds() >= 1.4 && o.seconds() < 4.5, "took " + o.seconds() + " s for a 1.5 s timeout");
            assertConnectionDropped(server, System.nanoTime());
        }
    }

    @Test
    void d7AServerThatStreamsForeverFailsTheQuestionWithBoundedMemory() throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(MisbehavingServer.Behaviour.STREAM_FOREVER);
             OpenAiUpstream upstream = client(server, Duration.ofSeconds(4))) {
            Outcome o = ask(upstream);
            String message = assertInstanceOf(UpstreamResult.Failure.class, o.result()).message();
            assertTrue(message.contains("is larger than " + OpenAiUpstream.DEFAULT_MAX_REPLY_BYTES + " bytes"), message);
            assertTrue(o.seconds() < 7, "took " + o.seconds() + " s for a 4 s timeout");
            assertConnectionDropped(server, System.nanoTime());
        }
    }

    @ParameterizedTest
    @EnumSource(value = MisbehavingServer.Behaviour.class, names = {"HUGE_JSON", "HUGE_CHUNKED_JSON"})
    void d12AFiftyMegabyteReplyIsAClearErrorWithinTheDeadline(MisbehavingServer.Behaviour behaviour) throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(behaviour); OpenAiUpstream upstream = client(server, Duration.ofSeconds(4))) {
            Outcome o = ask(upstream);
            String message = assertInstanceOf(UpstreamResult.Failure.class, o.result()).message();
            assertTrue(message.contains("is larger than 8388608 bytes"), message);
            assertFalse(message.contains("choices"), "not mistaken for a reply without content: " + message);
            assertTrue(o.seconds() < 7, "took " + o.seconds() + " s for a 4 s timeout");
        }
    }

    @Test
    void d10AnErrorBodyEchoingTheKeyIsRedacted() throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(MisbehavingServer.Behaviour.ECHO_AUTHORIZATION);
             OpenAiUpstream upstream = client(server, Duration.ofSeconds(4))) {
            String message = assertInstanceOf(UpstreamResult.Failure.class, ask(upstream).result()).message();
            assertTrue(message.startsWith("HTTP 401") && message.contains("Bearer " + OpenAiUpstream.REDACTED), message);
            assertFalse(message.contains(KEY) || message.contains("0123456789"), message);
        }
    }

    @Test
    void anAnswerEchoingTheKeyIsRedactedToo() throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(MisbehavingServer.Behaviour.ANSWER_WITH_AUTHORIZATION);
             OpenAiUpstream upstream = client(server, Duration.ofSeconds(4))) {
            String answer = assertInstanceOf(UpstreamResult.Answer.class, ask(upstream).result()).text();
            assertEquals("you sent Bearer " + OpenAiUpstream.REDACTED, answer);
        }
    }

    @Test
    void aRedirectIsNotFollowedSoTheKeyGoesNowhereElse() throws Exception {
        try (MisbehavingServer server = new MisbehavingServer(MisbehavingServer.Behaviour.REDIRECT);
             OpenAiUpstream upstream = client(server, Duration.ofSeconds(4))) {
            String message = assertInstanceOf(UpstreamResult.Failure.class, ask(upstream).result()).message();
            assertTrue(message.startsWith("HTTP 307"), message);
            Thread.sleep(100);
            assertEquals(0, server.redirectedRequests.get());
        }
    }

    @Test
    void credentialsInTheUrlAreNotShown() {
        assertEquals("https://api.example.com/v1/chat/completions?api-version=2024&api_key=" + OpenAiUpstream.REDACTED,
                OpenAiUpstream.shown(java.net.URI.create("https://user:pw@api.example.com/v1/chat/completions?api-version=2024&api_key=sk-1")));
    }
}
