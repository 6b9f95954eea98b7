package dev.rewind.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.tools.RewindCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RewindChatModel} on stories260K given a chat template, held to {@code rewind generate --chat}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RewindChatModelTest {

    @TempDir
    static Path dir;
    private Path modelFile;
    private RewindChatModel model;

    @BeforeAll
    void load() throws Exception {
        modelFile = TestModels.storiesWithTemplate(dir);
        model = RewindChatModel.builder().modelPath(modelFile).threads(1).build();
    }

    @AfterAll
    void close() {
        model.close();
    }

    /** {@code rewind generate} in-process, its JSON output. */
    private static JsonNode generate(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private static ChatRequest greedy(int maxTokens, ChatMessage... messages) {
        return ChatRequest.builder().messages(messages).temperature(0.0).maxOutputTokens(maxTokens).build();
    }

    @Test
    void greedyAnswersAreWhatGenerateChatPrintsForTheSameMessages() throws Exception {
        for (String[] c : new String[][]{{"A story.", "Once upon a time", "32"}, {null, "Lily and the dog", "200"}}) {
            List<ChatMessage> messages = new ArrayList<>();
            if (c[0] != null) {
                messages.add(SystemMessage.from(c[0]));
            }
            messages.add(UserMessage.from(c[1]));
            int n = Integer.parseInt(c[2]);
            ChatResponse r = model.chat(greedy(n, messages.toArray(ChatMessage[]::new)));

            List<String> args = new ArrayList<>(List.of("generate", "--chat", "--model", modelFile.toString(), "--prompt", c[1],
                    "-n", c[2], "--temperature", "0", "--threads", "1", "--output-format", "json"));
            if (c[0] != null) {
                args.addAll(List.of("--system", c[0]));
            }
            JsonNode cli = generate(args.toArray(String[]::new));
            assertEquals(cli.get("text").asText(), r.aiMessage().text());
            assertEquals(cli.get("prompt_tokens").size(), r.tokenUsage().inputTokenCount());
            assertEquals(cli.get("tokens").size(), r.tokenUsage().outputTokenCount());
            assertEquals(cli.get("stop").asText().equals("end_of_generation") ? FinishReason.STOP : FinishReason.LENGTH, r.finishReason());
            assertEquals("stories-chat.gguf", r.modelName());
            RewindChatResponseMetadata meta = assertInstanceOf(RewindChatResponseMetadata.class, r.metadata());
            assertInstanceOf(MethodReport.Plain.class, meta.report());
        }
    }

    /** Collects a stream. */
    private static final class Collector implements StreamingChatResponseHandler {
        final List<String> pieces = new ArrayList<>();
        final AtomicReference<ChatResponse> complete = new AtomicReference<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        int cancelAfter = Integer.MAX_VALUE;

        @Override
        public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
            pieces.add(partial.text());
            if (pieces.size() == cancelAfter) {
                context.streamingHandle().cancel();
            }
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            complete.set(response);
        }

        @Override
        public void onError(Throwable e) {
            error.set(e);
        }
    }

    @Test
    void streamedPiecesConcatenateToTheAnswerOfTheSameRequest() {
        ChatRequestParameters sampled = RewindChatRequestParameters.builder().temperature(0.9).topP(0.95).topK(40).seed(1234L)
                .maxOutputTokens(48).stopSequences(List.of("zzz-never")).build();
        for (ChatRequestParameters p : List.of(sampled, RewindChatRequestParameters.builder().temperature(0.0).maxOutputTokens(48).build())) {
            ChatRequest request = ChatRequest.builder().messages(UserMessage.from("Once upon a time")).parameters(p).build();
            ChatResponse whole = model.chat(request);
            Collector c = new Collector();
            model.chat(request, c);
            assertNull(c.error.get());
            assertTrue(c.pieces.size() > 1, "streamed in pieces: " + c.pieces);
            assertEquals(whole.aiMessage().text(), String.join("", c.pieces));
            assertEquals(whole.aiMessage().text(), c.complete.get().aiMessage().text());
            assertEquals(whole.tokenUsage(), c.complete.get().tokenUsage());
        }
    }

    @Test
    void aSeedGivesTheSameAnswerAndAStopSequenceCutsIt() {
        ChatRequestParameters seeded = RewindChatRequestParameters.builder().temperature(1.0).seed(77L).maxOutputTokens(64).build();
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from("Lily")).parameters(seeded).build();
        String first = model.chat(request).aiMessage().text();
        assertEquals(first, model.chat(request).aiMessage().text(), "the same seed, the same text");
        assertTrue(first.length() > 12, first);
        String stop = first.substring(6, 10);
        ChatResponse cut = model.chat(ChatRequest.builder().messages(UserMessage.from("Lily"))
                .parameters(RewindChatRequestParameters.builder().overrideWith(seeded).stopSequences(List.of(stop)).build()).build());
        assertEquals(first.substring(0, first.indexOf(stop)), cut.aiMessage().text());
        assertEquals(FinishReason.STOP, cut.finishReason());
    }

    @Test
    void cancellingAStreamStopsItAndNothingMoreIsHeard() {
        Collector c = new Collector();
        c.cancelAfter = 2;
        model.chat(greedy(64, UserMessage.from("Once upon a time")), c);
        assertEquals(2, c.pieces.size());
        assertNull(c.complete.get());
        assertNull(c.error.get());
        // the model serves the next request as usual
        assertTrue(model.chat(greedy(8, UserMessage.from("Once upon a time"))).aiMessage().text().length() > 0);
    }

    @Test
    void badParametersAndUnsupportedFeaturesAreClearExceptions() {
        UserMessage hi = UserMessage.from("Hi");
        InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> model.chat(ChatRequest.builder().messages(hi).parameters(RewindChatRequestParameters.builder().temperature(-1.0).build())
                        .build()));
        assertTrue(e.getMessage().contains("temperature") && e.getMessage().contains("-1"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .parameters(RewindChatRequestParameters.builder().topP(1.5).build()).build()));
        assertTrue(e.getMessage().contains("topP"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .parameters(RewindChatRequestParameters.builder().topK(-3).build()).build()));
        assertTrue(e.getMessage().contains("topK"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .parameters(RewindChatRequestParameters.builder().maxOutputTokens(0).build()).build()));
        assertTrue(e.getMessage().contains("maxOutputTokens"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .parameters(RewindChatRequestParameters.builder().minP(2.0).build()).build()));
        assertTrue(e.getMessage().contains("minP"), e.getMessage());
        e = assertThrows(InvalidRequestException.class, () -> model.chat(ChatRequest.builder()
                .messages(UserMessage.from("word ".repeat(400))).build()));
        assertTrue(e.getMessage().contains("context"), e.getMessage());

        UnsupportedFeatureException u = assertThrows(UnsupportedFeatureException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .toolSpecifications(ToolSpecification.builder().name("clock").description("the time").build()).build()));
        assertTrue(u.getMessage().contains("tool"), u.getMessage());
        u = assertThrows(UnsupportedFeatureException.class, () -> model.chat(ChatRequest.builder()
                .messages(UserMessage.from(TextContent.from("look"), ImageContent.from("https://example.com/a.png"))).build()));
        assertTrue(u.getMessage().contains("message 0"), u.getMessage());
        u = assertThrows(UnsupportedFeatureException.class, () -> model.chat(ChatRequest.builder().messages(hi)
                .frequencyPenalty(0.5).build()));
        assertTrue(u.getMessage().contains("frequencyPenalty"), u.getMessage());

        Collector c = new Collector();
        model.chat(ChatRequest.builder().messages(hi).parameters(RewindChatRequestParameters.builder().temperature(-1.0).build()).build(), c);
        assertInstanceOf(InvalidRequestException.class, c.error.get(), "a stream reports the error to its handler");
        assertNull(c.complete.get());

        IllegalArgumentException noTemplate = assertThrows(IllegalArgumentException.class,
                () -> RewindChatModel.builder().modelPath(TestModels.shared("stories260K.gguf")).threads(1).build());
        assertTrue(noTemplate.getMessage().contains("no chat template"), noTemplate.getMessage());
        IllegalArgumentException context = assertThrows(IllegalArgumentException.class,
                () -> RewindChatModel.builder().modelPath(modelFile).contextLength(1 << 20).threads(1).build());
        assertTrue(context.getMessage().contains("contextLength"), context.getMessage());
    }

    @Test
    void aConversationWithAnEarlierAnswerIsTheTemplatesTextAsTheCliRendersIt() throws Exception {
        ChatResponse r = model.chat(greedy(16, UserMessage.from("Lily"), AiMessage.from(" She ran."), UserMessage.from("Tom")));
        Path messages = dir.resolve("conversation.json");
        java.nio.file.Files.writeString(messages, "[{\"role\": \"user\", \"content\": \"Lily\"}, "
                + "{\"role\": \"assistant\", \"content\": \" She ran.\"}, {\"role\": \"user\", \"content\": \"Tom\"}]");
        String rendered = cli("template", "--messages", messages.toString(), "--model", modelFile.toString(), "--add-generation-prompt");
        JsonNode ids = new ObjectMapper().readTree(cli("tokenize", "--model", modelFile.toString(), "--prompt", rendered, "--no-bos"));
        assertEquals(ids.size(), r.tokenUsage().inputTokenCount(), "the prompt is the rendered conversation, nothing added");
    }

    private static String cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }
}
