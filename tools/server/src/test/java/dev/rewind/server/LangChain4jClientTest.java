package dev.rewind.server;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.rewind.tokenizer.chat.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Wire compatibility with a client nobody here wrote: LangChain4j's OpenAI module, blocking and streaming. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class LangChain4jClientTest {

    private Fixture f;

    @BeforeAll
    void start() throws Exception {
        f = new Fixture();
        f.start(f.defaults().withApiKeys(List.of("sk-test")), 512);
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
    }

    private String baseUrl() {
        return "http://127.0.0.1:" + f.server.port() + "/v1";
    }

    private String expected(String system, String user, int maxTokens) {
        return f.greedy(f.chat.encode(List.of(new Message("system", system), new Message("user", user)), true), maxTokens);
    }

    @Test
    void blockingChatModelGetsTheGreedyAnswer() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl()).apiKey("sk-test").modelName("stories")
                .temperature(0.0).maxTokens(25).build();
        ChatResponse r = model.chat(ChatRequest.builder()
                .messages(SystemMessage.from("You tell stories."), UserMessage.from("A story about a frog")).build());
        assertEquals(expected("You tell stories.", "A story about a frog", 25), r.aiMessage().text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(25, r.tokenUsage().outputTokenCount());
        assertEquals("stories", r.modelName());
    }

    @Test
    void streamingChatModelGetsTheSameAnswerInPieces() throws Exception {
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(baseUrl()).apiKey("sk-test").modelName("stories")
                .temperature(0.0).maxTokens(25).build();
        StringBuilder pieces = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(ChatRequest.builder().messages(SystemMessage.from("You tell stories."), UserMessage.from("A story about a bee")).build(),
                new StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String partial) {
                        pieces.append(partial);
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse response) {
                        done.complete(response);
                    }

                    @Override
                    public void onError(Throwable error) {
                        done.completeExceptionally(error);
                    }
                });
        ChatResponse r = done.get(60, TimeUnit.SECONDS);
        String expected = expected("You tell stories.", "A story about a bee", 25);
        assertEquals(expected, pieces.toString());
        assertEquals(expected, r.aiMessage().text());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertEquals(25, r.tokenUsage().outputTokenCount(), "stream_options.include_usage gave the usage chunk");
    }
}
