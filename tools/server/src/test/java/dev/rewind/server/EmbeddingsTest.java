package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.openai.OpenAiEmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.rewind.engine.kv.KvType;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.models.bert.Embedder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code POST /v1/embeddings}: the vectors and token counts of the {@link Embedder} itself, in order, and its refusals. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class EmbeddingsTest {

    private static final String NAME = "all-MiniLM-L6-v2";
    private static final List<String> TEXTS = List.of("The cat sat on the mat.", "A dog barked at the mailman all afternoon long.",
            "Quantum chromodynamics", "ünïcödé and emoji 🙂");

    private Fixture f;
    private Embedder reference;
    private final AtomicInteger loads = new AtomicInteger();

    @BeforeAll
    void start() throws Exception {
        f = new Fixture();
        EmbeddingModel counted = new EmbeddingModel(NAME, () -> {
            loads.incrementAndGet();
            return BertEmbedder.miniLm(1);
        });
        f.server = RewindServer.start(List.of(new ServedModel("stories", f.model, f.chat)), counted, f.defaults(), 256, 16, KvType.F32,
                f.log::add);
        assertEquals(0, loads.get(), "not loaded before the first embeddings request");
        reference = BertEmbedder.miniLm(1);
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
        reference.close();
    }

    private JsonNode ok(String body) throws Exception {
        HttpResponse<String> r = f.post("/v1/embeddings", body);
        assertEquals(200, r.statusCode(), r.body());
        return Fixture.JSON.readTree(r.body());
    }

    private static float[] floats(JsonNode array) {
        float[] v = new float[array.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) array.get(i).asDouble();
        }
        return v;
    }

    private static float[] base64(String s) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(s)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getFloat();
        }
        return v;
    }

    private static String list(List<String> texts) {
        StringBuilder sb = new StringBuilder("[");
        for (String t : texts) {
            sb.append(sb.length() > 1 ? "," : "").append(Fixture.quote(t));
        }
        return sb.append(']').toString();
    }

    @Test
    void aListGivesTheEmbeddersVectorsAndTokenCountsInOrder() throws Exception {
        Embedder.Embeddings expected = reference.embed(TEXTS);
        JsonNode r = ok("{\"model\":\"" + NAME + "\",\"input\":" + list(TEXTS) + "}");
        assertEquals("list", r.get("object").asText());
        assertEquals(NAME, r.get("model").asText());
        assertEquals(TEXTS.size(), r.get("data").size());
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode d = r.get("data").get(i);
            assertEquals("embedding", d.get("object").asText());
            assertEquals(i, d.get("index").asInt());
            assertEquals(384, d.get("embedding").size());
            assertArrayEquals(expected.vectors()[i], floats(d.get("embedding")), "text " + i);
        }
        assertEquals(expected.totalTokens(), r.at("/usage/prompt_tokens").asLong());
        assertEquals(expected.totalTokens(), r.at("/usage/total_tokens").asLong());
        assertEquals(1, loads.get(), "loaded once, on demand");
    }

    @Test
    void aStringInBase64DecodesToTheEmbeddersVector() throws Exception {
        String text = TEXTS.get(1);
        Embedder.Embeddings expected = reference.embed(List.of(text));
        JsonNode r = ok("{\"input\":" + Fixture.quote(text) + ",\"encoding_format\":\"base64\"}");
        assertEquals(1, r.get("data").size());
        assertArrayEquals(expected.vectors()[0], base64(r.at("/data/0/embedding").asText()));
        assertEquals(expected.tokens()[0], r.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void reversedInputGivesReversedVectors() throws Exception {
        List<String> reversed = TEXTS.reversed();
        JsonNode forward = ok("{\"input\":" + list(TEXTS) + "}");
        JsonNode backward = ok("{\"input\":" + list(reversed) + "}");
        for (int i = 0; i < TEXTS.size(); i++) {
            assertArrayEquals(floats(forward.at("/data/" + i + "/embedding")),
                    floats(backward.at("/data/" + (TEXTS.size() - 1 - i) + "/embedding")), "text " + i);
        }
    }

    @Test
    void theModelIsListed() throws Exception {
        JsonNode models = Fixture.JSON.readTree(f.get("/v1/models").body());
        boolean found = false;
        for (JsonNode m : models.get("data")) {
            found |= m.get("id").asText().equals(NAME);
        }
        assertTrue(found, models.toString());
    }

    @Test
    void badRequestsAreOpenAiErrors() throws Exception {
        String many = list(java.util.Collections.nCopies(EmbeddingsApi.MAX_INPUTS + 1, "a"));
        List<String[]> cases = List.of(
                new String[]{"{}", "400", "input is required"},
                new String[]{"{\"input\":\"\"}", "400", "empty string"},
                new String[]{"{\"input\":[]}", "400", "empty list"},
                new String[]{"{\"input\":[\"a\",\"\"]}", "400", "input[1] is an empty string"},
                new String[]{"{\"input\":42}", "400", "a number"},
                new String[]{"{\"input\":[\"a\",{\"x\":1}]}", "400", "input[1] must be a string, got an object"},
                new String[]{"{\"input\":[1,2,3]}", "400", "token-id input is not supported"},
                new String[]{"{\"input\":[[1,2],[3]]}", "400", "token-id input is not supported"},
                new String[]{"{\"input\":\"a\",\"encoding_format\":\"int8\"}", "400", "encoding_format"},
                new String[]{"{\"input\":\"a\",\"model\":\"stories\"}", "404", "not 'stories'"},
                new String[]{"{\"input\":" + many + "}", "400", "the limit is " + EmbeddingsApi.MAX_INPUTS},
                new String[]{"{\"input\":\"a\"", "400", "not valid JSON"},
                new String[]{"{\"input\":" + Fixture.quote("x".repeat((1 << 20) + 10)) + "}", "413", "limit"});
        for (String[] c : cases) {
            HttpResponse<String> r = f.post("/v1/embeddings", c[0]);
            String what = c[0].length() > 80 ? c[0].substring(0, 80) : c[0];
            assertEquals(Integer.parseInt(c[1]), r.statusCode(), what + " -> " + r.body());
            JsonNode error = Fixture.JSON.readTree(r.body()).get("error");
            assertTrue(error.get("message").asText().contains(c[2]), what + " -> " + r.body());
        }
        assertEquals(405, f.get("/v1/embeddings").statusCode());
    }

    @Test
    void langChain4jsOpenAiEmbeddingModelGetsTheEmbeddersVectors() {
        OpenAiEmbeddingModel model = OpenAiEmbeddingModel.builder().baseUrl("http://127.0.0.1:" + f.server.port() + "/v1")
                .apiKey("unused").modelName(NAME).build();
        Response<List<Embedding>> r = model.embedAll(TEXTS.stream().map(TextSegment::from).toList());
        Embedder.Embeddings expected = reference.embed(TEXTS);
        assertEquals(TEXTS.size(), r.content().size());
        for (int i = 0; i < TEXTS.size(); i++) {
            assertArrayEquals(expected.vectors()[i], r.content().get(i).vector(), "text " + i);
        }
        assertEquals(expected.totalTokens(), (long) r.tokenUsage().inputTokenCount());
    }
}
