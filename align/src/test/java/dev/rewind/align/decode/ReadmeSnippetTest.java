package dev.rewind.align.decode;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's "Decoding from Java" snippet, as written there but for the model path and the printing. */
class ReadmeSnippetTest {

    @Test
    void theSnippetRunsAndItsPiecesAddUpToTheText() throws Exception {
        StringBuilder printed = new StringBuilder();
        try (WorkerPool pool = new WorkerPool(2);
             LoadedModel model = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(model.model(), 512, 16, KvType.F32);
             PlainDecoding plain = new PlainDecoding(runner, model.tokenizer(), 512)) {
            int[] prompt = model.tokenizer().encode("Once upon a time", true, true);
            Cancellation cancel = new Cancellation();
            Decoded d = plain.decode(DecodeRequest.ofTokens(prompt, SamplingParams.GREEDY, 64).withStop(List.of("\n\n")),
                    new DecodeListener() {
                        @Override public void onText(String piece) { printed.append(piece); }
                    }, cancel);
            assertEquals(d.text(), printed.toString());
            assertFalse(d.text().contains("\n\n"));
            assertTrue(d.usage().completionTokens() > 0 && d.usage().completionTokens() <= 64);
            assertEquals("plain", d.report().method());
        }
    }
}
