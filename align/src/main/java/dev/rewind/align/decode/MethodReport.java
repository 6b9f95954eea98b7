package dev.rewind.align.decode;

import dev.rewind.align.rain.PlainBaseline;
import dev.rewind.align.rain.RainResult;
import dev.rewind.align.rain.RunCost;
import dev.rewind.engine.generate.GenerationContext;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/** What a method reports about one request besides its answer: one record per strategy. */
public sealed interface MethodReport permits MethodReport.Plain, MethodReport.Dera, MethodReport.Rain, MethodReport.Aligner {

    /** The method's name, as {@link DecodingStrategy#method()}. */
    String method();

    /**
     * Plain sampling.
     *
     * @param generation the engine's generation: prompt and answer ids, reused prompt tokens, timings,
     *                   top logits, stop reason
     */
    record Plain(GenerationContext.Result generation) implements MethodReport {
        public Plain {
            Objects.requireNonNull(generation, "generation");
        }

        @Override
        public String method() {
            return "plain";
        }
    }

    /**
     * DeRa.
     *
     * @param lambda           the aligned model's weight
     * @param plausibilityTopP the plausibility guard's top-p, when on
     * @param maskedIds        padding ids only one model has, masked
     * @param generation       the generation on the mixed logits
     */
    record Dera(double lambda, Optional<Float> plausibilityTopP, int maskedIds, GenerationContext.Result generation)
            implements MethodReport {
        public Dera {
            Objects.requireNonNull(plausibilityTopP, "plausibilityTopP");
            Objects.requireNonNull(generation, "generation");
        }

        @Override
        public String method() {
            return "dera";
        }
    }

    /**
     * RAIN.
     *
     * @param result the search's result: prompt, answer, commits, searches, stop reason, cost, trace
     * @param plain  plain greedy generation of the same prompt and answer length (zeros when not measured)
     */
    record Rain(RainResult result, PlainBaseline.Cost plain) implements MethodReport {
        public Rain {
            Objects.requireNonNull(result, "result");
            Objects.requireNonNull(plain, "plain");
        }

        @Override
        public String method() {
            return "rain";
        }

        /** Inner search iterations run. */
        public int searches() {
            return result.searches();
        }

        /** Forward tokens by role, KV pages, wall time. */
        public RunCost cost() {
            return result.cost();
        }

        /** RAIN's wall time over the plain run's, when the plain run was measured. */
        public OptionalDouble overheadSeconds() {
            return plain.seconds() > 0 ? OptionalDouble.of(result.cost().seconds() / plain.seconds()) : OptionalDouble.empty();
        }

        /** RAIN's forward tokens (all roles) over the plain run's, when the plain run was measured. */
        public OptionalDouble overheadTokens() {
            return plain.tokens() > 0 ? OptionalDouble.of((double) result.cost().totalTokens() / plain.tokens()) : OptionalDouble.empty();
        }
    }

    /**
     * The Aligner.
     *
     * @param upstreamAnswer  the answer it corrected, whole
     * @param source          where that answer came from: an upstream's name, or {@code input}
     * @param upstreamSeconds the upstream's time (0 for a given answer)
     * @param answerUsed      the answer as the Aligner saw it (its beginning, when cut to fit)
     * @param truncated       whether the answer was cut to fit the Aligner's context
     * @param generation      the Aligner's generation (its prompt tokens are the Aligner's prompt)
     */
    record Aligner(String upstreamAnswer, String source, double upstreamSeconds, String answerUsed, boolean truncated,
                   GenerationContext.Result generation) implements MethodReport {
        public Aligner {
            Objects.requireNonNull(upstreamAnswer, "upstreamAnswer");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(answerUsed, "answerUsed");
            Objects.requireNonNull(generation, "generation");
        }

        @Override
        public String method() {
            return "aligner";
        }
    }
}
