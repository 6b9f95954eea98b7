package dev.rewind.align.dera;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DeRa on real models of the shared folder, all on the tok512 vocabulary: stories260K (trained) as
 * the reference and tiny-llama-F32 (random weights) as the "aligned" model, checked against
 * llama.cpp's greedy runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeraTest {

    private static final String[] PROMPTS = {"p1", "p2", "p3", "p4"};
    private static final int CAPACITY = 128;

    private WorkerPool poolA;
    private WorkerPool poolR;
    private LoadedModel llama;
    private LoadedModel stories;
    private SharedVocabulary tok512;

    @BeforeAll
    void load() throws Exception {
        poolA = new WorkerPool(1);
        poolR = new WorkerPool(1);
        llama = ModelLoader.load(SharedModels.model("tiny-llama-F32.gguf"), poolA);
        stories = ModelLoader.load(SharedModels.model("stories260K.gguf"), poolR);
        tok512 = Dera.checkVocabularies("tiny-llama-F32.gguf", llama, "stories260K.gguf", stories);
    }

    @AfterAll
    void close() {
        llama.close();
        stories.close();
        poolA.close();
        poolR.close();
    }

    private static ModelRunner runner(LoadedModel m) {
        return new ModelRunner(m.model(), CAPACITY, 16, KvType.F32);
    }

    private static int[] greedy(LogitsSource source, int[] prompt, int n) {
        try (GenerationContext context = new GenerationContext(source, t -> false, CAPACITY)) {
            Sampler sampler = new Sampler(SamplingParams.GREEDY, source.vocabularySize());
            return context.generate(prompt, sampler, new GenerationContext.Options(n, true, 0), t -> { }).tokens();
        }
    }

    private int[] deraGreedy(LoadedModel aligned, LoadedModel reference, double lambda, SharedVocabulary vocabulary,
                             int[] prompt, int n) {
        try (ModelRunner a = runner(aligned); ModelRunner r = runner(reference);
             MixtureSource m = Dera.mixture(a, r, lambda, vocabulary, Optional.empty(), CAPACITY)) {
            return greedy(m, prompt, n);
        }
    }

    @Test
    void theSharedModelsHaveOneVocabulary() {
        assertEquals(new SharedVocabulary(512, 512), tok512);
    }

    @Test
    void lambdaZeroIsTheReferenceModelAndLambdaOneTheAlignedModelTokenForToken() {
        for (String pk : PROMPTS) {
            SharedModels.GreedyReference ref = SharedModels.greedy("stories260K", pk);
            SharedModels.GreedyReference aligned = SharedModels.greedy("tiny-llama-F32", pk);
            assertArrayEquals(ref.promptIds(), aligned.promptIds());
            assertArrayEquals(ref.genIds(), deraGreedy(llama, stories, 0.0, tok512, ref.promptIds(), ref.genIds().length),
                    "λ = 0 reproduces stories260K on " + pk);
            assertArrayEquals(aligned.genIds(), deraGreedy(llama, stories, 1.0, tok512, ref.promptIds(), aligned.genIds().length),
                    "λ = 1 reproduces tiny-llama-F32 on " + pk);
        }
    }

    @Test
    void halfAndHalfOfOneModelIsThatModel() {
        for (String pk : PROMPTS) {
            SharedModels.GreedyReference ref = SharedModels.greedy("stories260K", pk);
            assertArrayEquals(ref.genIds(), deraGreedy(stories, stories, 0.5, tok512, ref.promptIds(), ref.genIds().length), pk);
        }
    }

    @Test
    void theMixedRowsAreTheWeightedSumOfTheTwoModelsRowsAtEveryStep() {
        int[] prompt = SharedModels.greedy("stories260K", "p3").promptIds();
        for (double lambda : new double[]{0.3, 2.0, -0.5}) {
            try (ModelRunner a = runner(llama); ModelRunner r = runner(stories);
                 MixtureSource m = Dera.mixture(a, r, lambda, tok512, Optional.empty(), CAPACITY);
                 ModelRunner soloA = runner(llama); ModelRunner soloR = runner(stories)) {
                TokenSequence s = m.newSequence();
                TokenSequence sa = soloA.newSequence();
                TokenSequence sr = soloR.newSequence();
                int[] feed = prompt;
                for (int step = 0; step < 10; step++) {
                    float[] mixed = m.forward(Batch.single(s, feed)).row(0).clone();
                    float[] hA = soloA.forward(Batch.single(sa, feed)).row(0);
                    float[] hR = soloR.forward(Batch.single(sr, feed)).row(0);
                    for (int v = 0; v < mixed.length; v++) {
                        double expected = lambda * hA[v] + (1 - lambda) * hR[v];
                        assertEquals(expected, mixed[v], 1e-5 * Math.max(1, Math.abs(expected)),
                                "λ = " + lambda + ", step " + step + ", id " + v);
                    }
                    feed = new int[]{Sampler.argmax(mixed)};
                }
            }
        }
    }

    /** A model whose logits are all shifted by a constant. */
    private record Shifted(LogitsSource inner, float shift) implements LogitsSource {
        @Override
        public int vocabularySize() {
            return inner.vocabularySize();
        }

        @Override
        public TokenSequence newSequence() {
            return inner.newSequence();
        }

        @Override
        public Logits forward(Batch batch) {
            Logits l = inner.forward(batch);
            for (int i = 0; i < l.rows(); i++) {
                float[] row = l.row(i); // the inner source's buffer, rewritten before its next call
                for (int v = 0; v < row.length; v++) {
                    row[v] += shift;
                }
            }
            return l;
        }
    }

    private static double[] logSoftmax(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : row) {
            sum += Math.exp(x - max);
        }
        double[] out = new double[row.length];
        for (int v = 0; v < row.length; v++) {
            out[v] = row[v] - max - Math.log(sum);
        }
        return out;
    }

    @Test
    void addingAConstantToEitherModelsLogitsChangesNothing() {
        int[] prompt = SharedModels.greedy("stories260K", "p2").promptIds();
        double lambda = 1.5;
        for (int shifted = 0; shifted < 2; shifted++) {
            try (ModelRunner a = runner(llama); ModelRunner r = runner(stories);
                 ModelRunner a2 = runner(llama); ModelRunner r2 = runner(stories);
                 MixtureSource plain = Dera.mixture(a, r, lambda, tok512, Optional.empty(), CAPACITY);
                 MixtureSource moved = Dera.mixture(shifted == 0 ? new Shifted(a2, 7.25f) : a2,
                         shifted == 1 ? new Shifted(r2, -3.5f) : r2, lambda, tok512, Optional.empty(), CAPACITY)) {
                TokenSequence s1 = plain.newSequence();
                TokenSequence s2 = moved.newSequence();
                int[] feed = prompt;
                for (int step = 0; step < 16; step++) {
                    float[] h1 = plain.forward(Batch.single(s1, feed)).row(0).clone();
                    float[] h2 = moved.forward(Batch.single(s2, feed)).row(0);
                    double[] p1 = logSoftmax(h1);
                    double[] p2 = logSoftmax(h2);
                    for (int v = 0; v < p1.length; v++) {
                        assertEquals(p1[v], p2[v], 1e-4, "model " + shifted + " shifted, step " + step + ", id " + v);
                    }
                    assertEquals(Sampler.argmax(h1), Sampler.argmax(h2), "the greedy token, step " + step);
                    feed = new int[]{Sampler.argmax(h1)};
                }
            }
        }
    }

    @Test
    void modelsWithDifferentVocabulariesAreRefusedNamingTheFirstDifferentToken(@TempDir Path dir) throws Exception {
        Path other = TestModels.synthetic(dir.resolve("synthetic-512.gguf"), 512);
        try (WorkerPool pool = new WorkerPool(1); LoadedModel synthetic = ModelLoader.load(other, pool)) {
            VocabularyMismatchException e = assertThrows(VocabularyMismatchException.class,
                    () -> Dera.checkVocabularies("synthetic-512.gguf", synthetic, "stories260K.gguf", stories));
            int id = e.tokenId();
            assertTrue(id >= 0 && id < 512, e.getMessage());
            String expected = "differ at token " + id + ": " + VocabularyCheck.describe(synthetic.tokenizer(), id)
                    + " in synthetic-512.gguf, " + VocabularyCheck.describe(stories.tokenizer(), id) + " in stories260K.gguf";
            assertTrue(e.getMessage().contains(expected), e.getMessage() + "\nexpected to contain: " + expected);
            for (int i = 0; i < id; i++) {
                assertEquals(stories.tokenizer().piece(i), synthetic.tokenizer().piece(i), "tokens before " + id + " agree");
            }
        }
    }

    @Test
    void aVocabularyThatAddsRealTokensIsRefusedNamingTheFirstOne(@TempDir Path dir) throws Exception {
        Path small = TestModels.synthetic(dir.resolve("v512.gguf"), 512);
        Path large = TestModels.synthetic(dir.resolve("v520.gguf"), 520);
        try (WorkerPool pool = new WorkerPool(1); LoadedModel a = ModelLoader.load(small, pool); LoadedModel b = ModelLoader.load(large, pool)) {
            VocabularyMismatchException e = assertThrows(VocabularyMismatchException.class,
                    () -> Dera.checkVocabularies("v512.gguf", a, "v520.gguf", b));
            assertEquals(512, e.tokenId());
            assertTrue(e.getMessage().startsWith("token 512 '" + b.tokenizer().piece(512) + "' (NORMAL) of v520.gguf is not in v512.gguf"),
                    e.getMessage());
        }
    }

    @Test
    void aVocabularyPaddedAtTheEndIsAcceptedWithThePaddingMasked(@TempDir Path dir) throws Exception {
        Path padded = TestModels.padded(SharedModels.model("stories260K.gguf"), dir.resolve("stories-padded.gguf"), 8);
        SharedModels.GreedyReference ref = SharedModels.greedy("stories260K", "p1");
        try (WorkerPool pool = new WorkerPool(1); LoadedModel p = ModelLoader.load(padded, pool)) {
            assertEquals(520, p.tokenizer().vocabularySize());
            SharedVocabulary shared = Dera.checkVocabularies("stories-padded.gguf", p, "tiny-llama-F32.gguf", llama);
            assertEquals(new SharedVocabulary(512, 520), shared);
            assertEquals(8, shared.maskedIds());
            assertEquals(shared, Dera.checkVocabularies("tiny-llama-F32.gguf", llama, "stories-padded.gguf", p), "either order");

            assertArrayEquals(ref.genIds(), deraGreedy(p, llama, 1.0, shared, ref.promptIds(), ref.genIds().length),
                    "λ = 1 on the padded stories260K is stories260K");
            try (ModelRunner a = runner(p); ModelRunner r = runner(stories);
                 MixtureSource m = Dera.mixture(a, r, 0.5, shared, Optional.empty(), CAPACITY)) {
                assertEquals(520, m.vocabularySize());
                TokenSequence s = m.newSequence();
                float[] row = m.forward(Batch.single(s, ref.promptIds())).row(0);
                for (int v = 512; v < 520; v++) {
                    assertEquals(Float.NEGATIVE_INFINITY, row[v], "padding id " + v + " is masked");
                }
                assertEquals(ref.genIds()[0], Sampler.argmax(row));
            }
        }
    }
}
