package dev.rewind.align.aligner;

/**
 * Where the answers the Aligner corrects come from: a local model of any architecture this engine runs
 * ({@link LocalModelUpstream}) or any OpenAI-compatible chat endpoint ({@link OpenAiUpstream}). (Answers
 * already written down come with the batch items and need no upstream.) A failure to answer is a value,
 * not an exception, so that one bad item never stops a batch.
 */
public sealed interface Upstream extends AutoCloseable permits LocalModelUpstream, OpenAiUpstream {

    /** The upstream's answer to {@code question}, or why there is none. */
    UpstreamResult answer(String question);

    /** How output lines name this upstream (a model file name or an endpoint). */
    String describe();

    /** Releases what the upstream holds (a sequence, an HTTP client); the default does nothing. */
    @Override
    default void close() {
    }
}
