package dev.rewind.tools;

import dev.rewind.engine.text.Escape;
import dev.rewind.tools.fuzz.GgufImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.rewind.tools.CliTest.run;
import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 9's reproducers through the command line: each ends in one clean line (or in correct output). */
class ReliabilityCliTest {

    @TempDir
    Path dir;

    /** Exit 1, nothing on stdout, and exactly one visible line on stderr holding every fragment. */
    static void assertCleanRefusal(CliTest.Run r, String... fragments) {
        assertEquals(1, r.exit(), r.toString());
        assertEquals("", r.out(), "nothing half-printed on stdout");
        String err = r.err().stripTrailing();
        assertFalse(err.contains("\n"), "one line: " + err);
        assertTrue(Escape.isVisible(err), "visible: " + err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + f + "' in: " + err);
        }
    }

    private Path edited(String name, java.util.function.Consumer<GgufImage> edit) throws IOException {
        return edited("stories260K.gguf", name, edit);
    }

    private Path edited(String model, String name, java.util.function.Consumer<GgufImage> edit) throws IOException {
        GgufImage image = GgufImage.parse(Files.readAllBytes(shared().resolve(model)));
        edit.accept(image);
        Path file = dir.resolve(name);
        Files.write(file, image.serialize().bytes());
        return file;
    }

    @Test
    void d1GenerateWithAVocabularyShorterThanTheEmbeddingIsRefusedBeforeAnyOutput() throws IOException {
        Path file = edited("cut.gguf", image -> {
            List<byte[]> tokens = GgufImage.stringArray(image.entry("tokenizer.ggml.tokens").orElseThrow());
            image.put("tokenizer.ggml.tokens", GgufImage.ARRAY, GgufImage.stringArray(tokens.subList(0, 270)));
        });
        assertCleanRefusal(run("generate", "--model", file.toString(), "--prompt", "hi", "-n", "4"),
                "cut.gguf", "270 tokens", "512 rows");
    }

    @Test
    void d2ARopeDimensionCountLargerThanTheHeadIsRefusedBeforeAnyOutput() throws IOException {
        Path file = edited("tiny-llama-Q8_0.gguf", "rope.gguf",
                image -> image.put("llama.rope.dimension_count", GgufImage.UINT32, GgufImage.u32(100000)));
        assertCleanRefusal(run("generate", "--model", file.toString(), "--prompt", "hi", "-n", "4"),
                "rope.gguf", "llama.rope.dimension_count", "100000", "head dimension");
    }

    /**
     * D4 as the user met it: the real JVM (a separate process, with the incubator announcement on its first
     * line) piped through the launcher's stderr filter, on the file whose architecture holds a NUL byte.
     */
    @Test
    void d4TheMessageOfAnArchitectureHoldingANulReachesTheTerminalThroughTheLauncherFilter() throws Exception {
        Path file = edited("arch.gguf", image -> image.put("general.architecture", GgufImage.STRING, GgufImage.string("xx\0yy")));
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Path filter = Path.of("drop-incubator-warning.sh").toAbsolutePath();
        assertTrue(Files.isRegularFile(filter), filter.toString());
        ProcessBuilder pb = new ProcessBuilder("bash", "-c",
                "source \"$1\"; shift; set -o pipefail; { \"$@\" 2>&1 1>&3 3>&- | drop_incubator_warning >&2; } 3>&1",
                "launcher", filter.toString(), javaBin, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                RewindCli.class.getName(), "generate", "--model", file.toString(), "--prompt", "x");
        Path err = dir.resolve("stderr");
        Path out = dir.resolve("stdout");
        Process p = pb.redirectError(err.toFile()).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the JVM ends");
        String stderr = Files.readString(err, StandardCharsets.ISO_8859_1);
        assertCleanRefusal(new CliTest.Run(p.exitValue(), Files.readString(out), stderr), "arch.gguf", "architecture 'xx\\0yy' is not supported");
        assertFalse(stderr.contains("binary file"), stderr);
        assertFalse(stderr.contains("WARNING: Using incubator modules"), "the announcement is dropped: " + stderr);
    }

    @Test
    void d3InfoShowsControlCharactersOfTheFileAsEscapes() throws IOException {
        Path file = edited("name.gguf", image -> image.put("general.name", GgufImage.STRING,
                GgufImage.string("\u001b]0;pwned\u0007\u001b[2J\rFAKE LINE")));
        CliTest.Run r = run("info", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Escape.isVisible(r.out().replace("\n", "")), "no control character reaches the terminal");
        assertTrue(r.out().contains("\\e]0;pwned\\x07\\e[2J\\rFAKE LINE"), r.out());
        assertFalse(r.out().lines().anyMatch(l -> l.startsWith("FAKE")), "no injected line");
    }

    @Test
    void d3AKeyWithANewlineAppearingTwiceIsOneLine() throws IOException {
        Path file = edited("key.gguf", image -> {
            GgufImage.Entry fake = new GgufImage.Entry("x\nFAKE: injected line".getBytes(StandardCharsets.UTF_8), GgufImage.UINT32,
                    GgufImage.u32(1));
            image.entries.add(0, fake);
            image.entries.add(1, fake);
        });
        for (String[] args : new String[][]{{"info", file.toString()}, {"generate", "--model", file.toString(), "--prompt", "x"},
                {"tokenize", "--model", file.toString(), "--prompt", "x"}}) {
            assertCleanRefusal(run(args), "key.gguf", "'x\\nFAKE: injected line' appears twice", "byte offset");
        }
    }

    @Test
    void d3AnArchitectureWithANulIsOneVisibleLine() throws IOException {
        Path file = edited("arch.gguf", image -> image.put("general.architecture", GgufImage.STRING, GgufImage.string("xx\0yy")));
        assertCleanRefusal(run("generate", "--model", file.toString(), "--prompt", "x"), "architecture 'xx\\0yy' is not supported");
    }

    @Test
    void d11ADirectoryIsNamedByItsPath() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("models-dir"));
        assertCleanRefusal(run("info", sub.toString()), sub.toString(), "directory");
        assertCleanRefusal(run("tokenize", "--model", sub.toString(), "--prompt", "x"), sub.toString(), "directory");
        assertCleanRefusal(run("generate", "--model", sub.toString(), "--prompt", "x"), sub.toString());
    }

    @Test
    void d8AHugeMaxTokensStopsAtTheEndOfTheContext() {
        String model = shared().resolve("stories260K.gguf").toString();
        CliTest.Run r = run("generate", "--model", model, "--prompt", "hi", "--max-tokens", "2000000000", "--temperature", "0");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("stopped at the end of the context (128 tokens)"), r.err());
        CliTest.Run dera = run("dera", "--aligned", model, "--reference", model, "--lambda", "0.5", "--prompt", "hi",
                "--max-tokens", "2000000000", "--temperature", "0");
        assertEquals(0, dera.exit(), dera.err());
        assertTrue(dera.err().contains("stopped at the end of the context (128 tokens)"), dera.err());
    }

    @Test
    void d9TheLargestMaxTokensDoesNotOverflow() {
        String model = shared().resolve("stories260K.gguf").toString();
        CliTest.Run r = run("generate", "--model", model, "--prompt", "hi", "--max-tokens", "2147483647", "--temperature", "0",
                "--output-format", "json");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("\"stop\":\"context_full\""), r.out());
        assertFalse(r.err().contains("-2147483"), r.err());
    }

    @Test
    void aKvCapacityTooLargeForTheMachineNamesKvCapacity() {
        String model = shared().resolve("tiny-llama-F32.gguf").toString();
        CliTest.Run r = run("generate", "--model", model, "--prompt", "hi", "--kv-capacity", "2147483647", "--page-size", "4096");
        assertCleanRefusal(r, "lower --kv-capacity");
        assertFalse(r.err().contains("lower --context"), r.err());
    }

    /** Lines 1 and 3 are good, line 2 holds the bytes 0xFF 0xFE: the D5 reproducer. */
    private Path nonUtf8Input(String field) throws IOException {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.writeBytes(("{\"id\": \"one\", \"" + field + "\": \"Once upon a time\", \"answer\": \"Lily played.\"}\n").getBytes(StandardCharsets.UTF_8));
        b.writeBytes(("{\"id\": \"two\", \"" + field + "\": \"Bad ").getBytes(StandardCharsets.UTF_8));
        b.write(0xff);
        b.write(0xfe);
        b.writeBytes(("\", \"answer\": \"x\"}\n{\"id\": \"three\", \"" + field + "\": \"The cat\", \"answer\": \"It sat.\"}\n")
                .getBytes(StandardCharsets.UTF_8));
        Path in = dir.resolve(field + "-input.jsonl");
        Files.write(in, b.toByteArray());
        return in;
    }

    private static List<com.fasterxml.jackson.databind.JsonNode> jsonLines(Path file) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<com.fasterxml.jackson.databind.JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            out.add(json.readTree(line));
        }
        return out;
    }

    private static String[] rainArgs(String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("rain", "--model", shared().resolve("stories260K.gguf").toString(), "--raw-prompt",
                "--param", "maxSearches=3", "--param", "searchFloor=1", "-n", "3", "--threads", "1", "--no-plain"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @Test
    void d5AnAlignerBatchWithANonUtf8LineFailsOnlyThatItem() throws IOException {
        Path in = nonUtf8Input("question");
        Path out = dir.resolve("aligner-out.jsonl");
        CliTest.Run r = run("aligner", "--aligner", shared().resolve("stories260K.gguf").toString(), "--input", in.toString(),
                "--output", out.toString(), "-n", "3");
        assertEquals(0, r.exit(), r.err());
        List<com.fasterxml.jackson.databind.JsonNode> lines = jsonLines(out);
        assertEquals(List.of("one", "line:2", "three"), lines.stream().map(n -> n.get("id").asText()).toList());
        assertTrue(lines.get(0).get("error").isNull() && lines.get(2).get("error").isNull());
        assertTrue(lines.get(1).get("error").asText().equals("line 2 is not valid UTF-8: byte 0xFF at byte offset 103 of the file"),
                lines.get(1).toString());
    }

    @Test
    void d5ARainBatchWithANonUtf8LineFailsOnlyThatItem() throws IOException {
        Path in = nonUtf8Input("prompt");
        Path out = dir.resolve("rain-out.jsonl");
        CliTest.Run r = run(rainArgs("--input", in.toString(), "--output", out.toString()));
        assertEquals(0, r.exit(), r.err());
        List<com.fasterxml.jackson.databind.JsonNode> lines = jsonLines(out);
        assertEquals(List.of("one", "line:2", "three"), lines.stream().map(n -> n.get("id").asText()).toList());
        assertTrue(lines.get(1).get("error").asText().startsWith("line 2 is not valid UTF-8: byte 0xFF at byte offset"), lines.get(1).toString());
        assertTrue(lines.get(0).has("answer") && lines.get(2).has("answer"));
    }

    @Test
    void d6NoItemIsLostToAnIdCollisionInEitherCommand() throws IOException {
        Path in = dir.resolve("ids.jsonl");
        Files.writeString(in, """
                {"question": "first", "prompt": "first", "answer": "a"}
                {"id": 1, "question": "second", "prompt": "second", "answer": "b"}
                {"id": null, "question": "third", "prompt": "third", "answer": "c"}
                """);
        Path alignerOut = dir.resolve("ids-aligner.jsonl");
        CliTest.Run a = run("aligner", "--aligner", shared().resolve("stories260K.gguf").toString(), "--input", in.toString(),
                "--output", alignerOut.toString(), "-n", "2");
        assertEquals(0, a.exit(), a.err());
        Path rainOut = dir.resolve("ids-rain.jsonl");
        CliTest.Run r = run(rainArgs("--input", in.toString(), "--output", rainOut.toString()));
        assertEquals(0, r.exit(), r.err());
        for (Path out : List.of(alignerOut, rainOut)) {
            List<com.fasterxml.jackson.databind.JsonNode> lines = jsonLines(out);
            assertEquals(List.of("\"line:1\"", "1", "\"line:3\""), lines.stream().map(n -> n.get("id").toString()).toList(), out.toString());
            assertTrue(lines.stream().allMatch(n -> n.get("error") == null || n.get("error").isNull()), lines.toString());
        }
    }

    @Test
    void aResumedRainBatchKeepsOneTraceLinePerResultAndNoHalfLine() throws IOException {
        Path in = dir.resolve("traced.jsonl");
        Files.writeString(in, "{\"id\": \"a\", \"prompt\": \"Once upon a time\"}\n{\"id\": \"b\", \"prompt\": \"The dog\"}\n");
        Path out = dir.resolve("traced-out.jsonl");
        Path trace = dir.resolve("traced-trace.jsonl");
        assertEquals(0, run(rainArgs("--input", in.toString(), "--output", out.toString(), "--trace", trace.toString())).exit());
        // as if killed after b's trace but before its result line, in the middle of a repeat of b's trace
        List<String> results = Files.readAllLines(out);
        Files.writeString(out, results.getFirst() + "\n");
        List<String> traces = Files.readAllLines(trace);
        Files.writeString(trace, traces.get(0) + "\n" + traces.get(1) + "\n" + traces.get(1).substring(0, 40));
        CliTest.Run again = run(rainArgs("--input", in.toString(), "--output", out.toString(), "--trace", trace.toString()));
        assertEquals(0, again.exit(), again.err());
        List<com.fasterxml.jackson.databind.JsonNode> kept = jsonLines(trace);
        assertEquals(List.of("a", "b"), kept.stream().map(n -> n.get("id").asText()).toList());
        assertEquals(List.of("a", "b"), jsonLines(out).stream().map(n -> n.get("id").asText()).toList());
    }
}
