package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.models.bert.BertEmbedder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code rewind embed} on the bundled MiniLM: output lines, ids, token counts and refused lines. */
class EmbedCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void oneTextGivesOneLineWithTheEmbedderVector() throws IOException {
        CliTest.Run r = CliTest.run("embed", "--text", "The cat sits on the mat.", "-t", "2");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(1, lines.size());
        JsonNode line = JSON.readTree(lines.getFirst());
        assertEquals(1, line.get("id").asInt());
        assertEquals(9, line.get("tokens").asInt());
        float[] want;
        try (BertEmbedder e = BertEmbedder.miniLm(1)) {
            want = e.embed(List.of("The cat sits on the mat.")).vectors()[0];
        }
        assertEquals(384, line.get("embedding").size());
        for (int d = 0; d < want.length; d++) {
            assertEquals(want[d], (float) line.get("embedding").get(d).asDouble(), 0f, "dimension " + d);
        }
    }

    @Test
    void aJsonlFileKeepsOrderAndIdsAndRefusesBadLinesByLineAndField(@TempDir Path dir) throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, """
                {"id": "a", "text": "A cat is sitting on a mat."}
                {"id": "b", "text": 42}
                {"text": "no id here"}

                {"id": "d"}
                not json
                {"id": "e", "text": ""}
                """, StandardCharsets.UTF_8);
        Path out = dir.resolve("out.jsonl");
        CliTest.Run r = CliTest.run("embed", "--input", in.toString(), "--output", out.toString(), "-t", "2");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("line 2: field \"text\" is a number, not a string"), r.err());
        assertTrue(r.err().contains("line 5 has no field \"text\""), r.err());
        assertTrue(r.err().contains("line 6 is not JSON"), r.err());
        assertTrue(r.err().contains("3 of 6 lines"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        List<JsonNode> lines = Files.readAllLines(out).stream().map(EmbedCommandTest::parse).toList();
        assertEquals(6, lines.size());
        assertEquals("a", lines.get(0).get("id").asText());
        assertEquals(384, lines.get(0).get("embedding").size());
        assertEquals("b", lines.get(1).get("id").asText());
        assertTrue(lines.get(1).has("error") && !lines.get(1).has("embedding"));
        assertEquals("line:3", lines.get(2).get("id").asText(), "a line without id is named by its line number");
        assertTrue(lines.get(2).has("embedding"));
        assertEquals("d", lines.get(3).get("id").asText());
        assertTrue(lines.get(4).has("error"));
        assertEquals(2, lines.get(5).get("tokens").asInt(), "the empty text is [CLS] [SEP]");
    }

    @Test
    void missingFilesAndNonOnnxModelsAreOneLine(@TempDir Path dir) throws IOException {
        CliTest.Run r = CliTest.run("embed", "--input", dir.resolve("none.jsonl").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("rewind embed: no such file:"), r.err());
        Path other = dir.resolve("m.bin");
        Files.writeString(other, "weights");
        r = CliTest.run("embed", "--model", other.toString(), "--text", "x");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("not a .gguf or .onnx file"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        Path gguf = dir.resolve("m.gguf");
        Files.writeString(gguf, "GGUF");
        r = CliTest.run("embed", "--model", gguf.toString(), "--text", "x");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("rewind embed: bad GGUF file:"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        Path onnx = dir.resolve("m.onnx");
        Files.writeString(onnx, "not protobuf");
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        r = CliTest.run("embed", "--model", onnx.toString(), "--text", "x");
        assertEquals(1, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        r = CliTest.run("embed", "--text", "x", "--input", "y");
        assertEquals(2, r.exit(), "--text and --input exclude each other");
    }

    private static JsonNode parse(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
