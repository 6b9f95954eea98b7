package dev.rewind.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity of the families added after the first four (Qwen 3, Gemma 2, Gemma 3, Mixtral-style
 * experts) with ../shared/models/ref, as README-new-families.md describes them, on both precision
 * paths: prompt ids; teacher-forced logits against the float64 reference (1e-4) where it exists and
 * against llama.cpp's logits (per-type tolerance); greedy runs against llama.cpp (divergence only
 * where its own gap is within μ) or, for the files whose oracle is the float64 pass (qwen3, gemma3),
 * against that pass's greedy run (divergence only at a margin below 1e-4).
 *
 * <p>tiny-mixtral-Q4_K_M is left out: this branch has no Q4_K/Q6_K kernels, and with the quants
 * branch's (1e81c40) three of its eight runs have rows 0.55–1.06 off llama.cpp whose routing margins
 * (0.057–0.15) are above the Q8_0-calibrated {@value #REROUTE_MARGIN}, on the exact path too; whether
 * Q8_K activation rounding reroutes them needs a measurement before a K-quant margin is set.
 * {@link #unsupportedTypes} keeps a file of types without kernels from running the parity: it must be refused, naming the type.
 */
class NewFamilyParityTest {

    /** Where a file's references come from. */
    enum Oracle { LLAMA_CPP, FLOAT64 }

    record Case(String model, Oracle oracle, ReferenceParityTest.Tolerance tolerance) {
    }

    static final List<Case> CASES = List.of(
            new Case("tiny-qwen3-F32", Oracle.FLOAT64, new ReferenceParityTest.Tolerance(1e-4, 0)),
            new Case("tiny-gemma3-F32", Oracle.FLOAT64, new ReferenceParityTest.Tolerance(1e-4, 0)),
            // llama.cpp's F16 GELU table: 2.0e-3 measured over 26 layers (README-new-families, section 4)
            new Case("tiny-gemma2-F32", Oracle.LLAMA_CPP, new ReferenceParityTest.Tolerance(5e-3, 5e-3)),
            new Case("tiny-mixtral-F32", Oracle.LLAMA_CPP, new ReferenceParityTest.Tolerance(1e-4, 1e-4)),
            new Case("tiny-mixtral-Q8_0", Oracle.LLAMA_CPP, new ReferenceParityTest.Tolerance(0.2, 0.1)));

    static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    @TestFactory
    Stream<DynamicTest> everyModelAndPrompt() {
        Path ref = SharedData.models().resolve("ref");
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : CASES) {
            for (String run : List.of("p1", "p2", "p3", "p4")) {
                Path greedy = ref.resolve("greedy").resolve(c.model() + "__" + run + ".json");
                for (Precision precision : Precision.values()) {
                    tests.add(DynamicTest.dynamicTest(c.model() + " " + run + " " + precision, () -> check(c, ref, greedy, precision)));
                }
            }
        }
        return tests.stream();
    }

    /** The weight types of a file that this build cannot multiply by. */
    static TreeSet<String> unsupportedTypes(Path model) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        try (GgufFile file = GgufFile.open(model)) {
            for (GgufTensorInfo t : file.tensors()) {
                if (!t.type().isSupported()) {
                    out.add(t.type().name());
                }
            }
        }
        return out;
    }

    private void check(Case c, Path ref, Path greedyFile, Precision precision) throws IOException {
        check(c, ref, greedyFile, precision, null, pool);
    }

    /** {@code modelPath} null: the GGUF file the reference names (else a Hugging Face folder of the same weights). */
    static void check(Case c, Path ref, Path greedyFile, Precision precision, Path modelPath, WorkerPool pool) throws IOException {
        JsonNode greedy = ReferenceParityTest.JSON.readTree(greedyFile.toFile());
        Path model = modelPath != null ? modelPath : SharedData.model(greedy.get("model").asText());
        TreeSet<String> unsupported = modelPath == null ? unsupportedTypes(model) : new TreeSet<>();
        if (!unsupported.isEmpty()) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(model, pool, precision).close());
            assertTrue(unsupported.stream().anyMatch(t -> e.getMessage().contains(t)),
                    "the refusal should name one of " + unsupported + ": " + e.getMessage());
            return;
        }
        int[] promptIds = ReferenceParityTest.ints(greedy.get("prompt_ids"));
        int[] genIds = ReferenceParityTest.ints(greedy.get("gen_ids"));
        int nVocab = greedy.get("n_vocab").asInt();
        try (LoadedModel loaded = ModelLoader.load(model, pool, precision)) {
            // 1. the prompt's ids
            assertArrayEquals(promptIds, loaded.tokenizer().encode(greedy.get("prompt").asText(), true, true), "prompt token ids");

            // 2. teacher-forced logits along the reference's path
            Forced forced = teacherForced(loaded.model(), promptIds, genIds);
            float[][] logits = forced.logits();
            boolean checked = false;
            if (!greedy.get("logits_f64_file").isNull()) {
                float[][] f64 = ReferenceParityTest.readRows(ref.resolve(greedy.get("logits_f64_file").asText()), nVocab);
                ReferenceParityTest.assertRowsClose(f64, logits, ReferenceParityTest.F64_TOLERANCE, "float64 reference");
                checked = true;
            }
            if (!greedy.get("logits_file").isNull()) {
                float[][] llama = ReferenceParityTest.readRows(ref.resolve(greedy.get("logits_file").asText()), nVocab);
                if (loaded.model().config().experts().present() && !c.model().endsWith("-F32")) {
                    assertRowsCloseUnlessRerouted(llama, forced, c.tolerance().logits());
                } else {
                    ReferenceParityTest.assertRowsClose(llama, logits, c.tolerance().logits(), "llama.cpp logits");
                }
                checked = true;
            }
            assertTrue(checked, greedyFile + " names no logits file");

            // 3. greedy continuation
            int[] generated = ReferenceParityTest.greedyRun(loaded, promptIds, genIds.length);
            assertEquals(genIds.length, generated.length, "greedy tokens");
            if (c.oracle() == Oracle.LLAMA_CPP) {
                ReferenceParityTest.assertGreedyAgainstLlamaCpp(greedy.get("steps"), genIds, generated, c.tolerance().greedyGap());
            } else {
                assertGreedyAgainstFloat64(greedy, genIds, generated);
            }
        }
    }

    /** Teacher-forced logits (as {@link ReferenceParityTest#teacherForced}) with each row's smallest routing margin. */
    record Forced(float[][] logits, float[] routingMargins) {
    }

    static Forced teacherForced(LanguageModel model, int[] prompt, int[] gen) {
        int rows = prompt.length + gen.length - 1;
        float[][] out = new float[rows][];
        float[] margins = new float[rows];
        Workspace s = model.newWorkspace(rows);
        try (PagePool kv = PagePool.forTokens(model.config().layers(), model.config().kvDim(), PagePool.DEFAULT_PAGE_SIZE, rows, KvType.F32);
             Sequence seq = kv.newSequence()) {
            Logits prefill = model.forward(Batch.of(List.of(new Batch.Entry(seq, prompt, Batch.Wanted.ALL))), s);
            for (int r = 0; r < prompt.length; r++) {
                out[r] = prefill.row(r).clone();
                margins[r] = s.routingMargin(r);
            }
            for (int k = 0; k < gen.length - 1; k++) {
                out[prompt.length + k] = model.forward(Batch.single(seq, gen[k]), s).row(0).clone();
                margins[prompt.length + k] = s.routingMargin(0);
            }
        }
        return new Forced(out, margins);
    }

    /**
     * llama.cpp rounds the activations of quantized matrices to 8 bits (README section 5), which moves
     * router logits by up to a few hundredths: a token whose two best unchosen/chosen experts are that
     * close can go to another expert there, and its logits then differ by far more than the tolerance.
     * So a row of a quantized mixture may exceed the tolerance only where our own routing margin
     * (at some layer) is below {@value #REROUTE_MARGIN}, at most {@value #MAX_REROUTED_ROWS} rows a run;
     * every other row is held to the tolerance. (Measured on tiny-mixtral-Q8_0: the two such rows have
     * margins 0.018 and 0.003; every other row is within 0.19.)
     */
    static void assertRowsCloseUnlessRerouted(float[][] expected, Forced actual, double tolerance) {
        assertEquals(expected.length, actual.logits().length, "llama.cpp logits rows");
        List<String> rerouted = new ArrayList<>();
        for (int r = 0; r < expected.length; r++) {
            double worst = 0;
            for (int i = 0; i < expected[r].length; i++) {
                double d = Math.abs(expected[r][i] - actual.logits()[r][i]);
                worst = Math.max(worst, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
            }
            if (worst > tolerance) {
                float margin = actual.routingMargins()[r];
                assertTrue(margin < REROUTE_MARGIN, String.format("llama.cpp logits: row %d is %.3g off (tolerance %.3g) and its "
                        + "smallest routing margin %.3g is not below %.3g, so no expert choice explains it", r, worst, tolerance, margin, REROUTE_MARGIN));
                rerouted.add(String.format("row %d: %.3g off, margin %.3g", r, worst, margin));
            }
        }
        assertTrue(rerouted.size() <= MAX_REROUTED_ROWS, "too many rows off llama.cpp by more than the tolerance: " + rerouted);
    }

    static final float REROUTE_MARGIN = 0.05f;
    static final int MAX_REROUTED_ROWS = 3;

    /** Our run must equal the float64 pass's own greedy run, except after a step whose margin is below 1e-4. */
    private static void assertGreedyAgainstFloat64(JsonNode greedy, int[] expected, int[] actual) {
        for (int k = 0; k < expected.length; k++) {
            if (actual[k] != expected[k]) {
                double margin = greedy.get("steps").get(k).get("margin").asDouble();
                assertTrue(margin < ReferenceParityTest.F64_MARGIN, String.format("greedy diverges from the float64 reference at "
                        + "step %d (ours %d, reference %d) where its margin is %.3g; ours %s, reference %s",
                        k, actual[k], expected[k], margin, Arrays.toString(actual), Arrays.toString(expected)));
                return;
            }
        }
    }
}
