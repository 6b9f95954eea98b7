package dev.rewind.langchain4j;

import dev.rewind.align.aligner.AlignerTemplate;
import dev.rewind.align.rain.Conversation;
import dev.rewind.align.rain.JudgeTemplate;
import dev.rewind.align.rain.RainParams;
import dev.rewind.align.rain.RainPreset;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a {@link RewindChatModel} decodes: plain sampling (the default) or one of Rewind's
 * inference-time alignment methods, each run through the engine's decoding interface.
 */
public sealed interface RewindMethod permits RewindMethod.Plain, RewindMethod.Rain, RewindMethod.Dera, RewindMethod.Aligner {

    /** Plain sampling with the request's parameters. */
    record Plain() implements RewindMethod {
    }

    /**
     * RAIN's tree search, the model judging itself. As {@code rewind rain} does, the last user message is
     * laid out by the conversation (the official scripts' layout, or {@link dev.rewind.align.rain.Conversation#RAW}:
     * the text as it is; not the chat template), and the search samples with its own parameters and seed;
     * the request's {@code maxOutputTokens} and stop sequences still apply.
     *
     * @param params       the search's parameters
     * @param conversation how the user's text is laid out and what the judge is shown
     * @param judge        what the judge is asked
     */
    record Rain(RainParams params, Conversation conversation, JudgeTemplate judge) implements RewindMethod {
        public Rain {
            Objects.requireNonNull(params, "params");
            Objects.requireNonNull(conversation, "conversation");
            Objects.requireNonNull(judge, "judge");
        }

        /** One official script's parameters, layout and judge ({@code rewind rain --preset}). */
        public static Rain of(RainPreset preset) {
            return new Rain(preset.params(), preset.conversation(), preset.judge());
        }
    }

    /**
     * DeRa: this model's logits mixed with a reference model's, {@code λ·this + (1−λ)·reference}, per
     * token before sampling; the reference must share this model's vocabulary.
     *
     * @param reference the reference (SFT) model's file or folder
     * @param lambda    the weight of this (aligned) model
     */
    record Dera(Path reference, double lambda) implements RewindMethod {
        /** @throws IllegalArgumentException if λ is not finite */
        public Dera {
            Objects.requireNonNull(reference, "reference");
            if (!Double.isFinite(lambda)) {
                throw new IllegalArgumentException("DeRa's lambda must be a finite number, got " + lambda);
            }
        }
    }

    /**
     * Aligner: this model answers (through its chat template, with the request's parameters), then the
     * Aligner model rewrites that answer to the last user message, greedily; only the correction is the
     * response's text (and is what streams).
     *
     * @param aligner  the Aligner model's file or folder
     * @param template the instruction it was trained on
     */
    record Aligner(Path aligner, AlignerTemplate template) implements RewindMethod {
        public Aligner {
            Objects.requireNonNull(aligner, "aligner");
            Objects.requireNonNull(template, "template");
        }
    }
}
