package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.align.decode.Cancellation;
import dev.rewind.align.decode.DecodeListener;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.FinishReason;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.align.decode.RainDecoding;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RAIN through the decoding interface, on a {@link FakeModel}, against {@link Rain#run(String, boolean)}. */
class RainDecodingTest {

    private static final String PROMPT = "Once upon a time";
    private static Tokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() throws IOException {
        tokenizer = ModelLoader.loadTokenizer(SharedModels.model("stories260K.gguf"));
    }

    private static Rain rain(FakeModel model, RainParams params) {
        return new Rain(model, tokenizer, text -> Judgement.of(text.length() % 3 == 0 ? -1 : 1), new ScriptedEmbedder(64), params,
                Conversation.RAW, 4096);
    }

    private static final class Heard implements DecodeListener {
        final StringBuilder text = new StringBuilder();
        final List<Integer> tokens = new ArrayList<>();
        int pieces;

        @Override
        public void onText(String piece) {
            text.append(piece);
            pieces++;
        }

        @Override
        public void onToken(int token) {
            tokens.add(token);
        }
    }

    @Test
    void theAnswerStreamsACommitAtATimeAndIsRainsOwn() {
        RainParams params = RainParams.builder().seed(7).maxNewTokens(12).build();
        try (FakeModel model = new FakeModel(512, 4, 4096, FakeModel.peaked(512, 2f))) {
            RainResult expected = rain(model, params).run(PROMPT, false);
            Heard heard = new Heard();
            Decoded d = new RainDecoding(rain(model, params), Optional.empty(), false)
                    .decode(DecodeRequest.ofText(PROMPT, SamplingParams.GREEDY, Integer.MAX_VALUE), heard, new Cancellation());
            assertEquals(expected.answer(), d.text());
            assertEquals(expected.answer(), heard.text.toString());
            assertTrue(heard.pieces > 1, "streamed in several pieces, got " + heard.pieces);
            assertArrayEquals(expected.answerTokens(), d.tokens());
            assertArrayEquals(expected.answerTokens(), heard.tokens.stream().mapToInt(Integer::intValue).toArray());
            assertEquals(FinishReason.LENGTH, d.finish());
            assertEquals(expected.promptTokens().length, d.usage().promptTokens());
            MethodReport.Rain report = (MethodReport.Rain) d.report();
            assertEquals(expected.searches(), report.searches());
            assertTrue(report.overheadSeconds().isEmpty(), "no plain baseline was asked for");
        }
    }

    @Test
    void theRequestsCapAndCancellationStopTheSearch() {
        RainParams params = RainParams.builder().seed(7).maxNewTokens(40).build();
        try (FakeModel model = new FakeModel(512, 4, 4096, FakeModel.peaked(512, 2f))) {
            Decoded capped = new RainDecoding(rain(model, params), Optional.empty(), false)
                    .decode(DecodeRequest.ofText(PROMPT, SamplingParams.GREEDY, 3));
            assertEquals(3, capped.tokens().length);
            assertEquals(FinishReason.LENGTH, capped.finish());

            Cancellation cancel = new Cancellation();
            DecodeListener cancelAtFirstCommit = new DecodeListener() {
                @Override
                public void onToken(int token) {
                    cancel.cancel();
                }
            };
            Decoded cancelled = new RainDecoding(rain(model, params), Optional.of(model), false)
                    .decode(DecodeRequest.ofText(PROMPT, SamplingParams.GREEDY, Integer.MAX_VALUE), cancelAtFirstCommit, cancel);
            assertEquals(FinishReason.CANCELLED, cancelled.finish());
            assertTrue(cancelled.tokens().length > 0 && cancelled.tokens().length < 40, "stopped after its first commit");
            MethodReport.Rain report = (MethodReport.Rain) cancelled.report();
            assertEquals(StopReason.HALTED, report.result().stop());
            assertEquals(0, report.plain().tokens(), "no baseline for a cancelled request");
        }
    }
}
