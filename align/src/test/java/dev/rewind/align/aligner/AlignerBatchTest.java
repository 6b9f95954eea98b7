package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.align.SharedModels;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batches: answers from the input file or a server, per-item errors, and resumption that writes each id once. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlignerBatchTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private WorkerPool pool;
    private LoadedModel stories;

    @BeforeAll
    void load() throws Exception {
        pool = new WorkerPool(1);
        stories = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
    }

    @AfterAll
    void close() {
        stories.close();
        pool.close();
    }

    private record Run(ModelRunner runner, Aligner aligner) implements AutoCloseable {
        @Override
        public void close() {
            aligner.close();
            runner.close();
        }
    }

    private Run aligner() {
        ModelRunner r = new ModelRunner(stories.model(), 256, 16, KvType.F32);
        return new Run(r, new Aligner(r, stories.tokenizer(), AlignerTemplate.Builtin.V1,
                new Aligner.Settings(SamplingParams.GREEDY, 12, false, 0, 256)));
    }

    private static Path input(Path dir, String... lines) throws IOException {
        Path file = dir.resolve("input.jsonl");
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return file;
    }

    /** Runs the batch into {@code out}, checking after each item that its line is already on disk. */
    private static AlignerBatch.Summary runInto(AlignerBatch batch, Path in, Path out, int maxItems) throws IOException {
        try (ResumableOutput output = ResumableOutput.open(out, false)) {
            return batch.run(AlignerBatch.Items.of(BatchInput.open(in)), output::isDone,
                    item -> output.append(item.id(), JSON.writeValueAsString(item.toJson(JSON))),
                    (position, total, item) -> {
                        try {
                            List<String> lines = Files.readAllLines(out);
                            assertEquals(item.id(), JSON.readTree(lines.getLast()).get("id"), "each line is written as its item finishes");
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    }, maxItems);
        }
    }

    private static List<JsonNode> lines(Path out) throws IOException {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            nodes.add(JSON.readTree(line));
        }
        return nodes;
    }

    @Test
    void answersFromTheInputFileAreCorrectedAndBadItemsBecomeErrors(@TempDir Path dir) throws IOException {
        Path in = input(dir,
                "{\"id\": \"a\", \"question\": \"Who is Lily?\", \"answer\": \"Lily is a girl.\"}",
                "",
                "{\"id\": 2, \"question\": \"Where is the ball?\", \"answer\": \"In the park.\"}",
                "this is not json",
                "{\"id\": \"c\", \"question\": \"No answer here\"}",
                "{\"id\": \"a\", \"question\": \"Who is Lily again?\", \"answer\": \"A repeated id.\"}",
                "{\"question\": \"Without id\", \"answer\": \"It gets its line number.\"}");
        Path out = dir.resolve("out.jsonl");
        try (Run run = aligner()) {
            AlignerBatch.Summary s = runInto(new AlignerBatch(run.aligner(), Optional.empty()), in, out, Integer.MAX_VALUE);
            assertEquals(new AlignerBatch.Summary(6, 0, 6, 3, 0, false), s, "every non-blank line is one item, none skipped");
        }
        List<JsonNode> lines = lines(out);
        assertEquals(6, lines.size());
        JsonNode a = lines.get(0);
        assertEquals("a", a.get("id").asText());
        assertEquals("Who is Lily?", a.get("question").asText());
        assertEquals("Lily is a girl.", a.get("answer").asText());
        assertTrue(a.get("corrected").isTextual() && !a.get("corrected").asText().contains("ASSISTANT:"), a.toString());
        assertFalse(a.get("truncated").asBoolean());
        assertTrue(a.get("seconds").asDouble() > 0);
        assertTrue(a.get("error").isNull());
        assertEquals("input", a.get("source").asText());
        assertEquals(2, lines.get(1).get("id").asInt());
        assertTrue(lines.get(1).get("id").isInt(), "ids keep their JSON type");
        assertEquals("line:4", lines.get(2).get("id").asText(), "an unreadable line is reported under its line id");
        assertTrue(lines.get(2).get("error").asText().startsWith("line 4 is not JSON"), lines.get(2).toString());
        assertEquals("c", lines.get(3).get("id").asText());
        assertTrue(lines.get(3).get("error").asText().contains("no \"answer\""), lines.get(3).toString());
        assertTrue(lines.get(3).get("corrected").isNull());
        assertEquals("line:6", lines.get(4).get("id").asText(), "a repeated id is an error under the line's id, not skipped");
        assertEquals("line 6 repeats the id \"a\" of line 1", lines.get(4).get("error").asText());
        assertEquals("line:7", lines.get(5).get("id").asText());
        assertTrue(lines.get(5).get("corrected").isTextual(), lines.get(5).toString());
    }

    @Test
    void anInterruptedBatchRestartedWritesEachIdOnce(@TempDir Path dir) throws IOException {
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            items.add("{\"id\": \"q" + i + "\", \"question\": \"Question " + i + "?\", \"answer\": \"Answer " + i + ".\"}");
        }
        Path in = input(dir, items.toArray(String[]::new));
        Path out = dir.resolve("out.jsonl");
        try (Run run = aligner()) {
            AlignerBatch batch = new AlignerBatch(run.aligner(), Optional.empty());
            assertEquals(new AlignerBatch.Summary(5, 0, 2, 0, 0, true), runInto(batch, in, out, 2), "stopped after two items");
            // The process died while writing the third line: half a line, no newline.
            Files.writeString(out, "{\"id\": \"q2\", \"question\": \"Quest", StandardOpenOption.APPEND);
            try (ResumableOutput reopened = ResumableOutput.open(out, false)) {
                assertEquals(new ResumableOutput.Resumed(2, 31, 0), reopened.resumed());
            }
            assertEquals(new AlignerBatch.Summary(5, 2, 3, 0, 0, false), runInto(batch, in, out, Integer.MAX_VALUE));
            assertEquals(new AlignerBatch.Summary(5, 5, 0, 0, 0, false), runInto(batch, in, out, Integer.MAX_VALUE), "nothing left");
        }
        List<JsonNode> lines = lines(out);
        assertEquals(List.of("q0", "q1", "q2", "q3", "q4"), lines.stream().map(n -> n.get("id").asText()).toList());
    }

    @Test
    void aServerUpstreamThatFailsOrHangsOnSomeQuestionsFailsOnlyThoseItems(@TempDir Path dir) throws Exception {
        Path in = input(dir,
                "{\"id\": 1, \"question\": \"Where did Lily go?\"}",
                "{\"id\": 2, \"question\": \"Please FAIL\"}",
                "{\"id\": 3, \"question\": \"Please HANG\"}",
                "{\"id\": 4, \"question\": \"What did Tim find?\", \"answer\": \"ignored: the upstream answers\"}");
        Path out = dir.resolve("out.jsonl");
        try (StubChatServer server = new StubChatServer(); Run run = aligner();
             OpenAiUpstream upstream = new OpenAiUpstream(new OpenAiUpstream.Settings(OpenAiUpstream.chatCompletions(server.baseUrl()),
                     Optional.empty(), Optional.empty(), Duration.ofMillis(400), 32))) {
            AlignerBatch batch = new AlignerBatch(run.aligner(), Optional.of(upstream));
            assertEquals(new AlignerBatch.Summary(4, 0, 4, 2, 0, false), runInto(batch, in, out, Integer.MAX_VALUE));
            Map<Integer, JsonNode> byId = new HashMap<>();
            lines(out).forEach(n -> byId.put(n.get("id").asInt(), n));
            assertEquals("Answer to: Where did Lily go?", byId.get(1).get("answer").asText());
            assertTrue(byId.get(1).get("corrected").isTextual());
            assertTrue(byId.get(1).get("upstream_seconds").asDouble() > 0);
            assertEquals(server.baseUrl() + "/chat/completions", byId.get(1).get("source").asText());
            assertTrue(byId.get(2).get("error").asText().startsWith("HTTP 500"), byId.get(2).toString());
            assertTrue(byId.get(2).get("answer").isNull() && byId.get(2).get("corrected").isNull());
            assertTrue(byId.get(3).get("error").asText().contains("no reply"), byId.get(3).toString());
            assertEquals("Answer to: What did Tim find?", byId.get(4).get("answer").asText());

            // Retrying the errors drops their lines and does those ids again, still once each.
            try (ResumableOutput output = ResumableOutput.open(out, true)) {
                assertEquals(new ResumableOutput.Resumed(2, 0, 2), output.resumed());
            }
            assertEquals(new AlignerBatch.Summary(4, 2, 2, 2, 0, false), runInto(batch, in, out, Integer.MAX_VALUE));
            assertEquals(List.of(1, 4, 2, 3), lines(out).stream().map(n -> n.get("id").asInt()).toList());
        }
    }

    @Test
    void anOutputFileThatIsNotJsonlIsRefusedRatherThanAppendedTo(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "{\"id\": 1}\nnot json\n");
        IOException e = assertThrows(IOException.class, () -> ResumableOutput.open(out, false));
        assertTrue(e.getMessage().contains("line 2 is not JSON"), e.getMessage());
    }
}
