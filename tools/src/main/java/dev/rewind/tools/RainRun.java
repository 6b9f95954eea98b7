package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.rain.PlainBaseline;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainResult;
import dev.rewind.align.rain.RunCost;
import dev.rewind.engine.logits.LogitsSource;

import java.io.PrintStream;

/** One prompt through RAIN, then through plain greedy generation of the same length: the cost report's two sides. */
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

    Outcome run(String prompt, boolean trace) {
        RainResult r = rain.run(prompt, trace);
        PlainBaseline.Cost plain = withPlain && r.answerTokens().length > 0
                ? PlainBaseline.measure(generator, r.promptTokens(), r.answerTokens().length)
                : new PlainBaseline.Cost(0, 0, 0);
        return new Outcome(r, plain, rain.params().seed());
    }
}
