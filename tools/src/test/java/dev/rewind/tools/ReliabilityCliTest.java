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
        GgufImage image = GgufImage.parse(Files.readAllBytes(shared().resolve("stories260K.gguf")));
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
}
