package dev.rewind.engine.safetensors;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.rewind.engine.safetensors.SafetensorsBytes.bytes;
import static dev.rewind.engine.safetensors.SafetensorsBytes.entry;
import static dev.rewind.engine.safetensors.SafetensorsBytes.file;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Single and sharded folders of ../shared/hf-models against their GGUF twins; broken indexes. */
class SafetensorsFolderTest {

    @TempDir
    Path dir;

    static Path shared(String first, String... more) {
        String shared = System.getProperty("rewind.shared");
        if (shared == null || shared.isBlank()) {
            fail("system property rewind.shared is not set: run the tests through Maven");
        }
        Path p = Path.of(shared, first).resolve(String.join("/", more));
        if (!Files.exists(p)) {
            fail(p.toAbsolutePath() + " does not exist");
        }
        return p;
    }

    @Test
    void shardedFolderHoldsTheSameTensorsAsTheSingleFile() throws IOException {
        try (SafetensorsFolder one = SafetensorsFolder.open(shared("hf-models", "tiny-llama-F32"));
             SafetensorsFolder two = SafetensorsFolder.open(shared("hf-models", "tiny-llama-F32-sharded"))) {
            assertEquals(1, one.shards().size());
            assertEquals(2, two.shards().size());
            assertEquals(21, one.tensors().size());
            assertEquals(List.of(10, 11), two.shards().stream().map(s -> s.tensors().size()).toList());
            assertEquals(5512352, one.fileSize());
            assertEquals(2755640 + 2756728, two.fileSize());
            for (SafetensorsTensor t : one.tensors()) {
                SafetensorsTensor u = two.tensor(t.name()).orElseThrow();
                assertEquals(t.dtype(), u.dtype());
                assertEquals(-1, one.tensorData(t).mismatch(two.tensorData(u)), t.name());
            }
        }
    }

    /** v is stored as in the GGUF; q's rows are llama.cpp's permutation of HF's (README of hf-models). */
    @Test
    void weightsAreTheGgufTwinsBytes() throws IOException {
        try (SafetensorsFolder hf = SafetensorsFolder.open(shared("hf-models", "tiny-llama-BF16"));
             GgufFile gguf = GgufFile.open(shared("models", "tiny-llama-BF16.gguf"))) {
            SafetensorsTensor v = hf.tensor("model.layers.1.self_attn.v_proj.weight").orElseThrow();
            GgufTensorInfo gv = gguf.tensor("blk.1.attn_v.weight").orElseThrow();
            assertEquals(SafetensorsDtype.BF16, v.dtype());
            assertEquals(-1, hf.tensorData(v).mismatch(gguf.tensorData(gv)));
            SafetensorsTensor q = hf.tensor("model.layers.0.self_attn.q_proj.weight").orElseThrow();
            MemorySegment hq = hf.tensorData(q);
            MemorySegment gq = gguf.tensorData(gguf.tensor("blk.0.attn_q.weight").orElseThrow());
            assertNotEquals(-1, hq.mismatch(gq), "q is permuted");
            int rows = 256;
            int rowBytes = 256 * 2;
            int heads = 8;
            int half = rows / heads / 2;
            for (int r = 0; r < rows; r++) {
                // GGUF row (head h, pair i, member j) = HF row (head h, member j, pair i)
                int h = r / (2 * half);
                int i = (r % (2 * half)) / 2;
                int j = r % 2;
                int hfRow = h * 2 * half + j * half + i;
                assertEquals(-1, gq.asSlice((long) r * rowBytes, rowBytes).mismatch(hq.asSlice((long) hfRow * rowBytes, rowBytes)), "row " + r);
            }
        }
    }

    private Path folder(String index, String... shardsAndHeaders) throws IOException {
        Path d = Files.createDirectories(dir.resolve("m" + System.nanoTime()));
        if (index != null) {
            Files.writeString(d.resolve(SafetensorsFolder.INDEX), index);
        }
        for (int i = 0; i < shardsAndHeaders.length; i += 2) {
            Files.write(d.resolve(shardsAndHeaders[i]), file(shardsAndHeaders[i + 1], bytes(4)));
        }
        return d;
    }

    private static String refused(Path d) {
        SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFolder.open(d).close());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void brokenIndexesAreRefused() throws IOException {
        String a = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
        String b = "{" + entry("b", "F32", "[1]", 0, 4) + "}";
        String index = "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}";
        try (SafetensorsFolder ok = SafetensorsFolder.open(folder(index, "s1.safetensors", a, "s2.safetensors", b))) {
            assertEquals(2, ok.tensors().size());
        }
        String twice = refused(folder(index, "s1.safetensors", a, "s2.safetensors", "{" + entry("a", "F32", "[1]", 0, 4) + "}"));
        assertTrue(twice.contains("s2.safetensors: tensor 'a': the name is also in s1.safetensors"), twice);
        String wrong = refused(folder("{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}",
                "s1.safetensors", a));
        assertTrue(wrong.contains("tensor 'b': weight_map puts it in s1.safetensors, but no shard has it"), wrong);
        String escape = refused(folder("{\"weight_map\":{\"a\":\"../s1.safetensors\"}}"));
        assertTrue(escape.contains("weight_map.a: shard '../s1.safetensors' is not a file name in this folder"), escape);
        String notJson = refused(folder("{\"weight_map\":"));
        assertTrue(notJson.contains("model.safetensors.index.json: not valid JSON"), notJson);
        String missingShard = refused(folder(index, "s1.safetensors", a));
        assertTrue(missingShard.contains("s2.safetensors"), missingShard);
        String empty = refused(folder(null));
        assertTrue(empty.contains("neither model.safetensors nor model.safetensors.index.json"), empty);
    }
}
