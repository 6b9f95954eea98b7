package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind rain} and {@code rewind rain-view} as a user meets them, on stories260K with a short judge template. */
class RainCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    private static Path template;

    @BeforeAll
    static void writeTemplate() throws IOException {
        template = dir.resolve("kind.json");
        Files.writeString(template, """
                {"kind": "two-orders",
                 "instruction": "Consider the following story. Determine if the story is kind.\\n\\nStory: The dog helped the cat.",
                 "good_first_options": "Options:\\n(A) The story is kind.\\n(B) The story is unkind.\\nThe answer is: (",
                 "good_second_options": "Options:\\n(A) The story is unkind.\\n(B) The story is kind.\\nThe answer is: ("}
                """);
    }

    private static String[] rain(String... more) {
        List<String> args = new ArrayList<>(List.of("rain", "--model", shared().resolve("stories260K.gguf").toString(), "--raw-prompt",
                "--judge-template", template.toString(), "--param", "maxSearches=5", "--param", "searchFloor=2", "-n", "5",
                "--threads", "2"));
        args.addAll(Arrays.asList(more));
        return args.toArray(String[]::new);
    }

    @Test
    void aSinglePromptPrintsTheAnswerAndTheCostReport() {
        CliTest.Run r = run(rain("--prompt", "Once upon a time", "--seed", "2"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith(","), r.out()); // stories260K continues "Once upon a time" with a comma
        assertTrue(r.err().contains("forward tokens: generator"), r.err());
        assertTrue(r.err().contains("overhead:") && r.err().contains("x wall time"), r.err());
    }

    @Test
    void jsonCarriesTheResultFieldsAndTheTraceDraws() throws Exception {
        Path trace = dir.resolve("single.json");
        CliTest.Run r = run(rain("--prompt", "Once upon a time", "--output-format", "json", "--trace", trace.toString()));
        assertEquals(0, r.exit(), r.err());
        JsonNode json = JSON.readTree(r.out());
        for (String field : new String[]{"id", "prompt", "answer", "commits", "searches", "generator_tokens", "judge_tokens",
                "kv_pages_peak", "seconds", "plain_seconds"}) {
            assertTrue(json.has(field), field + " in " + json);
        }
        assertEquals(5, json.get("answer_tokens").asInt());
        assertTrue(json.get("generator_tokens").asLong() > json.get("plain_tokens").asLong());
        assertTrue(json.get("judge_tokens").asLong() > 0);

        JsonNode t = JSON.readTree(trace.toFile());
        assertEquals(json.get("commits").asInt(), t.get("commits").size());
        CliTest.Run html = run("rain-view", trace.toString());
        assertEquals(0, html.exit(), html.err());
        String page = Files.readString(dir.resolve("single.html"));
        assertTrue(page.startsWith("<!DOCTYPE html>") && page.contains("<svg") && page.contains("Commit 1:"), page.substring(0, 200));
        CliTest.Run svg = run("rain-view", trace.toString(), "--format", "svg", "--out", dir.resolve("tree.svg").toString());
        assertEquals(0, svg.exit(), svg.err());
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("tree.svg"))));
        assertEquals("svg", doc.getDocumentElement().getNodeName(), "well-formed SVG");
        assertTrue(doc.getElementsByTagName("rect").getLength() > t.get("commits").size());
    }

    @Test
    void aBatchWritesOneLinePerPromptAndResumesWithoutRepeatingIds() throws IOException {
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, """
                {"id": "a", "prompt": "Once upon a time"}
                not json
                {"id": 7, "prompt": "The cat"}
                {"id": "a", "prompt": "a repeated id"}
                """);
        Path output = dir.resolve("out.jsonl");
        // an earlier run finished "a" and died while writing the next line
        Files.writeString(output, "{\"id\":\"a\",\"answer\":\"done before\"}\n{\"id\":2,\"ans", StandardCharsets.UTF_8);
        CliTest.Run r = run(rain("--input", input.toString(), "--output", output.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("resuming") && r.err().contains("[3/4] 7"), r.err());
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(output)) {
            lines.add(JSON.readTree(line));
        }
        assertEquals(4, lines.size(), lines.toString());
        assertEquals("done before", lines.get(0).get("answer").asText());
        assertEquals("line:2", lines.get(1).get("id").asText());
        assertTrue(lines.get(1).get("error").asText().startsWith("line 2 is not JSON"), lines.get(1).toString());
        assertEquals(7, lines.get(2).get("id").asInt());
        assertTrue(lines.get(2).has("plain_seconds") && lines.get(2).get("searches").asInt() > 0);
        assertEquals("line:4", lines.get(3).get("id").asText());
        assertEquals("line 4 repeats the id \"a\" of line 1", lines.get(3).get("error").asText());

        CliTest.Run again = run(rain("--input", input.toString(), "--output", output.toString()));
        assertEquals(0, again.exit(), again.err());
        assertEquals(4, Files.readAllLines(output).size(), "nothing done twice");
        assertTrue(again.err().contains("0 done in this run"), again.err());

        // a batch trace holds one line per prompt run, and rain-view picks one by id
        Path traces = dir.resolve("traces.jsonl");
        Path fresh = dir.resolve("fresh.jsonl");
        CliTest.Run traced = run(rain("--input", input.toString(), "--output", fresh.toString(), "--trace", traces.toString()));
        assertEquals(0, traced.exit(), traced.err());
        assertEquals(2, Files.readAllLines(traces).size(), "prompts a and 7");
        CliTest.Run view = run("rain-view", traces.toString(), "--id", "7", "--out", dir.resolve("seven.html").toString());
        assertEquals(0, view.exit(), view.err());
        assertTrue(Files.readString(dir.resolve("seven.html")).contains("The cat"));
    }

    @Test
    void aSeparateJudgeModelCanJudge() throws IOException {
        CliTest.Run r = run(rain("--prompt", "Once upon a time", "--judge-model", shared().resolve("tiny-llama-F32.gguf").toString(),
                "--output-format", "json", "--no-plain"));
        assertEquals(0, r.exit(), r.err());
        JsonNode json = JSON.readTree(r.out());
        assertTrue(json.get("judge_tokens").asLong() > 0 && json.get("embedder_tokens").asLong() > 0, json.toString());
        assertEquals(5, json.get("answer_tokens").asInt());
    }

    @Test
    void mistakesEndInOneLine() {
        // the HH layout's few-shot chat is longer than stories260K's own context of 128
        assertOneLineError(run("rain", "--model", shared().resolve("stories260K.gguf").toString(), "--prompt", "Hi", "-n", "2"),
                "tokens; with the longest span", "raise --context");
        assertOneLineError(run(rain("--prompt", "x", "--input", "in.jsonl")), "exclude");
        assertOneLineError(run(rain("--prompt", "x", "--param", "nope=1")), "unknown RAIN parameter", "maxSearches");
        assertOneLineError(run(rain("--prompt", "x", "--param", "commitValue=abc")), "commitValue");
        assertOneLineError(run(rain("--prompt", "x", "--preset", "zzz")), "hh, adv, truthfulqa");
        assertOneLineError(run("rain-view", dir.resolve("missing.json").toString()), "missing.json");
    }
}
