package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Alignment as a request option, through the decoding-strategy interface: DeRa at λ = 1 is the
 * served model alone and at λ = 0 the reference alone; RAIN reports its search and streams what it
 * commits; the Aligner corrects a given answer and says so.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class AlignmentTest {

    private Fixture f;
    private LoadedModel reference;

    @BeforeAll
    void start() throws Exception {
        f = new Fixture();
        reference = ModelLoader.load(Fixture.shared().resolve("models/tiny-llama-F32.gguf"), f.pool, Precision.FAST);
        f.server = RewindServer.start(List.of(new ServedModel("stories", f.model, f.chat), new ServedModel("ref", reference, null)),
                f.defaults(), 512, 16, KvType.F32, f.log::add);
    }

    @AfterAll
    void stop() throws Exception {
        f.close();
        reference.close();
    }

    private String dera(String prompt, double lambda) {
        return "{\"prompt\":" + Fixture.quote(prompt) + ",\"max_tokens\":20,\"temperature\":0,"
                + "\"rewind\":{\"method\":\"dera\",\"reference\":\"ref\",\"lambda\":" + lambda + "}}";
    }

    @Test
    void deraAtTheEndsOfLambdaIsOneModelAlone() throws Exception {
        String prompt = "Once upon a time";
        int[] ids = f.completionPrompt(prompt);
        JsonNode aligned = Fixture.JSON.readTree(f.post("/v1/completions", dera(prompt, 1.0)).body());
        assertEquals(f.greedy(ids, 20), aligned.at("/choices/0/text").asText(), "λ = 1: the served model's greedy answer");
        assertEquals("dera", aligned.at("/rewind/method").asText());
        assertEquals(1.0, aligned.at("/rewind/lambda").asDouble());

        String referenceAlone;
        try (var runner = new dev.rewind.models.ModelRunner(reference.model(), 128, 16, KvType.F32);
             var g = new dev.rewind.engine.generate.GenerationContext(runner, reference.tokenizer()::isEndOfGeneration, 128)) {
            StringBuilder text = new StringBuilder();
            var decoder = reference.tokenizer().newStreamDecoder();
            g.generate(ids, new dev.rewind.engine.sampling.Sampler(SamplingParams.GREEDY, runner.vocabularySize()),
                    new dev.rewind.engine.generate.GenerationContext.Options(20, false, 0), t -> {
                        if (!reference.tokenizer().isEndOfGeneration(t)) {
                            text.append(decoder.accept(t));
                        }
                    });
            referenceAlone = text.append(decoder.flush()).toString();
        }
        JsonNode mixed = Fixture.JSON.readTree(f.post("/v1/completions", dera(prompt, 0.0)).body());
        assertEquals(referenceAlone, mixed.at("/choices/0/text").asText(), "λ = 0: the reference model's greedy answer");
        Fixture.Streamed s = f.stream("/v1/completions", dera(prompt, 1.0).replace("\"temperature\":0,", "\"temperature\":0,\"stream\":true,"), 1);
        assertEquals(aligned.at("/choices/0/text").asText(), s.texts()[0], "streamed DeRa");
    }

    @Test
    void rainReportsItsSearchAndStreamsTheSameAnswer() throws Exception {
        String body = "{\"prompt\":\"Human: Tell me a story.\\nAssistant:\",\"max_tokens\":12,\"seed\":7,"
                + "\"rewind\":{\"method\":\"rain\",\"max_searches\":3}}";
        HttpResponse<String> r = f.post("/v1/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Fixture.JSON.readTree(r.body());
        assertEquals("rain", json.at("/rewind/method").asText());
        assertTrue(json.at("/rewind/searches").asInt() > 0, r.body());
        assertTrue(json.at("/rewind/judge_tokens").asLong() > 0, r.body());
        Fixture.Streamed s = f.stream("/v1/completions", body.replace("\"seed\":7,", "\"seed\":7,\"stream\":true,"), 1);
        assertEquals(json.at("/choices/0/text").asText(), s.texts()[0], "the same seed streams the same answer");
        assertEquals("rain", s.chunks().getLast().at("/rewind/method").asText(), "the report comes in the last chunk");
    }

    @Test
    void alignerCorrectsAGivenAnswerAndSaysWhereItCameFrom() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"What is a cat?\"}],\"max_tokens\":10,\"temperature\":0,"
                + "\"rewind\":{\"method\":\"aligner\",\"aligner\":\"stories\",\"answer\":\"A cat is a dog.\"}}";
        HttpResponse<String> r = f.post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Fixture.JSON.readTree(r.body());
        assertEquals("input", json.at("/rewind/source").asText());
        assertEquals("A cat is a dog.", json.at("/rewind/upstream_answer").asText());
        assertTrue(json.at("/usage/completion_tokens").asInt() > 0);
    }

    @Test
    void badAlignmentRequestsAre400() throws Exception {
        for (String[] c : new String[][]{
                {"{\"prompt\":\"x\",\"rewind\":{\"method\":\"dera\",\"reference\":\"nobody\",\"lambda\":0.5}}", "rewind.reference"},
                {"{\"prompt\":\"x\",\"rewind\":{\"method\":\"dera\",\"reference\":\"ref\"}}", "rewind.lambda"},
                {"{\"prompt\":\"x\",\"n\":2,\"rewind\":{\"method\":\"dera\",\"reference\":\"ref\",\"lambda\":0.5}}", "n"},
                {"{\"prompt\":\"x\",\"rewind\":{\"method\":\"rain\",\"preset\":\"zz\"}}", "rewind.preset"},
                {"{\"prompt\":\"x\",\"rewind\":{\"method\":\"aligner\"}}", "rewind.aligner"},
                {"{\"prompt\":\"x\",\"rewind\":\"rain\"}", "rewind"},
                {"{\"model\":\"ref\",\"prompt\":\"x\"}", "model"}}) {
            HttpResponse<String> r = f.post("/v1/completions", c[0]);
            assertEquals(400, r.statusCode(), c[0] + " -> " + r.body());
            assertEquals(c[1], Fixture.JSON.readTree(r.body()).at("/error/param").asText(), r.body());
        }
    }
}
