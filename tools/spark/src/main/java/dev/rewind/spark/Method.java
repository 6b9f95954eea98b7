package dev.rewind.spark;

import java.util.List;
import java.util.Locale;

/**
 * The batch methods a job can run, each with the input columns it reads and the Spark SQL schema of
 * the fields of its result lines (the CLI batch's JSONL fields, {@code id} apart: it keeps the input's type).
 */
public enum Method {
    /** Plain generation: {@code rewind generate --output-format json} per prompt. */
    GENERATE(List.of("prompt"), Schemas.GENERATE),
    /** RAIN: {@code rewind rain --input} lines. */
    RAIN(List.of("prompt"), Schemas.RAIN),
    /** DeRa: {@code rewind dera --output-format json} per prompt. */
    DERA(List.of("prompt"), Schemas.DERA),
    /** Aligner: {@code rewind aligner --input} lines. */
    ALIGNER(List.of("question", "answer"), Schemas.ALIGNER);

    private final List<String> inputs;
    private final String resultSchema;

    Method(List<String> inputs, String resultSchema) {
        this.inputs = inputs;
        this.resultSchema = resultSchema;
    }

    /** The CLI command's name. */
    public String command() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The input columns besides {@code id} (the aligner's {@code answer} is optional). */
    public List<String> inputs() {
        return inputs;
    }

    /** The result fields other than {@code id}, as a Spark SQL DDL schema. */
    public String resultSchema() {
        return resultSchema;
    }

    /**
     * The method named {@code name} (generate, rain, dera, aligner).
     *
     * @throws JobException naming the valid ones
     */
    public static Method named(String name) {
        for (Method m : values()) {
            if (m.command().equals(name)) {
                return m;
            }
        }
        throw new JobException("unknown --method '" + name + "' (valid: generate, rain, dera, aligner)");
    }

    private static final class Schemas {
        static final String STEPS = "steps ARRAY<STRUCT<id: INT, top_logits: ARRAY<ARRAY<DOUBLE>>>>";
        static final String TIMINGS = "timings STRUCT<prompt_n: INT, prompt_ms: DOUBLE, prompt_per_second: DOUBLE, "
                + "predicted_n: INT, predicted_ms: DOUBLE, predicted_per_second: DOUBLE>";
        static final String RUN = "prompt_tokens ARRAY<INT>, tokens ARRAY<INT>, text STRING, seed BIGINT, stop STRING, " + TIMINGS + ", " + STEPS;
        static final String GENERATE = "prompt STRING, " + RUN + ", error STRING";
        // a struct's fields take the same "name TYPE" form as columns (the colon is optional in Spark's DDL)
        static final String DERA = "prompt STRING, " + RUN + ", lambda DOUBLE, runs ARRAY<STRUCT<" + RUN + ", lambda DOUBLE>>, "
                + "aligned STRING, reference STRING, plausibility_top_p DOUBLE, masked_ids INT, chat_template STRING, error STRING";
        static final String RAIN = "prompt STRING, answer STRING, commits INT, searches INT, generator_tokens BIGINT, judge_tokens BIGINT, "
                + "embedder_tokens BIGINT, embedder_seconds DOUBLE, kv_pages_peak BIGINT, seconds DOUBLE, plain_seconds DOUBLE, plain_tokens BIGINT, "
                + "plain_kv_pages_peak BIGINT, answer_tokens INT, prompt_tokens INT, forward_calls BIGINT, stop STRING, seed BIGINT, "
                + "overhead_seconds DOUBLE, overhead_tokens DOUBLE, error STRING";
        static final String ALIGNER = "question STRING, answer STRING, corrected STRING, truncated BOOLEAN, seconds DOUBLE, "
                + "upstream_seconds DOUBLE, source STRING, error STRING, answer_chars_used INT, prompt_tokens INT, tokens INT, "
                + "stop STRING, " + STEPS;
    }
}
