package dev.rewind.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.rewind.spark.LocalSpark.JSON;
import static dev.rewind.spark.LocalSpark.cli;
import static dev.rewind.spark.LocalSpark.linesById;
import static dev.rewind.spark.LocalSpark.model;
import static dev.rewind.spark.LocalSpark.withoutTimes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 20-line JSONL through each method on local[2] gives, line for line, what the CLI gives for the same
 * flags and seed: {@code rewind rain --input} and {@code rewind aligner --input} batches (error lines
 * included), and {@code rewind generate}/{@code dera --output-format json} prompt by prompt. Only the
 * fields that measure time may differ.
 */
class SparkJobParityTest {

    @TempDir
    Path dir;

    /** 17 prompts (several sharing a long beginning, so the shared-prefix fork runs), then three lines that are not items. */
    private Path promptInput() throws IOException {
        List<String> lines = new ArrayList<>();
        String shared = "Once upon a time, there was a little girl named Lily. She liked to";
        String[] ends = {" play", " run in the park", " eat", " sing with her mom", " draw a big red"};
        for (int i = 0; i < 17; i++) {
            String prompt = i < ends.length ? shared + ends[i] : "Tom had a " + (i % 2 == 0 ? "dog" : "ball") + " number " + i;
            String id = i % 3 == 0 ? "\"p" + i + "\"" : Integer.toString(i);
            lines.add("{\"id\": " + id + ", \"prompt\": " + JSON.writeValueAsString(prompt) + "}");
        }
        lines.add("{\"id\": \"no-prompt\", \"text\": \"x\"}");
        lines.add("{\"id\": 4, \"prompt\": \"repeats the id of line 5\"}");
        lines.add("{not json");
        Path in = dir.resolve("prompts.jsonl");
        Files.write(in, lines, StandardCharsets.UTF_8);
        return in;
    }

    private Map<String, ObjectNode> sparkRun(Method method, Path input, List<String> flags) {
        Path out = dir.resolve(method.command() + "-out");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        RewindSparkJob.Summary s = RewindSparkJob.runFiles(LocalSpark.get(), new JobSpec(method, flags, 4).checked(), input.toString(),
                out.toString(), 2, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(20, s.items());
        assertEquals(20, s.done());
        assertEquals(0, s.skipped());
        Map<String, ObjectNode> lines = linesById(out);
        assertEquals(20, lines.size(), lines.keySet().toString());
        return lines;
    }

    /** Checks the lines of the three non-items: no prompt, a repeated id, not JSON. */
    private static void checkErrorLines(Map<String, ObjectNode> spark) {
        assertEquals("line 18 has no string \"prompt\"", spark.get("\"no-prompt\"").get("error").asText());
        assertEquals("line 19 repeats the id 4 of line 5", spark.get("\"line:19\"").get("error").asText());
        assertTrue(spark.get("\"line:20\"").get("error").asText().startsWith("line 20 is not JSON: "), spark.get("\"line:20\"").toString());
    }

    /** Each prompt of the input alone through the CLI with {@code args} (a command and its flags): its JSON by id. */
    private static void assertSameAsCliPromptByPrompt(Path input, Map<String, ObjectNode> spark, String... args) throws IOException {
        int compared = 0;
        for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
            JsonNode item;
            try {
                item = JSON.readTree(line);
            } catch (IOException notJson) {
                continue;
            }
            String id = item.get("id").toString();
            if (!item.has("prompt") || id.equals("4") && item.get("prompt").asText().startsWith("repeats")) {
                continue;
            }
            List<String> cliArgs = new ArrayList<>(List.of(args));
            cliArgs.addAll(List.of("--prompt", item.get("prompt").asText(), "--output-format", "json"));
            ObjectNode expected = (ObjectNode) JSON.readTree(cli(cliArgs.toArray(String[]::new)));
            ObjectNode got = spark.get(id).deepCopy();
            assertEquals(item.get("id"), got.remove("id"), id);
            assertEquals(item.get("prompt").asText(), got.remove("prompt").asText(), id);
            assertEquals(withoutTimes(expected), withoutTimes(got), "item " + id);
            compared++;
        }
        assertEquals(17, compared);
    }

    @Test
    void generateGivesWhatGenerateGivesForEachPrompt() throws IOException {
        Path in = promptInput();
        List<String> flags = List.of("--model", model("stories260K.gguf"), "-n", "12", "--seed", "11", "--temperature", "0.9", "--threads", "2");
        Map<String, ObjectNode> spark = sparkRun(Method.GENERATE, in, flags);
        checkErrorLines(spark);
        List<String> args = new ArrayList<>(List.of("generate"));
        args.addAll(flags);
        assertSameAsCliPromptByPrompt(in, spark, args.toArray(String[]::new));
    }

