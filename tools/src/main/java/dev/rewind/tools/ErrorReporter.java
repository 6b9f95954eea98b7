package dev.rewind.tools;

import dev.rewind.engine.gguf.GgufFormatException;
import dev.rewind.engine.text.Escape;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * Turns a failure into one line on stderr and an exit code: 1 for bad input (a file, a model),
 * 3 for an internal error. No stack trace reaches the user unless {@code REWIND_DEBUG} is set. The line
 * goes through {@link Escape#visible} (idempotent, so text escaped where the message was made is not
 * changed again): whatever a message quotes from a file, it cannot break the line or drive the terminal.
 */
final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {

    private final PrintStream err;

    ErrorReporter(PrintStream err) {
        this.err = err;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        if (System.getenv("REWIND_DEBUG") != null) {
            ex.printStackTrace(err);
        }
        String name = cmd.getCommandSpec().qualifiedName();
        return switch (ex) {
            case NoSuchFileException e -> fail(name, "no such file: " + e.getFile(), 1);
            case AccessDeniedException e -> fail(name, "permission denied: " + e.getFile(), 1);
            case GgufFormatException e -> fail(name, "bad GGUF file: " + e.getMessage(), 1);
            case IOException e -> fail(name, e.getMessage(), 1);
            case IllegalArgumentException e -> fail(name, e.getMessage(), 1);
            case UserException e -> fail(name, e.getMessage(), 1);
            default -> fail(name, "internal error: " + ex + " (set REWIND_DEBUG=1 for the stack trace)", 3);
        };
    }

    private int fail(String command, String message, int code) {
        err.println(Escape.visible(command + ": " + message));
        err.flush();
        return code;
    }
}
