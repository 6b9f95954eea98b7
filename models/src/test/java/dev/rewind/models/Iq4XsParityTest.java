package dev.rewind.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.Quantizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * IQ4_XS at model level, against llama.cpp: {@code ../shared/models} has a file of every other
 * weight type but none of IQ4_XS, so this test carries its own, made the way those were (see
 * {@code src/test/resources/llama-cpp-iq4xs/README.md}): tiny-llama's F32 weights quantized by
 * llama-quantize {@code --pure} to IQ4_XS, and llama.cpp's logits and greedy runs for the four
 * shared prompts. The tolerances are those of the other 4-bit types in {@link ReferenceParityTest}
 * (llama.cpp quantizes activations, so neither precision is closer to it than that).
 */
class Iq4XsParityTest {

    private static final ReferenceParityTest.Tolerance TOLERANCE = new ReferenceParityTest.Tolerance(0.2, 0.1);
    private static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    private static Path fixture(String name) throws URISyntaxException {
        var url = Iq4XsParityTest.class.getResource("/llama-cpp-iq4xs/" + name);
        assertNotNull(url, "test resource llama-cpp-iq4xs/" + name);
        return Path.of(url.toURI());
    }

    /**
     * Rewind's IQ4_XS quantizer, given the F32 file's weights, writes every 2-D tensor of
     * llama-quantize's file byte for byte (the other types are held to this in the engine's
     * {@code QuantizerTest}, against the files of {@code ../shared}).
     */
    @Test
    void theQuantizerWritesLlamaQuantizesBytes() throws Exception {
        try (GgufFile f32 = GgufFile.open(SharedData.model("tiny-llama-F32.gguf"));
             GgufFile theirs = GgufFile.open(fixture("tiny-llama-IQ4_XS.gguf"));
             Arena arena = Arena.ofConfined()) {
            int compared = 0;
            for (GgufTensorInfo source : f32.tensors()) {
                if (source.dimensions() != 2) {
                    continue;
                }
                GgufTensorInfo reference = theirs.tensor(source.name()).orElseThrow();
                assertEquals(GgmlType.IQ4_XS, reference.type(), source.name());
                float[] values = new float[Math.toIntExact(source.elementCount())];
                MemorySegment.copy(f32.tensorData(source), ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                        values, 0, values.length);
                MemorySegment ours = arena.allocate(Quantizer.bytes(GgmlType.IQ4_XS, values.length));
                Quantizer.quantize(GgmlType.IQ4_XS, values, 0, values.length, ours, 0);
                long at = ours.mismatch(theirs.tensorData(reference));
                assertEquals(-1, at, source.name() + ": first differing byte (block " + at / GgmlType.IQ4_XS.blockBytes() + ")");
                compared++;
            }
            assertEquals(16, compared, "2-D tensors compared");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyPromptOnBothPrecisions() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String run : List.of("p1", "p2", "p3", "p4")) {
            for (Precision precision : Precision.values()) {
                tests.add(DynamicTest.dynamicTest(run + " " + precision, () -> check(run, precision)));
            }
        }
        return tests.stream();
    }

    private void check(String run, Precision precision) throws Exception {
        JsonNode greedy = ReferenceParityTest.JSON.readTree(fixture("tiny-llama-IQ4_XS__" + run + ".json").toFile());
        int[] promptIds = ReferenceParityTest.ints(greedy.get("prompt_ids"));
        int[] genIds = ReferenceParityTest.ints(greedy.get("gen_ids"));
        try (LoadedModel loaded = ModelLoader.load(fixture("tiny-llama-IQ4_XS.gguf"), pool, precision)) {
            assertEquals(GgmlType.IQ4_XS, loaded.file().tensor("blk.0.attn_q.weight").orElseThrow().type(), "the file really is IQ4_XS");
            assertArrayEquals(promptIds, loaded.tokenizer().encode(greedy.get("prompt").asText(), true, true), "prompt token ids");
            float[][] logits = ReferenceParityTest.teacherForced(loaded.model(), promptIds, genIds);
            float[][] expected = ReferenceParityTest.readRows(fixture(greedy.get("logits_file").asText()), greedy.get("n_vocab").asInt());
            ReferenceParityTest.assertRowsClose(expected, logits, TOLERANCE.logits(), "llama.cpp logits");
            int[] generated = ReferenceParityTest.greedyRun(loaded, promptIds, genIds.length);
            ReferenceParityTest.assertGreedyAgainstLlamaCpp(greedy.get("steps"), genIds, generated, TOLERANCE.greedyGap());
        }
    }
}
