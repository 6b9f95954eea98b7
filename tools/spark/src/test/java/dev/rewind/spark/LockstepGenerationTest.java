package dev.rewind.spark;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.rewind.spark.LocalSpark.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Prompts generated side by side give each row what {@link GenerationContext} gives it alone. */
class LockstepGenerationTest {

    @Test
    void eachRowIsWhatItsOwnGenerationGives() throws IOException {
        try (WorkerPool pool = new WorkerPool(2); LoadedModel loaded = ModelLoader.load(Path.of(model("stories260K.gguf")), pool)) {
            Tokenizer tok = loaded.tokenizer();
            String shared = "Once upon a time, there was a little girl named Lily. She had a";
            String[] prompts = {shared + " dog", shared + " big red ball", shared + " cat", "Tom", shared + " dog"};
            int[] extra = {20, 20, 3, 20, 20}; // the third row's context ends 3 tokens after its prompt: it stops full
            SamplingParams sampling = new SamplingParams(0.9f, 40, 0.95f, 0.05f, 1.1f, 64, 17);
            List<LockstepGeneration.Row> rows = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                int[] ids = tok.encode(prompts[i], true, true);
                rows.add(new LockstepGeneration.Row(ids, ids.length + extra[i]));
            }
            assertEquals(tok.encode(shared, true, true).length, LockstepGeneration.sharedPrefix(rows.subList(0, 3)), "a shared prefix");
            assertEquals(1, LockstepGeneration.sharedPrefix(rows), "\"Tom\" shares only BOS with the others, too short to fork");
            // the first three rows fork their shared prefix; all five evaluate every prompt on its own sequence
            for (List<LockstepGeneration.Row> group : List.of(rows.subList(0, 3), rows)) {
                List<LockstepGeneration.Generated> together;
                try (ModelRunner runner = new ModelRunner(loaded.model(), 1024, 16, KvType.F32)) {
                    together = LockstepGeneration.generate(runner, tok, group, sampling, 12, false);
                }
                for (int i = 0; i < group.size(); i++) {
                    GenerationContext.Result alone;
                    try (ModelRunner runner = new ModelRunner(loaded.model(), 256, 16, KvType.F32);
                         GenerationContext context = new GenerationContext(runner, tok::isEndOfGeneration, group.get(i).contextLength())) {
                        alone = context.generate(group.get(i).prompt(), new Sampler(sampling, runner.vocabularySize()),
                                new GenerationContext.Options(12, false, 0), t -> { });
                    }
                    assertArrayEquals(alone.tokens(), together.get(i).result().tokens(), "row " + i + ": " + Arrays.toString(alone.tokens()));
                    assertEquals(alone.stop(), together.get(i).result().stop(), "row " + i);
                }
                assertEquals(GenerationContext.StopReason.CONTEXT_FULL, together.get(2).result().stop());
            }
        }
    }
}
