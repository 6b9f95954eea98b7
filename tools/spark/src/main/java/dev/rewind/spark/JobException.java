package dev.rewind.spark;

/** What is wrong with a job's arguments or files, in one line naming the flag, file or line. */
public final class JobException extends RuntimeException {
    public JobException(String message) {
        super(message);
    }
}
