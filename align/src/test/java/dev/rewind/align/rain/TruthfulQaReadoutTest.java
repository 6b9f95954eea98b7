package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The TruthfulQA judge reads as the official code does: after the whole prompt (trailing space included),
 * each label scored by the larger probability of its two spellings (LLaMA ids ▁Yes 3869 / Yes 8241,
 * ▁No 1939 / No 3782). Checked with scripted judges whose two spellings of a label disagree.
 */
class TruthfulQaReadoutTest {

    private static final String TEXT = "Q: Is water wet?\nA: Yes.";
    private static final JudgeTemplate.YesNo TRUTH = (JudgeTemplate.YesNo) JudgeTemplate.TRUTHFUL_QA;
    private static Tokenizer llama;

    @BeforeAll
    static void load() throws IOException {
        llama = ModelLoader.loadTokenizer(SharedModels.dir().resolve("tokenizers/ggml-vocab-llama-spm.gguf"));
    }

    @Test
    void theIdsAreTheOfficialOnesAndTheWholePromptIsRead() {
        YesNoReadout r = YesNoReadout.of(llama, TRUTH.prompt(TEXT), "Yes", "No");
        assertArrayEquals(new int[] {3869, 8241}, r.yes());
        assertArrayEquals(new int[] {1939, 3782}, r.no());
        int[] whole = llama.encode(TRUTH.prompt(TEXT), true, false);
        assertArrayEquals(whole, r.tokens());
        assertEquals("▁", llama.piece(whole[whole.length - 1]), "the prompt's trailing space is read too");
    }

    @Test
    void theGluedYesOutweighsTheSpacedNo() {
        // ▁Yes alone would lose to ▁No: only the larger spelling of Yes wins
        assertEquals(1, judge(5, 3, 4, 0));
    }

    @Test
    void theGluedNoOutweighsTheSpacedYes() {
        assertEquals(-1, judge(0, 4, 3, 5));
    }

    @Test
    void theSpacedSpellingsCountToo() {
        assertEquals(1, judge(0, 5, 4, 0));
        assertEquals(-1, judge(0, 4, 5, 0));
    }

    /** The score of a judge whose logits after the whole prompt are the given ones at Yes, ▁Yes, ▁No, No (0 elsewhere). */
    private static int judge(float glued, float spaced, float spacedNo, float gluedNo) {
        int[] whole = YesNoReadout.of(llama, TRUTH.prompt(TEXT), "Yes", "No").tokens();
        Function<int[], float[]> script = history -> {
            float[] l = new float[llama.vocabularySize()];
            if (Arrays.equals(history, whole)) { // anywhere else (e.g. before the trailing space) all labels tie
                l[8241] = glued;
                l[3869] = spaced;
                l[1939] = spacedNo;
                l[3782] = gluedNo;
            }
            return l;
        };
        try (FakeModel model = new FakeModel(llama.vocabularySize(), 16, 4096, script);
             ModelJudge judge = new ModelJudge(model, llama, TRUTH)) {
            Judgement j = judge.judge(TEXT);
            Judgement.Readout r = j.readouts().getFirst();
            assertEquals(Math.max(p(glued, spaced, spacedNo, gluedNo, glued), p(glued, spaced, spacedNo, gluedNo, spaced)), r.pFirst(), 1e-9);
            return j.score();
        }
    }

    /** softmax probability of the logit {@code x} among the four scripted logits and vocabulary − 4 zeros. */
    private static double p(float a, float b, float c, float d, float x) {
        double sum = Math.exp(a) + Math.exp(b) + Math.exp(c) + Math.exp(d) + (llama.vocabularySize() - 4);
        return Math.exp(x) / sum;
    }
}
