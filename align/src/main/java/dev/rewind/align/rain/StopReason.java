package dev.rewind.align.rain;

/** Why a RAIN request stopped committing. */
public enum StopReason {
    /** A committed span held an end-of-generation token, or the root could not be expanded (a terminal state). */
    END_OF_GENERATION,
    /** A new user turn marker appeared in the committed text. */
    TURN_MARKER,
    /** Prompt and answer exceeded {@link RainParams#maxLength()}. */
    MAX_LENGTH,
    /** The answer reached {@link RainParams#maxNewTokens()} (or the request's lower cap). */
    MAX_NEW_TOKENS,
    /** The caller's {@link Rain.Observer#halt()} became true (a stop string, a cancelled request). */
    HALTED
}
