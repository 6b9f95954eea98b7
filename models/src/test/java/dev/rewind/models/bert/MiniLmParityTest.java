package dev.rewind.models.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * all-MiniLM-L6-v2 run by Rewind against the reference that ONNX Runtime and the Rust tokenizers library
 * computed from the same artifact ({@code minilm-reference.json}, recorded by
 * {@code src/test/reference/RecordMiniLmReference.java}; see the README there).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MiniLmParityTest {

    private BertEmbedder embedder;
    private JsonNode reference;

    @BeforeAll
    void load() throws IOException {
        embedder = BertEmbedder.miniLm(2);
        try (InputStream in = getClass().getResourceAsStream("minilm-reference.json")) {
            reference = new ObjectMapper().readTree(in);
        }
    }

    @AfterAll
    void close() {
        embedder.close();
    }

    @Test
    void shapeReadFromTheGraph() {
        BertConfig c = embedder.config();
        assertEquals(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f), c);
        assertEquals(384, embedder.dimension());
        assertEquals(256, embedder.maxTokens());
    }

    @Test
    void tokenIdsMatchTheRustTokenizer() {
        int checked = 0;
        for (String part : List.of("sentences", "tokenizer_only")) {
            for (JsonNode s : reference.get(part)) {
                String text = s.get("text").asText();
                assertArrayEquals(ints(s.get("ids")), embedder.tokenize(text), () -> "ids of " + text);
                checked++;
            }
        }
        assertEquals(34, checked);
    }

    @Test
    void embeddingsMatchOnnxRuntime() {
        List<String> texts = new ArrayList<>();
        for (JsonNode s : reference.get("sentences")) {
            texts.add(s.get("text").asText());
        }
        Embedder.Embeddings got = embedder.embed(texts);
        int i = 0;
        double worstDiff = 0;
        double worstCosine = 1;
        for (JsonNode s : reference.get("sentences")) {
            float[] want = floats(s.get("embedding"));
            float[] have = got.vectors()[i];
            assertEquals(want.length, have.length);
            double maxDiff = 0;
            for (int d = 0; d < want.length; d++) {
                maxDiff = Math.max(maxDiff, Math.abs(want[d] - have[d]));
            }
            double cosine = dot(want, have) / Math.sqrt(dot(want, want) * dot(have, have));
            String text = texts.get(i);
            double diff = maxDiff;
            assertTrue(maxDiff <= 1e-4, () -> text + ": max |Δ| " + diff);
            assertTrue(cosine >= 0.99999, () -> text + ": cosine " + cosine);
            assertEquals(s.get("ids").size(), got.tokens()[i], "token count of " + text);
            assertEquals(1.0, dot(have, have), 1e-5, "unit length");
            worstDiff = Math.max(worstDiff, maxDiff);
            worstCosine = Math.min(worstCosine, cosine);
            i++;
        }
        System.out.printf("MiniLM vs ONNX Runtime over %d sentences: max |Δ| %.3g, min cosine %.9f%n", i, worstDiff, worstCosine);
    }

    @Test
    void batchedEqualsAloneBitForBit() {
        List<String> texts = new ArrayList<>();
        for (JsonNode s : reference.get("sentences")) {
            texts.add(s.get("text").asText());
        }
        float[][] together = embedder.embed(texts).vectors();
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(embedder.embed(List.of(texts.get(i))).vectors()[0], together[i], texts.get(i));
        }
    }

    @Test
    void similarSentencesAreCloseAndUnrelatedOnesAreNot() {
        float[][] v = embedder.embed(List.of("The cat sits on the mat.", "A cat is sitting on a mat.",
                "Quarterly revenue of the semiconductor division fell by eight percent.",
                "How do I bake sourdough bread at home?", "What is the recipe for homemade sourdough bread?")).vectors();
        assertTrue(dot(v[0], v[1]) > 0.9, "paraphrase: " + dot(v[0], v[1]));
        assertTrue(dot(v[3], v[4]) > 0.7, "same question: " + dot(v[3], v[4]));
        assertTrue(Math.abs(dot(v[0], v[2])) < 0.2, "unrelated: " + dot(v[0], v[2]));
        assertTrue(Math.abs(dot(v[2], v[3])) < 0.2, "unrelated: " + dot(v[2], v[3]));
    }

    @Test
    void longTextsAreTruncatedToTheModelsLength() {
        String longText = "word ".repeat(600);
        Embedder.Embeddings e = embedder.embed(List.of(longText, "word ".repeat(254), "word ".repeat(300)));
        assertArrayEquals(new int[] {256, 256, 256}, e.tokens());
        assertArrayEquals(e.vectors()[1], e.vectors()[0]);
        assertArrayEquals(e.vectors()[1], e.vectors()[2]);
    }

    @Test
    void geluIsTheErfForm() {
        for (double x = -7; x <= 7; x += 0.37) {
            double viaErfc = 1 - erfcByIntegration(x);
            assertEquals(viaErfc, BertEncoder.erf(x), 1.2e-7, "erf(" + x + ")");
        }
        assertEquals(0.8427007929497149, BertEncoder.erf(1), 1.2e-7);
        assertEquals(-0.9999779095030014, BertEncoder.erf(-3), 1.2e-7);
        assertEquals(0, BertEncoder.erf(0), 1.2e-7);
        float[] g = {1f, -1f, 0f};
        BertEncoder.gelu(g, 3);
        assertEquals(0.8413447460685429, g[0], 1e-7);
        assertEquals(-0.15865525393145707, g[1], 1e-7);
        assertEquals(0, g[2]);
    }

    /** erfc(x) = 2/√π ∫ₓ^∞ e^(−t²) dt by Simpson's rule, an independent reference for {@link BertEncoder#erf}. */
    private static double erfcByIntegration(double x) {
        double upper = 9;
        int n = 200_000;
        double h = (upper - x) / n;
        double sum = Math.exp(-x * x) + Math.exp(-upper * upper);
        for (int i = 1; i < n; i++) {
            double t = x + i * h;
            sum += (i % 2 == 1 ? 4 : 2) * Math.exp(-t * t);
        }
        return sum * h / 3 * 2 / Math.sqrt(Math.PI);
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }
}
