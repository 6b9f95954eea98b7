package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The command line as a user meets it: output, exit codes, and one-line errors without stack traces. */
class CliTest {

    record Run(int exit, String out, String err) {
    }

    static Path shared() {
        String property = System.getProperty("rewind.shared");
        Path root = property != null ? Path.of(property) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(root.resolve("models"))) {
            fail("the shared test data is missing under " + root.toAbsolutePath().normalize());
        }
        return root.resolve("models");
    }

    static Run run(String... args) {
        return runWithInput("", args);
    }

    /** Runs the command line with {@code input} as its standard input. */
    static Run runWithInput(String input, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new java.io.ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static void assertOneLineError(Run r, String... fragments) {
        assertTrue(r.exit() != 0, "non-zero exit expected: " + r);
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(r.err().contains("Exception"), "no exception class names: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "stderr should mention '" + f + "': " + r.err());
        }
    }

    @Test
    void greedyGenerationStreamsTheReferenceText() throws IOException {
        Path model = shared().resolve("stories260K.gguf");
        JsonNode ref = new ObjectMapper().readTree(shared().resolve("ref/greedy/stories260K__p1.json").toFile());
        Run r = run("generate", "--model", model.toString(), "--prompt", "Once upon a time", "-n", "32",
                "--temperature", "0", "--ignore-eos");
        assertEquals(0, r.exit(), r.err());
        assertEquals(ref.get("gen_text").asText() + "\n", r.out());
        assertTrue(r.err().contains("tokens/s"), r.err());
    }

    @Test
    void jsonOutputCarriesIdsTextTimingsAndTopLogits() throws IOException {
        Path model = shared().resolve("stories260K.gguf");
        JsonNode ref = new ObjectMapper().readTree(shared().resolve("ref/greedy/stories260K__p2.json").toFile());
        Run r = run("generate", "--model", model.toString(), "--prompt", ref.get("prompt").asText(), "-n", "32",
                "--temperature", "0", "--ignore-eos", "--output-format", "json", "--top-logits", "10");
        assertEquals(0, r.exit(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(ref.get("prompt_ids"), json.get("prompt_tokens"));
        assertEquals(ref.get("gen_ids"), json.get("tokens"));
        assertEquals(ref.get("gen_text").asText(), json.get("text").asText());
        for (String field : new String[]{"prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms", "predicted_per_second"}) {
            assertTrue(json.get("timings").has(field), "timings." + field);
        }
        assertEquals(32, json.get("timings").get("predicted_n").asInt());
        JsonNode steps = json.get("steps");
        assertEquals(32, steps.size());
        for (int k = 0; k < 32; k++) {
            JsonNode ours = steps.get(k).get("top_logits");
            JsonNode theirs = ref.get("steps").get(k).get("top10");
            assertEquals(10, ours.size());
            for (int i = 0; i < 10; i++) {
                assertEquals(theirs.get(i).get(0).asInt(), ours.get(i).get(0).asInt(), "step " + k + " rank " + i);
                assertEquals(theirs.get(i).get(1).asDouble(), ours.get(i).get(1).asDouble(), 1e-4, "step " + k + " rank " + i);
            }
        }
    }

    @Test
    void theSameSeedGivesTheSameText() {
        String model = shared().resolve("stories260K.gguf").toString();
        Run a = run("generate", "--model", model, "--prompt", "Once", "-n", "40", "--seed", "7", "--temperature", "1");
        Run b = run("generate", "--model", model, "--prompt", "Once", "-n", "40", "--seed", "7", "--temperature", "1");
        Run c = run("generate", "--model", model, "--prompt", "Once", "-n", "40", "--seed", "8", "--temperature", "1");
        assertEquals(0, a.exit(), a.err());
        assertEquals(a.out(), b.out());
        assertTrue(!a.out().equals(c.out()), "another seed should give another story");
    }

    @Test
    void tokenizePrintsTheIdsAsJson() {
        Run r = run("tokenize", "--model", shared().resolve("stories260K.gguf").toString(), "--prompt", "Once upon a time");
        assertEquals(0, r.exit(), r.err());
        assertEquals("[1,403,407,261,378]", r.out().strip());
        Run pieces = run("tokenize", "--model", shared().resolve("stories260K.gguf").toString(), "--prompt", "Once", "--show-pieces", "--no-bos");
        assertEquals(0, pieces.exit(), pieces.err());
        assertEquals("[[403,\" Once\"]]", pieces.out().strip());
    }

    @Test
    void infoListsMetadataAndTensors() {
        Run r = run("info", shared().resolve("stories260K.gguf").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("general.architecture"), r.out());
        assertTrue(r.out().contains("token_embd.weight"), r.out());
        assertTrue(r.out().contains("F32"), r.out());
        assertTrue(r.out().contains("tensor types (1):\n  F32         48 tensors"), r.out());
    }

    @Test
    void infoCountsTheTensorsOfEachTypeOfAMixture() throws IOException {
        Path model = shared().resolve("tiny-llama-Q4_K_M.gguf");
        Run r = run("info", model.toString());
        assertEquals(0, r.exit(), r.err());
        // what the file's tensor table says, counted here independently of the command
        Map<GgmlType, long[]> expected = new EnumMap<>(GgmlType.class);
        try (GgufFile file = GgufFile.open(model)) {
            for (GgufTensorInfo t : file.tensors()) {
                long[] c = expected.computeIfAbsent(t.type(), k -> new long[2]);
                c[0]++;
                c[1] += t.byteSize();
            }
        }
        assertEquals(Set.of(GgmlType.F32, GgmlType.Q4_K, GgmlType.Q6_K), expected.keySet(), "a Q4_K_M file mixes Q4_K and Q6_K");
        List<String> lines = r.out().substring(r.out().indexOf("tensor types")).lines().toList();
        assertEquals("tensor types (3):", lines.get(0));
        int i = 1;
        for (Map.Entry<GgmlType, long[]> e : expected.entrySet()) {
            assertEquals(List.of(e.getKey().name(), Long.toString(e.getValue()[0]), "tensors", Long.toString(e.getValue()[1]), "bytes"),
                    List.of(lines.get(i++).trim().split("\\s+")), r.out());
        }
        assertEquals(4, lines.size(), r.out());
    }

    @Test
    void aMissingModelIsOneClearLine() {
        assertOneLineError(run("generate", "--model", "/no/such/model.gguf", "--prompt", "x"), "/no/such/model.gguf");
    }

    @Test
    void aFileThatIsNotGgufNamesTheProblemAndOffset(@TempDir Path dir) throws IOException {
        Path bogus = dir.resolve("bogus.gguf");
        Files.writeString(bogus, "this is not a model at all");
        assertOneLineError(run("generate", "--model", bogus.toString(), "--prompt", "x"), "bogus.gguf", "magic", "offset 0");
        assertOneLineError(run("info", bogus.toString()), "magic");
        assertOneLineError(run("tokenize", "--model", bogus.toString(), "--prompt", "x"), "magic");
    }

    @Test
    void aTruncatedModelIsOneClearLine(@TempDir Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(shared().resolve("stories260K.gguf"));
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertOneLineError(run("generate", "--model", cut.toString(), "--prompt", "x"), "cut.gguf", "past the end");
    }

    @Test
    void badFlagsAreRefusedWithTheirName() {
        String model = shared().resolve("stories260K.gguf").toString();
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--top-p", "0"), "top-p");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--temperature", "-1"), "temperature");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--max-tokens", "-5"), "max-tokens");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--top-logits", "3"), "--top-logits");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--threads", "0"), "--threads");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--output-format", "xml"), "--output-format");
        assertOneLineError(run("generate", "--model", model, "--prompt", "x", "--top-k", "many"), "--top-k");
        assertOneLineError(run("generate", "--model", model), "--prompt");
        assertOneLineError(run("frobnicate"), "frobnicate");
    }

    @Test
    void aPromptLongerThanTheContextIsRefused() {
        String model = shared().resolve("stories260K.gguf").toString();
        assertOneLineError(run("generate", "--model", model, "--prompt", "Once upon a time there was a dog", "--context", "3"), "context");
    }
}
