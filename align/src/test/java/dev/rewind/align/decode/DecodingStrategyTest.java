package dev.rewind.align.decode;

import dev.rewind.align.SharedModels;
import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.aligner.Correction;
import dev.rewind.align.dera.Dera;
import dev.rewind.align.dera.SharedVocabulary;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.StreamDecoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decoding strategies on stories260K, each against the engine's own generation loop run by hand. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DecodingStrategyTest {

    private static final int CONTEXT = 256;

    private WorkerPool pool;
    private LoadedModel stories;

    @BeforeAll
    void load() throws Exception {
        pool = new WorkerPool(1);
        stories = ModelLoader.load(SharedModels.model("stories260K.gguf"), pool);
    }

    @AfterAll
    void close() {
        stories.close();
        pool.close();
    }

    /** Everything a listener heard. */
    private static class Heard implements DecodeListener {
        final StringBuilder text = new StringBuilder();
        final List<Integer> tokens = new ArrayList<>();

        @Override
        public void onText(String piece) {
            text.append(piece);
        }

        @Override
        public void onToken(int token) {
            tokens.add(token);
        }

        int[] tokenArray() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    private ModelRunner runner() {
        return new ModelRunner(stories.model(), 1024, 16, KvType.F32);
    }

    private int[] prompt(String text) {
        return stories.tokenizer().encode(text, true, true);
    }

    /** The reference: GenerationContext and a stream decoder, by hand, as the commands did before the interface. */
    private String byHand(int[] prompt, SamplingParams sampling, int maxTokens, List<Integer> tokens) {
        try (ModelRunner r = runner(); GenerationContext g = new GenerationContext(r, stories.tokenizer()::isEndOfGeneration, CONTEXT)) {
            StreamDecoder decoder = stories.tokenizer().newStreamDecoder();
            StringBuilder text = new StringBuilder();
            GenerationContext.Result result = g.generate(prompt, new Sampler(sampling, r.vocabularySize()),
                    new GenerationContext.Options(maxTokens, false, 0), t -> {
                        if (!stories.tokenizer().isEndOfGeneration(t)) {
                            text.append(decoder.accept(t));
                        }
                    });
            for (int t : result.tokens()) {
                tokens.add(t);
            }
            return text.append(decoder.flush()).toString();
        }
    }

    @Test
    void plainDecodingStreamsExactlyWhatTheGenerationLoopMakes() {
        int[] prompt = prompt("Once upon a time");
        SamplingParams sampling = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 42);
        List<Integer> expectedTokens = new ArrayList<>();
        String expected = byHand(prompt, sampling, 48, expectedTokens);
        try (ModelRunner r = runner(); PlainDecoding plain = new PlainDecoding(r, stories.tokenizer(), CONTEXT)) {
            Heard heard = new Heard();
            Decoded d = plain.decode(DecodeRequest.ofTokens(prompt, sampling, 48), heard, new Cancellation());
            assertEquals(expected, d.text());
            assertEquals(expected, heard.text.toString(), "the pieces concatenate to the text");
            assertArrayEquals(expectedTokens.stream().mapToInt(Integer::intValue).toArray(), d.tokens());
            assertArrayEquals(d.tokens(), heard.tokenArray());
            assertEquals(new Usage(prompt.length, d.tokens().length), d.usage());
            assertEquals(d.tokens().length == 48 ? FinishReason.LENGTH : FinishReason.STOP, d.finish());
            assertEquals("plain", d.report().method());
            assertTrue(d.report() instanceof MethodReport.Plain p && p.generation().promptTokens().length == prompt.length);
        }
    }

    @Test
    void aStopStringAcrossTokensEndsTheAnswerBeforeIt() {
        int[] prompt = prompt("Once upon a time");
        List<Integer> allTokens = new ArrayList<>();
        String full = byHand(prompt, SamplingParams.GREEDY, 64, allTokens);
        assertTrue(full.length() > 40, "the greedy continuation is long enough: '" + full + "'");
        String stop = full.substring(20, 26);
        String expected = full.substring(0, full.indexOf(stop));
        try (ModelRunner r = runner(); PlainDecoding plain = new PlainDecoding(r, stories.tokenizer(), CONTEXT)) {
            Heard heard = new Heard();
            Decoded d = plain.decode(DecodeRequest.ofTokens(prompt, SamplingParams.GREEDY, 64).withStop(List.of("\u0000never", stop)),
                    heard, new Cancellation());
            assertEquals(expected, d.text());
            assertEquals(expected, heard.text.toString());
            assertEquals(FinishReason.STOP, d.finish());
            assertTrue(d.tokens().length < allTokens.size(), "generation stopped at the stop string");
            assertArrayEquals(allTokens.subList(0, d.tokens().length).stream().mapToInt(Integer::intValue).toArray(), d.tokens());
        }
    }

    @Test
    void aCancelledRequestStopsAtTheNextTokenAndSaysSo() {
        int[] prompt = prompt("Once upon a time");
        try (ModelRunner r = runner(); PlainDecoding plain = new PlainDecoding(r, stories.tokenizer(), CONTEXT)) {
            Cancellation cancel = new Cancellation();
            Heard heard = new Heard() {
                @Override
                public void onToken(int token) {
                    super.onToken(token);
                    if (tokens.size() == 3) {
                        cancel.cancel();
                    }
                }
            };
            Decoded d = plain.decode(DecodeRequest.ofTokens(prompt, SamplingParams.GREEDY, 64), heard, cancel);
            assertEquals(FinishReason.CANCELLED, d.finish());
            assertEquals(3, d.tokens().length);
            assertEquals(heard.text.toString(), d.text());

        }
    }

    @Test
    void aRequestCancelledDuringALongPromptStopsEvaluatingIt() {
        int[] prompt = prompt("Once upon a time there was a girl. ".repeat(30)); // more than one prefill chunk
        assertTrue(prompt.length > GenerationContext.PREFILL_CHUNK && prompt.length < 1024, "prompt of " + prompt.length);
        try (ModelRunner r = runner()) {
            long[] evaluated = {0};
            Cancellation cancel = new Cancellation();
            dev.rewind.engine.logits.LogitsSource counting = new dev.rewind.engine.logits.LogitsSource() {
                @Override
                public int vocabularySize() {
                    return r.vocabularySize();
                }

                @Override
                public dev.rewind.engine.logits.TokenSequence newSequence() {
                    return r.newSequence();
                }

                @Override
                public dev.rewind.engine.logits.Logits forward(dev.rewind.engine.logits.Batch batch) {
                    evaluated[0] += batch.tokens();
                    cancel.cancel(); // the client goes away during the first chunk
                    return r.forward(batch);
                }
            };
            try (PlainDecoding plain = new PlainDecoding(counting, stories.tokenizer(), 1024)) {
                Decoded none = plain.decode(DecodeRequest.ofTokens(prompt, SamplingParams.GREEDY, 64), DecodeListener.NONE, cancel);
                assertEquals(FinishReason.CANCELLED, none.finish());
                assertEquals(0, none.tokens().length);
                assertEquals("", none.text());
                assertEquals(GenerationContext.PREFILL_CHUNK, evaluated[0], "only the first chunk was evaluated");
            }
        }
    }

    @Test
    void deraAtLambdaOneIsTheAlignedModelAndReportsItsLambda() {
        int[] prompt = prompt("Once upon a time");
        List<Integer> expectedTokens = new ArrayList<>();
        String expected = byHand(prompt, SamplingParams.GREEDY, 32, expectedTokens);
        SharedVocabulary vocabulary = Dera.checkVocabularies("a", stories, "b", stories);
        try (ModelRunner a = runner(); ModelRunner b = runner();
             DeraDecoding dera = new DeraDecoding(a, b, 1.0, vocabulary, Optional.empty(), stories.tokenizer(), CONTEXT)) {
            Heard heard = new Heard();
            Decoded d = dera.decode(DecodeRequest.ofTokens(prompt, SamplingParams.GREEDY, 32), heard, new Cancellation());
            assertEquals(expected, d.text());
            assertEquals(expected, heard.text.toString());
            MethodReport.Dera report = assertInstanceOf(d.report());
            assertEquals(1.0, report.lambda());
            assertEquals(Optional.empty(), report.plausibilityTopP());
            assertEquals("dera", dera.method());
        }
    }

    private static MethodReport.Dera assertInstanceOf(MethodReport r) {
        if (r instanceof MethodReport.Dera d) {
            return d;
        }
        throw new AssertionError("not a DeRa report: " + r);
    }

    @Test
    void theAlignerCorrectsAGivenAnswerAsItsOwnLoopDoes() {
        Aligner.Settings settings = new Aligner.Settings(SamplingParams.GREEDY, 12, false, 0, CONTEXT);
        String question = "What is a cat?";
        String answer = "A cat is a small animal.";
        Correction expected;
        try (ModelRunner r = runner(); Aligner aligner = new Aligner(r, stories.tokenizer(), AlignerTemplate.Builtin.V1, settings)) {
            expected = aligner.correct(question, answer);
        }
        try (ModelRunner r = runner(); Aligner aligner = new Aligner(r, stories.tokenizer(), AlignerTemplate.Builtin.V1, settings);
             AlignerDecoding decoding = new AlignerDecoding(aligner, Optional.empty())) {
            Heard heard = new Heard();
            Decoded d = decoding.correct(decoding.request(question), answer, heard, new Cancellation());
            assertEquals(expected.text(), d.text());
            assertEquals(expected.text(), heard.text.toString(), "streamed without the white space strip() removes");
            assertArrayEquals(expected.result().tokens(), d.tokens());
            assertEquals(new Usage(expected.result().promptTokens().length, expected.result().tokens().length), d.usage());
            MethodReport.Aligner report = (MethodReport.Aligner) d.report();
            assertEquals(answer, report.upstreamAnswer());
            assertEquals(AlignerDecoding.GIVEN, report.source());
            assertEquals(expected.truncated(), report.truncated());
            IllegalStateException noUpstream = assertThrows(IllegalStateException.class, () -> decoding.decode(decoding.request(question)));
            assertTrue(noUpstream.getMessage().contains("no upstream"), noUpstream.getMessage());
        }
    }

    @Test
    void badRequestsAreRefusedNamingTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DecodeRequest.ofTokens(new int[]{1}, SamplingParams.GREEDY, -1));
        assertTrue(e.getMessage().contains("max tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DecodeRequest.ofTokens(new int[]{1}, SamplingParams.GREEDY, 4).withStop(List.of("x", "")));
        assertTrue(e.getMessage().contains("stop string 1"), e.getMessage());
        try (ModelRunner r = runner(); PlainDecoding plain = new PlainDecoding(r, stories.tokenizer(), CONTEXT)) {
            e = assertThrows(IllegalArgumentException.class, () -> plain.decode(DecodeRequest.ofTokens(new int[0], SamplingParams.GREEDY, 4)));
            assertTrue(e.getMessage().contains("no tokens"), e.getMessage());
        }
    }
}
