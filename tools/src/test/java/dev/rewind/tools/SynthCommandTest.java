package dev.rewind.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind synth} as a user meets it: a file {@code generate} can run, and one-line errors. */
class SynthCommandTest {

    record Run(int exit, String out, String err) {
    }

    static final String ALL_TYPES = "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS";

    @TempDir
    Path dir;

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void writesATinyModelThatGenerateRuns() throws IOException {
        Path model = dir.resolve("tiny-q4.gguf");
        Run synth = run("synth", "--arch", "llama", "--shape", "tiny", "--type", "q4_0", "--out", model.toString(), "--seed", "3");
        assertEquals(0, synth.exit(), synth.err());
        assertTrue(synth.out().startsWith("wrote " + model + ": llama tiny Q4_0"), synth.out());
        assertTrue(Files.size(model) > 700_000, "tiny Q4_0 is about 0.8 MB");
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }

        Run generate = run("generate", "--model", model.toString(), "--prompt", "Hello world", "-n", "8",
                "--temperature", "0", "--ignore-eos", "--output-format", "json");
        assertEquals(0, generate.exit(), generate.err());
        assertTrue(generate.out().contains("\"predicted_n\":8"), generate.out());
    }

    @Test
    void writesAK_QuantModelThatGenerateRuns() throws IOException {
        Path model = dir.resolve("tiny-q4k.gguf");
        Run synth = run("synth", "--arch", "llama", "--shape", "tiny", "--type", "q4_k", "--out", model.toString());
        assertEquals(0, synth.exit(), synth.err());
        assertTrue(synth.out().startsWith("wrote " + model + ": llama tiny Q4_K"), synth.out());
        Run generate = run("generate", "--model", model.toString(), "--prompt", "Hello world", "-n", "4",
                "--temperature", "0", "--ignore-eos", "--output-format", "json");
        assertEquals(0, generate.exit(), generate.err());
        assertTrue(generate.out().contains("\"predicted_n\":4"), generate.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixtral", "qwen3", "gemma2", "gemma3", "phi3"})
    void writesAModelOfEachFamilyThatGenerateAndInfoRun(String arch) throws IOException {
        Path model = dir.resolve(arch + ".gguf");
        Run synth = run("synth", "--arch", arch, "--shape", "tiny", "--type", "Q4_K_M", "--out", model.toString());
        assertEquals(0, synth.exit(), synth.err());
        assertTrue(synth.out().startsWith("wrote " + model + ": " + arch + " tiny Q4_K_M"), synth.out());
        Run info = run("info", model.toString());
        assertEquals(0, info.exit(), info.err());
        assertTrue(info.out().contains(arch.equals("mixtral") ? "llama.expert_count" : arch + ".block_count"), info.out());
        Run generate = run("generate", "--model", model.toString(), "--prompt", "Hello world", "-n", "4",
                "--temperature", "0", "--ignore-eos", "--output-format", "json");
        assertEquals(0, generate.exit(), generate.err());
        assertTrue(generate.out().contains("\"predicted_n\":4"), generate.out());
    }

    @Test
    void aShapeWhoseRowsAreNotWholeBlocksOfTheTypeIsOneLine() {
        Run r = run("synth", "--arch", "gemma3", "--shape", "gemma3-1b", "--type", "Q4_K_M", "--out", dir.resolve("g.gguf").toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("1152") && r.err().contains("256") && r.err().strip().lines().count() == 1, r.err());
    }

    @Test
    void anUnknownShapeIsOneLineListingTheValidOnes() {
        Path model = dir.resolve("x.gguf");
        Run r = run("synth", "--arch", "llama", "--shape", "llama-70b", "--type", "Q8_0", "--out", model.toString());
        assertOneLineError(r, "unknown shape 'llama-70b'", "tiny", "llama-1b", "llama-8b");
        assertFalse(Files.exists(model));

        assertOneLineError(run("synth", "--arch", "llama", "--shape", "tiny", "--type", "IQ2_XXS", "--out", model.toString()),
                "unknown type 'IQ2_XXS'", ALL_TYPES);
        assertOneLineError(run("synth", "--arch", "gpt2", "--shape", "tiny", "--type", "F16", "--out", model.toString()),
                "unknown architecture 'gpt2'", "llama");
        assertOneLineError(run("synth", "--arch", "llama", "--shape", "tiny", "--type", "F16", "--out", dir.resolve("no/such/x.gguf").toString()),
                "does not exist");
        assertFalse(Files.exists(model));
    }

    @Test
    void helpListsTheShapesAndTypes() {
        Run r = run("synth", "--help");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("tiny, llama-1b, llama-8b"), r.out());
        assertTrue(r.out().replaceAll("\\s+", " ").contains(ALL_TYPES), r.out());
    }

    private static void assertOneLineError(Run r, String... fragments) {
        assertNotEquals(0, r.exit(), "non-zero exit expected: " + r);
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "stderr should mention '" + f + "': " + r.err());
        }
    }
}
