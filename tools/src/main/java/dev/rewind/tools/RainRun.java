package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.MethodReport;
import dev.rewind.align.decode.RainDecoding;
import dev.rewind.align.rain.PlainBaseline;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainResult;
import dev.rewind.align.rain.RunCost;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.SamplingParams;

import java.io.PrintStream;
import java.util.Optional;

/**
 * One prompt through RAIN ({@link RainDecoding}), then through plain greedy generation of the same length:
 * the cost report's two sides.
 */
record RainRun(Rain rain, LogitsSource generator, boolean withPlain) {

    /** A RAIN result with its plain baseline (absent: zeros). */
    record Outcome(RainResult result, PlainBaseline.Cost plain, long seed) {

        double plainSeconds() {
            return plain.seconds();
        }

        /** The result line: the fields, then the rest of the cost report. */
        ObjectNode toJson(ObjectMapper json, JsonNode id) {
            RainResult r = result;
            RunCost c = r.cost();
            ObjectNode o = json.createObjectNode();
            o.set("id", id);
            o.put("prompt", r.prompt());
            o.put("answer", r.answer());
            o.put("commits", r.commits());
            o.put("searches", r.searches());
            o.put("generator_tokens", c.generatorTokens());
            o.put("judge_tokens", c.judgeTokens());
            o.put("embedder_tokens", c.embedderTokens());
            o.put("embedder_seconds", c.embedderSeconds());
            o.put("kv_pages_peak", c.kvPagesPeak());
            o.put("seconds", c.seconds());
            o.put("plain_seconds", plain.seconds());
            o.put("plain_tokens", plain.tokens());
            o.put("plain_kv_pages_peak", plain.kvPagesPeak());
            o.put("answer_tokens", r.answerTokens().length);
            o.put("prompt_tokens", r.promptTokens().length);
            o.put("forward_calls", c.forwardCalls());
            o.put("stop", r.stop().name().toLowerCase(java.util.Locale.ROOT));
            o.put("seed", seed);
            if (plain.seconds() > 0) {
                o.put("overhead_seconds", c.seconds() / plain.seconds());
            }
            if (plain.tokens() > 0) {
                o.put("overhead_tokens", (double) c.totalTokens() / plain.tokens());
            }
            return o;
        }

        /** The cost report on stderr. */
        void report(PrintStream err) {
            RunCost c = result.cost();
            err.printf("rain: %d commits, %d searches, %d answer tokens, stopped at %s; %.2f s%n", result.commits(), result.searches(),
                    result.answerTokens().length, result.stop().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '), c.seconds());
            err.printf("rain: forward tokens: generator %d, judge %d, embedder %d (%d calls); KV pages peak %d%n",
                    c.generatorTokens(), c.judgeTokens(), c.embedderTokens(), c.forwardCalls(), c.kvPagesPeak());
            err.printf("rain: embedder %.3f s, %.1f%% of the wall time%n", c.embedderSeconds(), 100 * c.embedderShare());
            if (plain.tokens() > 0) {
                err.printf("plain: %d tokens greedily: %d forward tokens, KV pages peak %d, %.3f s%n", result.answerTokens().length,
                        plain.tokens(), plain.kvPagesPeak(), plain.seconds());
                err.printf("overhead: %.1fx wall time, %.1fx forward tokens%n", c.seconds() / Math.max(1e-9, plain.seconds()),
                        (double) c.totalTokens() / plain.tokens());
            }
        }
    }

    /** One prompt through a {@link RainDecoding} (with the plain baseline when asked for). */
    Outcome run(String prompt, boolean trace) {
        try (RainDecoding decoding = new RainDecoding(rain, withPlain ? Optional.of(generator) : Optional.empty(), trace)) {
            Decoded d = decoding.decode(DecodeRequest.ofText(prompt, SamplingParams.GREEDY, Integer.MAX_VALUE));
            MethodReport.Rain report = (MethodReport.Rain) d.report();
            return new Outcome(report.result(), report.plain(), rain.params().seed());
        }
    }
}
