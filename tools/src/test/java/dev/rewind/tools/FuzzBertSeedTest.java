package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.tools.fuzz.BertSeed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The BERT folder the fuzz suite's safetensors target mutates is itself a folder {@code rewind embed} runs (so its
 * mutants test the loader's refusals, not a seed that never loads), and it is the same bytes every time.
 */
class FuzzBertSeedTest {

    @Test
    void theSeedFolderEmbedsAndIsReproducible(@TempDir Path dir) throws IOException {
        Path seed = BertSeed.write(dir.resolve("a"));
        CliTest.Run r = CliTest.run("embed", "--model", seed.toString(), "--text", "Once upon a time", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        JsonNode line = new ObjectMapper().readTree(r.out().strip());
        assertEquals(8, line.get("embedding").size());
        double norm = 0;
        for (JsonNode v : line.get("embedding")) {
            norm += v.asDouble() * v.asDouble();
        }
        assertEquals(1.0, norm, 1e-5, "modules.json's Normalize");
        assertEquals(6, line.get("tokens").asInt(), "[CLS] once upon a time [SEP]");
        Path again = BertSeed.write(dir.resolve("b"));
        for (String f : new String[] {"model.safetensors", "config.json", "modules.json", "1_Pooling/config.json"}) {
            assertArrayEquals(java.nio.file.Files.readAllBytes(seed.resolve(f)), java.nio.file.Files.readAllBytes(again.resolve(f)), f);
        }
    }
}
