package dev.rewind.langchain4j;

import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The README's "Use from Java (LangChain4j)" snippet, line for line, but for the model path (a shared
 * model given a chat template) and printing into buffers the test then checks.
 */
class ReadmeExampleTest {

    @TempDir
    static Path dir;

    @Test
    void theReadmeSnippetRuns() throws Exception {
        Path file = TestModels.storiesWithTemplate(dir);
        StringBuilder printed = new StringBuilder();
        StringBuilder streamed = new StringBuilder();
        Throwable[] failed = {null};
        ChatResponse[] done = {null};

        try (RewindChatModel model = RewindChatModel.builder()
                .modelPath(file)
                .build()) {
            ChatResponse answer = model.chat(ChatRequest.builder()
                    .messages(SystemMessage.from("Be brief."), UserMessage.from("Why is the sky blue?"))
                    .temperature(0.0).maxOutputTokens(64).build());
            printed.append(answer.aiMessage().text() + " " + answer.tokenUsage() + " " + answer.finishReason());

            model.chat(ChatRequest.builder().messages(UserMessage.from("Tell me a story.")).temperature(0.0).build(),
                    new StreamingChatResponseHandler() {
                        @Override public void onPartialResponse(String piece) { streamed.append(piece); }
                        @Override public void onCompleteResponse(ChatResponse r) { done[0] = r; }
                        @Override public void onError(Throwable e) { failed[0] = e; }
                    });

            assertNull(failed[0]);
            assertNotNull(done[0]);
            assertEquals(done[0].aiMessage().text(), streamed.toString());
            assertEquals(answer.aiMessage().text() + " " + answer.tokenUsage() + " " + answer.finishReason(), printed.toString());
            assertNotNull(answer.tokenUsage().inputTokenCount());
            assertEquals(true, answer.finishReason() == FinishReason.STOP || answer.finishReason() == FinishReason.LENGTH);
        }
    }
}
