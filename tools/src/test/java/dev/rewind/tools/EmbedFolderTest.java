package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.models.bert.BertHfExport;
import dev.rewind.models.bert.Embedder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * {@code rewind embed --model DIR} over Hugging Face folders of a BERT encoder (the bundled MiniLM written by the
 * models' test-side {@link BertHfExport}): the same vectors as the bundled model, the folder's pooling honoured,
 * and a folder Rewind cannot run refused in one line with exit code 1 (by {@code embed}, and by {@code serve
 * --embedding-model} before it listens).
 */
class EmbedFolderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TEXTS = List.of("A cat is sitting on a mat.", "How do I bake sourdough bread at home?",
            "Quarterly revenue of the semiconductor division fell by eight percent.");

    @Test
    void aSentenceTransformersFolderEmbedsAsTheBundledModel(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("all-MiniLM-L6-v2");
        BertHfExport.writeMiniLm(model, BertHfExport.Options.miniLm().shards(2));
        Path in = dir.resolve("in.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < TEXTS.size(); i++) {
            lines.append(JSON.writeValueAsString(java.util.Map.of("id", "t" + i, "text", TEXTS.get(i)))).append('\n');
        }
        Files.writeString(in, lines, StandardCharsets.UTF_8);
        Path out = dir.resolve("out.jsonl");
        CliTest.Run r = CliTest.run("embed", "--model", model.toString(), "--input", in.toString(), "--output", out.toString(), "-t", "2");
        assertEquals(0, r.exit(), r.err());
        Embedder.Embeddings want;
        try (BertEmbedder bundled = BertEmbedder.miniLm(1)) {
            want = bundled.embed(TEXTS);
        }
        List<String> got = Files.readAllLines(out);
        assertEquals(TEXTS.size(), got.size());
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode line = JSON.readTree(got.get(i));
            assertEquals("t" + i, line.get("id").asText());
            assertEquals(want.tokens()[i], line.get("tokens").asInt());
            assertEquals(want.vectors()[i].length, line.get("embedding").size());
            for (int d = 0; d < want.vectors()[i].length; d++) {
                assertEquals(want.vectors()[i][d], (float) line.get("embedding").get(d).asDouble(), 0f, TEXTS.get(i) + " dimension " + d);
            }
        }
    }

    @Test
    void theFoldersClsPoolingWithoutNormalizeIsWhatTheCommandPrints(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("cls");
        BertHfExport.writeMiniLm(model, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.BF16)
                .pooling("pooling_mode_cls_token", false));
        CliTest.Run r = CliTest.run("embed", "--model", model.toString(), "--text", TEXTS.getFirst(), "-t", "2");
        assertEquals(0, r.exit(), r.err());
        float[] first;
        try (BertEmbedder hf = BertEmbedder.open(model, 1)) {
            first = hf.tokenStates(TEXTS.getFirst())[0];
        }
        JsonNode line = JSON.readTree(r.out().strip());
        for (int d = 0; d < first.length; d++) {
            assertEquals(first[d], (float) line.get("embedding").get(d).asDouble(), 0f, "dimension " + d + " is the raw [CLS] state");
        }
    }

    @Test
    void aFolderRewindCannotRunIsOneLineAndExitCodeOne(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("m");
        BertHfExport.writeMiniLm(model, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.F16)
                .config("position_embedding_type", "relative_key"));
        refused(model, model.resolve("config.json") + ": position_embedding_type: 'relative_key' is not absolute");
        String config = Files.readString(model.resolve("config.json")).replace("relative_key", "absolute");
        Files.writeString(model.resolve("config.json"), config.replace("\"bert\"", "\"distilbert\""));
        refused(model, model.resolve("config.json") + ": model_type: 'distilbert' is not bert");
        Files.writeString(model.resolve("config.json"), config);
        Files.writeString(model.resolve("1_Pooling/config.json"), "{\"pooling_mode_weightedmean_tokens\": true}");
        refused(model, model.resolve("1_Pooling/config.json") + ": pooling_mode_weightedmean_tokens: this pooling is not one Rewind computes");
        Files.writeString(model.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        refused(model, model.resolve("tokenizer.json") + ": model.type: expected a WordPiece model, found 'Unigram'");
        Path missing = dir.resolve("missing");
        BertHfExport.writeMiniLm(missing, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.F16)
                .drop("encoder.layer.1.attention.self.key.weight"));
        refused(missing, missing.resolve("model.safetensors") + ": tensor encoder.layer.1.attention.self.key.weight is missing");
        CliTest.Run serve = CliTest.run("serve", "-m", CliTest.shared().resolve("stories260K.gguf").toString(), "--port", "0",
                "--embedding-model", "minilm=" + missing);
        assertEquals(1, serve.exit(), serve.err());
        CliTest.assertOneLineError(serve, "tensor encoder.layer.1.attention.self.key.weight is missing");
        assertEquals(1, serve.err().lines().count(), "serve refuses the encoder before it listens: " + serve.err());
    }

    @Test
    void serveEmbeddingModelAnswersWithTheFoldersVectorsUnderItsName(@TempDir Path dir) throws Exception {
        Path folder = dir.resolve("cls-raw");
        BertHfExport.writeMiniLm(folder, BertHfExport.Options.miniLm().dtype(BertHfExport.Dtype.BF16)
                .pooling("pooling_mode_cls_token", false));
        Embedder.Embeddings want;
        try (BertEmbedder direct = BertEmbedder.open(folder, 1)) {
            want = direct.embed(TEXTS);
        }
        try (Embedder unnamed = ServeCommand.openEncoder(folder.toString(), 1)) {
            assertEquals("cls-raw", ServeCommand.servedAs(folder.toString(), unnamed).name(), "the folder's name by default");
        }
        Path stories = CliTest.shared().resolve("stories260K.gguf");
        try (dev.rewind.engine.parallel.WorkerPool pool = new dev.rewind.engine.parallel.WorkerPool(1);
             dev.rewind.models.LoadedModel model = dev.rewind.models.ModelLoader.load(stories, pool, dev.rewind.engine.tensor.Precision.FAST);
             Embedder encoder = ServeCommand.openEncoder("enc=" + folder, 1);
             dev.rewind.server.RewindServer server = dev.rewind.server.RewindServer.start(
                     List.of(new dev.rewind.server.ServedModel("stories", model, null)), ServeCommand.servedAs("enc=" + folder, encoder),
                     dev.rewind.server.ServerOptions.defaults(128).withPort(0), 64, 16, dev.rewind.engine.kv.KvType.F32, _ -> { })) {
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + server.port() + "/v1/embeddings"))
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(
                            java.util.Map.of("model", "enc", "input", TEXTS)))).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals("enc", body.get("model").asText());
            for (int i = 0; i < TEXTS.size(); i++) {
                JsonNode v = body.get("data").get(i).get("embedding");
                for (int d = 0; d < want.vectors()[i].length; d++) {
                    assertEquals(want.vectors()[i][d], (float) v.get(d).asDouble(), 0f, TEXTS.get(i) + " dimension " + d);
                }
            }
            assertEquals(want.totalTokens(), body.get("usage").get("prompt_tokens").asLong());
        }
    }

    private static void refused(Path model, String message) {
        CliTest.Run r = CliTest.run("embed", "--model", model.toString(), "--text", "x", "-t", "1");
        assertEquals(1, r.exit(), r.err());
        CliTest.assertOneLineError(r, message);
        assertEquals(1, r.err().lines().count(), r.err());
        assertFalse(r.out().contains("embedding"), r.out());
    }
}
