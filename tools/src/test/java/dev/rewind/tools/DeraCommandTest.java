package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind dera} as a user meets it: tiny-llama-F32 as the "aligned" model, stories260K as the reference. */
class DeraCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String[] dera(String... more) {
        String[] base = {"dera", "--aligned", shared().resolve("tiny-llama-F32.gguf").toString(),
                "--reference", shared().resolve("stories260K.gguf").toString(), "--prompt", "Once upon a time", "-n", "32",
                "--threads", "2"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    private static JsonNode ref(String model) throws IOException {
        return JSON.readTree(shared().resolve("ref/greedy/" + model + "__p1.json").toFile());
    }

    @Test
    void lambdaZeroStreamsTheReferenceModelsGreedyText() throws IOException {
        CliTest.Run r = run(dera("--lambda", "0", "--temperature", "0", "--ignore-eos"));
        assertEquals(0, r.exit(), r.err());
        assertEquals(ref("stories260K").get("gen_text").asText() + "\n", r.out());
        assertTrue(r.err().contains("tokens/s"), r.err());
    }

    @Test
    void lambdaOneJsonCarriesTheAlignedModelsTokensAndTheGenerateFields() throws IOException {
        CliTest.Run r = run(dera("--lambda", "1", "--temperature", "0", "--ignore-eos", "--output-format", "json", "--top-logits", "3"));
        assertEquals(0, r.exit(), r.err());
        JsonNode json = JSON.readTree(r.out());
        assertEquals(ref("tiny-llama-F32").get("gen_ids"), json.get("tokens"));
        assertEquals(ref("tiny-llama-F32").get("prompt_ids"), json.get("prompt_tokens"));
        assertEquals(1.0, json.get("lambda").asDouble());
        assertEquals("tiny-llama-F32.gguf", json.get("aligned").asText());
        assertEquals("stories260K.gguf", json.get("reference").asText());
        assertTrue(json.get("plausibility_top_p").isNull(), "the guard is off by default");
        for (String field : new String[]{"text", "seed", "stop", "timings"}) {
            assertTrue(json.has(field), field);
        }
        assertEquals(32, json.get("steps").size());
        assertEquals(3, json.get("steps").get(0).get("top_logits").size());
        assertEquals(json.get("tokens").get(0), json.get("steps").get(0).get("top_logits").get(0).get(0), "greedy takes the top mixed logit");
    }

    @Test
    void aSweepRunsEveryLambdaWithTheSameSeed() throws IOException {
        CliTest.Run sweep = run(dera("--lambda-sweep", "0,0.5,1,2", "--temperature", "1", "--seed", "42", "--ignore-eos",
                "--output-format", "json"));
        assertEquals(0, sweep.exit(), sweep.err());
        JsonNode json = JSON.readTree(sweep.out());
        assertEquals(42, json.get("seed").asLong());
        JsonNode runs = json.get("runs");
        assertEquals(4, runs.size());
        double[] lambdas = {0, 0.5, 1, 2};
        for (int i = 0; i < 4; i++) {
            assertEquals(lambdas[i], runs.get(i).get("lambda").asDouble());
            assertEquals(42, runs.get(i).get("seed").asLong());
        }
        CliTest.Run single = run(dera("--lambda", "0.5", "--temperature", "1", "--seed", "42", "--ignore-eos", "--output-format", "json"));
        assertEquals(0, single.exit(), single.err());
        assertEquals(JSON.readTree(single.out()).get("tokens"), runs.get(1).get("tokens"), "a sweep's run is the single run with that λ and seed");
        assertNotEquals(runs.get(0).get("tokens"), runs.get(2).get("tokens"));
    }

    @Test
    void aSweepPrintsOneLinePerLambdaSideBySide() throws IOException {
        CliTest.Run r = run(dera("--lambda-sweep", "0,1", "--temperature", "0", "--ignore-eos"));
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(3, lines.length, r.out());
        assertEquals("λ | continuation", lines[0]);
        String storiesText = ref("stories260K").get("gen_text").asText().replace("\n", "\\n");
        assertEquals("0 | " + storiesText, lines[1]);
        assertTrue(lines[2].startsWith("1 | "), lines[2]);
    }

    @Test
    void thePlausibilityGuardIsReportedWhenOn() throws IOException {
        CliTest.Run r = run(dera("--lambda", "3", "--plausibility-top-p", "0.9", "--seed", "1", "--output-format", "json"));
        assertEquals(0, r.exit(), r.err());
        assertEquals(0.9, JSON.readTree(r.out()).get("plausibility_top_p").asDouble(), 1e-6);
        assertTrue(r.err().contains("plausibility guard on"), r.err());
    }

    @Test
    void modelsWithAnotherVocabularyAreRefusedNamingTheToken(@TempDir Path dir) {
        Path synthetic = dir.resolve("synthetic.gguf");
        CliTest.Run made = run("synth", "--arch", "llama", "--shape", "tiny", "--type", "F32", "--out", synthetic.toString());
        assertEquals(0, made.exit(), made.err());
        CliTest.Run r = run("dera", "--aligned", synthetic.toString(), "--reference", shared().resolve("stories260K.gguf").toString(),
                "--prompt", "Once", "--lambda", "0.5");
        assertOneLineError(r, "the vocabularies of synthetic.gguf and stories260K.gguf differ at token ", "must share one tokenizer");
    }

    @Test
    void badDeraFlagsAreRefusedWithTheirName() {
        assertOneLineError(run(dera()), "--lambda");
        assertOneLineError(run(dera("--lambda", "1", "--lambda-sweep", "0,1")), "--lambda");
        assertOneLineError(run(dera("--lambda", "NaN")), "λ");
        assertOneLineError(run(dera("--lambda", "1", "--plausibility-top-p", "0")), "--plausibility-top-p");
        assertOneLineError(run(dera("--lambda", "1", "--top-p", "2")), "top-p");
        assertOneLineError(run("dera", "--aligned", "/no/such.gguf", "--reference", shared().resolve("stories260K.gguf").toString(),
                "--prompt", "x", "--lambda", "1"), "/no/such.gguf");
    }
}
