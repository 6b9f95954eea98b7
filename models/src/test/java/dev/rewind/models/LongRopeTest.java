package dev.rewind.models;

import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LongRoPE (Phi-3.5, Phi-4-mini), on tiny-phi3 with synthetic {@code rope_factors_short/long}: as in
 * llama.cpp, a cache sized for at most {@code rope.scaling.original_context_length} positions rotates by
 * the short factors, a larger one by the long factors, at every position; each must equal the
 * same file with those factors as {@code rope_freqs} (the Llama-3 path, which the llama3rope
 * references check). {@code rope.scaling.attn_factor} multiplies the rotated query and key, so
 * scores grow by its square: equal to the same model with its attention scale times the square.
 */
class LongRopeTest {

    static final int ORIGINAL = 64;
    static final int PAIRS = 16; // tiny-phi3: rope over all 32 dimensions of a head
    static WorkerPool pool;
    @TempDir
    Path dir;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    static float[] factors(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] f = new float[PAIRS];
        for (int i = 0; i < PAIRS; i++) {
            f[i] = (float) (1 + 30 * r.nextDouble());
        }
        return f;
    }

    static final float[] SHORT = factors(1);
    static final float[] LONG = factors(2);
    static final int[] PROMPT = {1, 403, 407, 261, 378, 300, 290, 270, 420, 330, 311, 260, 499, 321, 350, 402, 280, 266, 300, 301};

    private Path longRope(String name, double attnFactor) throws IOException {
        GgufEdit e = GgufEdit.of(SharedData.model("tiny-phi3-F32.gguf"))
                .vector("rope_factors_short.weight", SHORT).vector("rope_factors_long.weight", LONG)
                .set("phi3.rope.scaling.original_context_length", new GgufValue.Int(GgufValueType.UINT32, ORIGINAL));
        if (attnFactor != 1) {
            e.set("phi3.rope.scaling.attn_factor", new GgufValue.Real(GgufValueType.FLOAT32, attnFactor));
        }
        return e.write(dir.resolve(name + ".gguf"));
    }

    private Path ropeFreqs(String name, float[] f) throws IOException {
        return GgufEdit.of(SharedData.model("tiny-phi3-F32.gguf")).vector("rope_freqs.weight", f).write(dir.resolve(name + ".gguf"));
    }

    /** Logits at every prompt position, in a cache sized for {@code context} positions. */
    static float[][] logits(LanguageModel model, int context) {
        try (PagePool kv = PagePool.forTokens(model.config().layers(), model.config().kvDim(), 16, context, KvType.F32);
             Sequence seq = kv.newSequence()) {
            Logits l = model.forward(Batch.of(List.of(new Batch.Entry(seq, PROMPT, Batch.Wanted.ALL))), model.newWorkspace(context));
            float[][] out = new float[PROMPT.length][];
            for (int r = 0; r < out.length; r++) {
                out[r] = l.row(r).clone();
            }
            return out;
        }
    }

    static double maxDiff(float[][] a, float[][] b) {
        double w = 0;
        for (int r = 0; r < a.length; r++) {
            for (int i = 0; i < a[r].length; i++) {
                w = Math.max(w, Math.abs(a[r][i] - b[r][i]));
            }
        }
        return w;
    }

    @Test
    void theContextChoosesTheShortOrTheLongFactors() throws IOException {
        try (LoadedModel lr = ModelLoader.load(longRope("longrope", 1), pool, Precision.EXACT);
             LoadedModel s = ModelLoader.load(ropeFreqs("short", SHORT), pool, Precision.EXACT);
             LoadedModel l = ModelLoader.load(ropeFreqs("long", LONG), pool, Precision.EXACT)) {
            float[][] atOriginal = logits(lr.model(), ORIGINAL);
            float[][] beyond = logits(lr.model(), ORIGINAL + 1);
            for (int r = 0; r < PROMPT.length; r++) {
                assertArrayEquals(logits(s.model(), ORIGINAL)[r], atOriginal[r], "short factors, row " + r);
                assertArrayEquals(logits(l.model(), ORIGINAL + 1)[r], beyond[r], "long factors, row " + r);
            }
            assertTrue(maxDiff(atOriginal, beyond) > 1e-2, "the two factor sets should give different logits");
        }
    }

    @Test
    void theAttentionFactorScalesTheScoresByItsSquare() throws IOException {
        double a = 1.25;
        try (LoadedModel lr = ModelLoader.load(longRope("mscale", a), pool, Precision.EXACT);
             LoadedModel s = ModelLoader.load(ropeFreqs("short2", SHORT), pool, Precision.EXACT)) {
            assertEquals(a, lr.model().config().rope().attentionFactor(), 1e-6);
            TransformerConfig c = s.model().config();
            TransformerConfig.Attention att = c.attention();
            TransformerConfig scaled = new TransformerConfig(c.architecture(), c.dim(), c.layers(), c.heads(), c.kvHeads(), c.headDim(),
                    c.ffnDim(), c.vocabularySize(), c.contextLength(), c.rmsEps(), c.rope(),
                    new TransformerConfig.Attention((float) (att.scale() * a * a), att.softcap(), att.slidingWindow(), att.slidingPattern(),
                            att.slidingRope()), c.logitSoftcap(), c.experts(), c.longRope());
            Phi3 expected = Phi3.load(new ModelTensors(s.file(), null), scaled, pool);
            double d = maxDiff(logits(expected, ORIGINAL), logits(lr.model(), ORIGINAL));
            assertTrue(d < 1e-4, "attention factor as a score scale: max |Δ| = " + d);
            assertTrue(maxDiff(logits(s.model(), ORIGINAL), logits(lr.model(), ORIGINAL)) > 1e-2, "the factor should matter");
        }
    }
}
