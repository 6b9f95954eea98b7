package dev.rewind.tools;

import dev.rewind.align.rain.JudgeTemplate;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The issue-13 defaults of the alignment commands: RAIN's embedder and KV sizing, the Aligner's length. */
class RainEmbedderCliTest {

    @Test
    void rainsCacheIsSizedByWhatTheSearchReachesNotByTheContext() throws IOException {
        RainParams p = RainPreset.HH.builder().build();
        Tokenizer t = ModelLoader.loadTokenizer(CliTest.shared().resolve("stories260K.gguf"));
        int judge = RainCommand.judgePromptTokens(JudgeTemplate.HH, t);
        assertTrue(judge > 1000, "the HH judge few-shot: " + judge);
        assertEquals(2048 + 10 + 1 + judge, RainCommand.reach(131072, judge, p), "a 128k context is not what a search reaches");
        assertEquals(4096, RainCommand.reach(4096, judge, p), "never more than the context");
    }

    @Test
    void rainRefusesAnUnknownEmbedderInOneLine() {
        CliTest.Run r = CliTest.run("rain", "--prompt", "hi", "--embedder", "bert");
        assertEquals(1, r.exit());
        assertEquals("rewind rain: --embedder must be minilm or hidden, got 'bert'", r.err().strip());
    }

    @Test
    void theAlignerCorrectsUpTo2048TokensByDefaultAsItsModelCardDoes() {
        CliTest.Run r = CliTest.run("aligner", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("2048"), r.out());
    }
}
