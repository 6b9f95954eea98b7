package dev.rewind.models;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Batch.Wanted#HIDDEN}: the hidden states of every position, the same bits as with logits, and no logits. */
class HiddenOnlyTest {

    @Test
    void hiddenRowsEqualThoseOfAFullEvaluationAndNoLogitsAreComputed() throws IOException {
        int[][] texts = {{1, 400, 401, 402}, {1, 33, 34}};
        try (WorkerPool pool = new WorkerPool(2);
             LoadedModel m = ModelLoader.load(SharedData.model("stories260K.gguf"), pool);
             ModelRunner runner = new ModelRunner(m.model(), 256, 16, KvType.F32)) {
            List<float[]> full = hidden(runner, texts, Batch.Wanted.ALL, false);
            List<float[]> hiddenOnly = hidden(runner, texts, Batch.Wanted.HIDDEN, true);
            assertEquals(7, full.size());
            for (int i = 0; i < full.size(); i++) {
                assertArrayEquals(full.get(i), hiddenOnly.get(i), "row " + i);
            }
        }
    }

    private static List<float[]> hidden(ModelRunner runner, int[][] texts, Batch.Wanted wanted, boolean expectNoLogits) {
        List<Sequence> sequences = new ArrayList<>();
        try {
            List<Batch.Entry> entries = new ArrayList<>();
            for (int[] t : texts) {
                Sequence s = runner.newSequence();
                sequences.add(s);
                entries.add(new Batch.Entry(s, t, wanted));
            }
            Batch batch = Batch.of(entries);
            assertEquals(7, batch.logitRows());
            Logits logits = runner.forward(batch);
            List<float[]> out = new ArrayList<>();
            for (int i = 0; i < logits.rows(); i++) {
                out.add(logits.hidden(i));
            }
            if (expectNoLogits) {
                assertThrows(IllegalStateException.class, () -> logits.row(0));
            } else {
                assertEquals(runner.vocabularySize(), logits.row(0).length);
            }
            return out;
        } finally {
            sequences.forEach(Sequence::close);
        }
    }
}
