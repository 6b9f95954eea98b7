package dev.rewind.langchain4j;

import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.engine.sampling.SamplingParams;

import java.security.SecureRandom;
import java.util.List;

/**
 * OpenAI-like request parameters as a Rewind {@link DecodeRequest}. Unset values are OpenAI's
 * defaults (temperature 1, top-p 1, no top-k), so a client gets what it gets from OpenAI's API; a value
 * out of range, or a feature Rewind does not have, is an exception naming the parameter.
 */
final class RequestParameters {

    private RequestParameters() {
    }

    static DecodeRequest decodeRequest(ChatRequestParameters p, String text, int[] promptIds, int defaultMaxTokens) {
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("toolSpecifications: Rewind does not call tools");
        }
        ResponseFormat format = p.responseFormat();
        if (format != null && format.type() != ResponseFormatType.TEXT) {
            throw new UnsupportedFeatureException("responseFormat " + format.type() + ": Rewind generates plain text only");
        }
        if (p.frequencyPenalty() != null && p.frequencyPenalty() != 0) {
            throw new UnsupportedFeatureException("frequencyPenalty " + p.frequencyPenalty()
                    + ": Rewind has llama.cpp's repeatPenalty instead (RewindChatRequestParameters)");
        }
        if (p.presencePenalty() != null && p.presencePenalty() != 0) {
            throw new UnsupportedFeatureException("presencePenalty " + p.presencePenalty()
                    + ": Rewind has llama.cpp's repeatPenalty instead (RewindChatRequestParameters)");
        }
        double temperature = p.temperature() != null ? p.temperature() : 1.0;
        if (!(temperature >= 0 && temperature <= 100)) {
            throw new InvalidRequestException("temperature must be between 0 and 100 (0 is greedy), got " + p.temperature());
        }
        double topP = p.topP() != null ? p.topP() : 1.0;
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidRequestException("topP must be in (0, 1], got " + p.topP());
        }
        int topK = p.topK() != null ? p.topK() : 0;
        if (topK < 0) {
            throw new InvalidRequestException("topK must be >= 0 (0 disables it), got " + topK);
        }
        int maxTokens = p.maxOutputTokens() != null ? p.maxOutputTokens() : defaultMaxTokens;
        if (maxTokens < 1) {
            throw new InvalidRequestException("maxOutputTokens must be >= 1, got " + maxTokens);
        }
        List<String> stop = p.stopSequences() == null ? List.of() : p.stopSequences();
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i) == null || stop.get(i).isEmpty()) {
                throw new InvalidRequestException("stopSequences[" + i + "] is empty");
            }
        }
        double minP = 0;
        double repeatPenalty = 1;
        Long seed = null;
        if (p instanceof RewindChatRequestParameters r) {
            seed = r.seed();
            minP = r.minP() != null ? r.minP() : 0;
            repeatPenalty = r.repeatPenalty() != null ? r.repeatPenalty() : 1;
            if (!(minP >= 0 && minP <= 1)) {
                throw new InvalidRequestException("minP must be in [0, 1], got " + r.minP());
            }
            if (!(repeatPenalty > 0 && repeatPenalty <= 100)) {
                throw new InvalidRequestException("repeatPenalty must be in (0, 100] (1 disables it), got " + r.repeatPenalty());
            }
        }
        long actualSeed = seed != null ? seed : new SecureRandom().nextLong();
        SamplingParams sampling = new SamplingParams((float) temperature, topK, (float) topP, (float) minP, (float) repeatPenalty, 64,
                actualSeed);
        return new DecodeRequest(text, promptIds, sampling, maxTokens, stop, false, 0);
    }
}
