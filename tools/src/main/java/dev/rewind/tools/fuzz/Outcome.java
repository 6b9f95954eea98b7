package dev.rewind.tools.fuzz;

/** How one fuzz case ended. Only {@link Unclean} is a defect. */
public sealed interface Outcome permits Outcome.Success, Outcome.CleanError, Outcome.Unclean {

    /** The input was accepted and the command did its work. */
    record Success() implements Outcome {
    }

    /** The input was refused with one visible line naming what is wrong, a non-zero exit and nothing half-printed. */
    record CleanError(String message) implements Outcome {
    }

    /**
     * Anything else: an internal error or escaped exception (including OutOfMemoryError and
     * StackOverflowError), a message of several lines or with control characters, output printed before
     * the refusal, or a case still running when the watchdog fired.
     */
    record Unclean(String what) implements Outcome {
    }
}
