package dev.rewind.align.decode;

/** Why a decoding ended, as OpenAI's {@code finish_reason} names it. */
public enum FinishReason {
    /** The answer ended by itself (an end-of-generation token, a RAIN turn marker) or at a stop string. */
    STOP,
    /** A token limit: the request's maximum, the method's own, or the end of the context. */
    LENGTH,
    /** The request was cancelled. */
    CANCELLED;

    /** The lower-case name ({@code stop}, {@code length}, {@code cancelled}). */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
