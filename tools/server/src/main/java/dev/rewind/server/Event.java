package dev.rewind.server;

import java.util.List;

/** What the scheduler tells a request's HTTP thread, in order. */
sealed interface Event {

    /** A log-probability of one token: its id, text bytes and log-probability. */
    record TokenLogprob(int id, String token, byte[] bytes, double logprob) {
    }

    /** The chosen token of one step and, when asked for, the most likely alternatives. */
    record Logprobs(TokenLogprob chosen, List<TokenLogprob> top) {
    }

    /** New text of choice {@code index} (may be empty while text is held back) and its token's log-probabilities. */
    record Delta(int index, String text, Logprobs logprobs) implements Event {
    }

    /** Choice {@code index} is complete: {@code stop} (end token or stop string) or {@code length}. */
    record Finished(int index, String reason) implements Event {
    }

    /** Every choice is complete; {@code report} is an alignment method's report (null for plain decoding). */
    record Done(int promptTokens, int cachedTokens, int completionTokens, com.fasterxml.jackson.databind.JsonNode report) implements Event {
    }

    /** The request failed after it was accepted (a full KV cache, a timeout, shutdown). */
    record Failed(ApiException error) implements Event {
    }
}