    @Test
    void deraGivesWhatDeraGivesForEachPrompt() throws IOException {
        Path in = promptInput();
        List<String> flags = List.of("--aligned", model("tiny-llama-F32.gguf"), "--reference", model("stories260K.gguf"),
                "--lambda-sweep", "0.5,1.5", "-n", "10", "--seed", "3", "--threads", "2");
        Map<String, ObjectNode> spark = sparkRun(Method.DERA, in, flags);
        checkErrorLines(spark);
        assertEquals(2, spark.get("1").get("runs").size());
        List<String> args = new ArrayList<>(List.of("dera"));
        args.addAll(flags);
        assertSameAsCliPromptByPrompt(in, spark, args.toArray(String[]::new));
    }

    @Test
    void rainGivesTheLinesOfTheRainBatch() throws IOException {
        Path in = promptInput();
        Path template = dir.resolve("kind.json");
        Files.writeString(template, """
                {"kind": "two-orders",
                 "instruction": "Consider the following story. Determine if the story is kind.\\n\\nStory: The dog helped the cat.",
                 "good_first_options": "Options:\\n(A) The story is kind.\\n(B) The story is unkind.\\nThe answer is: (",
                 "good_second_options": "Options:\\n(A) The story is unkind.\\n(B) The story is kind.\\nThe answer is: ("}
                """);
        List<String> flags = List.of("--model", model("stories260K.gguf"), "--raw-prompt", "--judge-template", template.toString(),
                "--param", "maxSearches=4", "--param", "searchFloor=2", "-n", "4", "--seed", "5", "--threads", "2");
        Map<String, ObjectNode> spark = sparkRun(Method.RAIN, in, flags);
        checkErrorLines(spark);
        assertBatchLinesEqual(withoutCacheCosts(spark), withoutCacheCosts(cliBatch("rain", flags, in)));
    }

    @Test
    void alignerGivesTheLinesOfTheAlignerBatch() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 17; i++) {
            lines.add("{\"id\": " + (i % 4 == 0 ? "\"q" + i + "\"" : i) + ", \"question\": \"Where is the dog " + i + "?\", \"answer\": "
                    + JSON.writeValueAsString(i % 2 == 0 ? "The dog is in the park with Lily." : "Tom threw the ball far away " + i) + "}");
        }
        lines.add("{\"id\": \"no-answer\", \"question\": \"Who?\"}");
        lines.add("{\"id\": 1, \"question\": \"again\", \"answer\": \"x\"}");
        lines.add("[1, 2]");
        Path in = dir.resolve("qa.jsonl");
        Files.write(in, lines, StandardCharsets.UTF_8);
        List<String> flags = List.of("--aligner", model("stories260K.gguf"), "-n", "8", "--threads", "2", "--seed", "1");
        Map<String, ObjectNode> spark = sparkRun(Method.ALIGNER, in, flags);
        assertEquals("line 19 repeats the id 1 of line 2", spark.get("\"line:19\"").get("error").asText());
        assertBatchLinesEqual(spark, cliBatch("aligner", flags, in));
    }

    /**
     * RAIN's lines without the costs that depend on what the judge's cache already holds: its few-shot
     * prefix and the embedder's recent texts are evaluated by the first item of a batch and reused by the later
     * ones, so {@code judge_tokens}, {@code embedder_tokens}, {@code forward_calls}, {@code kv_pages_peak} and
     * {@code overhead_tokens} of an item
     * depend on which items ran before it on the same engine, in a CLI batch as on an executor.
     */
    private static Map<String, ObjectNode> withoutCacheCosts(Map<String, ObjectNode> lines) {
        Map<String, ObjectNode> out = new java.util.LinkedHashMap<>();
        lines.forEach((id, line) -> {
            ObjectNode copy = line.deepCopy();
            copy.remove(List.of("judge_tokens", "embedder_tokens", "forward_calls", "kv_pages_peak", "overhead_tokens"));
            out.put(id, copy);
        });
        return out;
    }

    private Map<String, ObjectNode> cliBatch(String command, List<String> flags, Path input) {
        Path out = dir.resolve(command + "-cli.jsonl");
        List<String> args = new ArrayList<>(List.of(command));
        args.addAll(flags);
        args.addAll(List.of("--input", input.toString(), "--output", out.toString()));
        cli(args.toArray(String[]::new));
        return linesById(out);
    }

    private static void assertBatchLinesEqual(Map<String, ObjectNode> spark, Map<String, ObjectNode> cli) {
        assertEquals(20, cli.size());
        assertEquals(cli.keySet(), spark.keySet());
        for (String id : cli.keySet()) {
            assertEquals(withoutTimes(cli.get(id)), withoutTimes(spark.get(id)), "item " + id);
        }
    }
}
