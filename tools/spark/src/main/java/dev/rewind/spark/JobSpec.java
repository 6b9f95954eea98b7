package dev.rewind.spark;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * What every executor runs: a method, its CLI flags (the models, sampling, seed, RAIN parameters, ...)
 * and how many prompts go into one forward call. Two tasks with equal specs share one loaded engine
 * per executor (see {@link ModelHolder}).
 *
 * @param method         the batch method
 * @param flags          the method's CLI flags, as {@code rewind METHOD} takes them (no --prompt, --input, --output)
 * @param rowsPerForward prompts generated side by side by {@code generate} and {@code dera} (at least 1)
 */
public record JobSpec(Method method, List<String> flags, int rowsPerForward) implements Serializable {

    /** Prompts side by side when the job does not say: enough to read each weight once for several rows. */
    public static final int DEFAULT_ROWS_PER_FORWARD = 4;

    public JobSpec {
        Objects.requireNonNull(method, "method");
        flags = List.copyOf(flags);
        if (rowsPerForward < 1 || rowsPerForward > 256) {
            throw new JobException("--rows-per-forward must be between 1 and 256, got " + rowsPerForward);
        }
    }

    /** A spec with the default rows per forward call. */
    public static JobSpec of(Method method, List<String> flags) {
        return new JobSpec(method, flags, DEFAULT_ROWS_PER_FORWARD);
    }

    /**
     * This spec with {@code --seed S} added when the method samples and the flags give no seed: one seed
     * chosen here, in the driver, so that every executor and every retry of a task draws the same tokens
     * (the CLI picks a random seed per run). The seed is in every result line.
     */
    public JobSpec seeded() {
        if (method == Method.RAIN || flags.stream().anyMatch(f -> f.equals("-s") || f.equals("--seed") || f.startsWith("--seed="))) {
            return this; // RAIN's seed is its preset's unless given, as in the CLI
        }
        long seed = RewindSparkJob.randomSeed();
        java.util.List<String> more = new java.util.ArrayList<>(flags);
        more.add("--seed=" + seed);
        return new JobSpec(method, more, rowsPerForward);
    }

    /**
     * Checks the flags as the method's command does, before anything is loaded (so a bad flag fails in the
     * driver, in one line, not in every task).
     *
     * @return this spec
     * @throws JobException naming the flag
     */
    public JobSpec checked() {
        dev.rewind.tools.SparkMethods.check(method, flags);
        return this;
    }
}
