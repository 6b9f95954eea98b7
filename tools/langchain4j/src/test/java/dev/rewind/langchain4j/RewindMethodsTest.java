package dev.rewind.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.JudgeTemplates;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.tools.RewindCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rewind's methods behind the LangChain4j model, each held to what its command (or plain decoding) gives. */
class RewindMethodsTest {

    @TempDir
    static Path dir;

    private static JsonNode cli(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private static ChatRequest greedy(String user, int maxTokens) {
        return ChatRequest.builder().messages(UserMessage.from(user)).temperature(0.0).maxOutputTokens(maxTokens).build();
    }

    private static RewindMethodsTest.Report report(ChatResponse r) {
        return new Report(((RewindChatResponseMetadata) r.metadata()).report());
    }

    private record Report(MethodReport value) {
    }

    @Test
    void deraAtLambdaZeroIsTheReferenceModelOnTheAlignedModelsPrompt() throws IOException {
        Path aligned = TestModels.storiesWithTemplate(dir);
        // tiny-llama shares stories260K's vocabulary; given the same template, its plain greedy answer is DeRa's at λ = 0
        Path referenceCopy = dir.resolve("tiny-llama.gguf");
        Files.copy(TestModels.shared("tiny-llama-F32.gguf"), referenceCopy);
        String plain;
        try (RewindChatModel reference = RewindChatModel.builder().modelPath(referenceCopy).chatTemplate(TestModels.TEMPLATE).threads(1)
                .contextLength(128).build()) {
            plain = reference.chat(greedy("Once upon a time", 24)).aiMessage().text();
        }
        try (RewindChatModel dera = RewindChatModel.builder().modelPath(aligned).contextLength(128).threads(2)
                .method(new RewindMethod.Dera(referenceCopy, 0.0)).build()) {
            assertEquals("dera", dera.method());
            ChatResponse r = dera.chat(greedy("Once upon a time", 24));
            assertEquals(plain, r.aiMessage().text());
            MethodReport.Dera report = assertInstanceOf(MethodReport.Dera.class, report(r).value());
            assertEquals(0.0, report.lambda());
        }
    }

    @Test
    void rainIsWhatRewindRainAnswers() throws IOException {
        Path model = TestModels.storiesWithTemplate(dir);
        Path judge = dir.resolve("kind.json");
        Files.writeString(judge, """
                {"kind": "two-orders",
                 "instruction": "Consider the following story. Determine if the story is kind.\\n\\nStory: The dog helped the cat.",
                 "good_first_options": "Options:\\n(A) The story is kind.\\n(B) The story is unkind.\\nThe answer is: (",
                 "good_second_options": "Options:\\n(A) The story is unkind.\\n(B) The story is kind.\\nThe answer is: ("}
                """);
        JsonNode expected = cli("rain", "--model", model.toString(), "--raw-prompt", "--judge-template", judge.toString(),
                "--param", "maxSearches=5", "--param", "searchFloor=2", "--seed", "2", "-n", "5", "--prompt", "Once upon a time",
                "--no-plain", "--output-format", "json", "--threads", "1");
        RainParams.Builder params = RainPreset.HH.builder();
        params.maxSearches = 5;
        params.searchFloor = 2;
        params.seed = 2;
        RewindMethod.Rain method = new RewindMethod.Rain(params.build(), Conversation.RAW, JudgeTemplates.read(judge));
        try (RewindChatModel rain = RewindChatModel.builder().modelPath(model).threads(1).method(method).build()) {
            assertEquals("rain", rain.method());
            ChatResponse r = rain.chat(greedy("Once upon a time", 5));
            assertEquals(expected.get("answer").asText(), r.aiMessage().text());
            MethodReport.Rain report = assertInstanceOf(MethodReport.Rain.class, report(r).value());
            assertEquals(expected.get("searches").asInt(), report.searches());
            assertEquals(expected.get("answer_tokens").asInt(), r.tokenUsage().outputTokenCount());
            assertEquals(expected.get("prompt_tokens").asInt(), r.tokenUsage().inputTokenCount());
        }
    }

    @Test
    void theAlignerCorrectsTheModelsOwnAnswerAsRewindAlignerDoes() throws IOException {
        Path model = TestModels.storiesWithTemplate(dir);
        JsonNode expected = cli("aligner", "--aligner", model.toString(), "--upstream", model.toString(), "--question", "Lily",
                "-n", "24", "--upstream-max-tokens", "24", "--output-format", "json", "--threads", "1");
        try (RewindChatModel aligned = RewindChatModel.builder().modelPath(model).threads(1)
                .method(new RewindMethod.Aligner(model, AlignerTemplate.Builtin.V1)).build()) {
            ChatResponse r = aligned.chat(greedy("Lily", 24));
            MethodReport.Aligner report = assertInstanceOf(MethodReport.Aligner.class, report(r).value());
            assertEquals(expected.get("answer").asText(), report.upstreamAnswer());
            assertEquals(expected.get("corrected").asText(), r.aiMessage().text());
            assertTrue(r.tokenUsage().outputTokenCount() >= expected.get("tokens").asInt(), "the usage counts both models' tokens");
        }
    }
}
