package dev.rewind.tools;

import java.io.PrintStream;

/**
 * A one-line progress indicator on stderr that stays silent for quick jobs: it starts printing
 * only after half a second, then redraws at most ten times a second.
 */
final class Progress {

    private static final long QUIET_NANOS = 500_000_000L;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream err;
    private final String label;
    private final long total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    Progress(PrintStream err, String label, long total) {
        this.err = err;
        this.label = label;
        this.total = Math.max(1, total);
    }

    void update(long done) {
        long now = System.nanoTime();
        if (now - start < QUIET_NANOS || now - lastDraw < REDRAW_NANOS) {
            return;
        }
        lastDraw = now;
        drawn = true;
        err.printf("\r%s: %3d%% (%.1f of %.1f MiB)", label, Math.min(100, done * 100 / total), done / 1048576.0, total / 1048576.0);
        err.flush();
    }

    void done() {
        if (drawn) {
            err.printf("\r%s: done in %.1f s%20s%n", label, (System.nanoTime() - start) / 1e9, "");
        }
    }
}
