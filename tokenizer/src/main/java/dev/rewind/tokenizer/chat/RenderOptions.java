package dev.rewind.tokenizer.chat;

import java.time.Clock;
import java.util.Objects;

/**
 * How {@link ChatTemplate#render(java.util.List, boolean, java.util.Map, RenderOptions) render} runs.
 *
 * @param dialect whose behaviour to reproduce; {@link Dialect#JINJA} by default
 * @param limits  how much work one render may do; a template is data from a downloaded file
 * @param clock   what {@code strftime_now} reads; the system clock in its time zone by default
 */
public record RenderOptions(Dialect dialect, Limits limits, Clock clock) {

    /** Plain Jinja, the default limits, the system clock. */
    public static final RenderOptions DEFAULT = new RenderOptions(Dialect.JINJA, Limits.DEFAULT, Clock.systemDefaultZone());

    public RenderOptions {
        Objects.requireNonNull(dialect, "dialect");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(clock, "clock");
    }

    public RenderOptions withDialect(Dialect d) {
        return new RenderOptions(d, limits, clock);
    }

    public RenderOptions withLimits(Limits l) {
        return new RenderOptions(dialect, l, clock);
    }

    public RenderOptions withClock(Clock c) {
        return new RenderOptions(dialect, limits, c);
    }

    /** Whose way of feeding a conversation to the template to follow. */
    public enum Dialect {
        /**
         * The template alone, as Hugging Face renders it ({@code transformers}, {@code @huggingface/jinja}):
         * the messages exactly as given, the output exactly as rendered.
         */
        JINJA,
        /**
         * As llama.cpp's chat templates render: when the template has no system role (rendering a
         * system message plus a user message either fails or drops the system text), the system
         * messages are merged into the next user message, separated by a newline (or become a user
         * message of their own when no user message follows); and a {@code bos_token} at the start
         * and an {@code eos_token} at the end of the output are removed, because llama.cpp's
         * tokenizer adds those tokens itself.
         */
        LLAMA_CPP
    }

    /**
     * Bounds on one render; going past one fails with a {@link TemplateException} of kind
     * {@link TemplateException.Kind#LIMIT}.
     *
     * @param maxDepth       how deeply statements, expressions and macro calls may nest while rendering
     * @param maxIterations  loop iterations plus list items built or walked by filters and methods
     * @param maxOutputChars the longest output, and the longest string built on the way
     * @param maxBuiltChars  all characters of all strings built during the render, intermediate ones
     *                       included (this bounds the memory a render takes)
     * @param maxSteps       statements executed plus expressions evaluated: the render's step budget, which
     *                       bounds its time whatever the template does (macros that call themselves twice
     *                       make no text and no loop, but 2<sup>n</sup> steps)
     */
    public record Limits(int maxDepth, long maxIterations, int maxOutputChars, long maxBuiltChars, long maxSteps) {

        /** The default step budget: 50 million, about a second; a long real conversation takes well under a million. */
        public static final long DEFAULT_STEPS = 50_000_000;

        /** 500 levels, a million iterations, 16 Mi characters of output, 256 Mi characters built, 50 million steps. */
        public static final Limits DEFAULT = new Limits(500, 1_000_000, 16 << 20, 256L << 20, DEFAULT_STEPS);

        public Limits {
            if (maxDepth < 1 || maxIterations < 1 || maxOutputChars < 1 || maxBuiltChars < 1 || maxSteps < 1) {
                throw new IllegalArgumentException("limits must be positive: " + maxDepth + ", " + maxIterations
                        + ", " + maxOutputChars + ", " + maxBuiltChars + ", " + maxSteps);
            }
        }

        /** The first four limits, with the {@link #DEFAULT_STEPS default step budget}. */
        public Limits(int maxDepth, long maxIterations, int maxOutputChars, long maxBuiltChars) {
            this(maxDepth, maxIterations, maxOutputChars, maxBuiltChars, DEFAULT_STEPS);
        }
    }
}
