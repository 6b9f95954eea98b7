package dev.rewind.spark;

import dev.rewind.tools.SparkMethods;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The per-JVM holder of loaded engines: each executor loads the models of a {@link JobSpec} once, on its
 * first task, and every later task of that spec on the executor reuses them (memory-mapped weights,
 * packed matrices, KV caches). This is the module's one piece of static state, by necessity: Spark
 * gives tasks no executor-wide object of the job's own.
 *
 * <p>An engine is used by one task at a time ({@link #acquire} blocks while another task holds it): the
 * engine already spreads each forward call over all the executor's cores, so two tasks at once would only
 * compete for them. Run one task per executor ({@code spark.task.cpus} = {@code spark.executor.cores}).
 *
 * <p>Engines are closed by {@link #closeAll}, which {@link RewindPlugin} calls when the executor shuts
 * down (and a JVM shutdown hook calls if it did not).
 */
public final class ModelHolder {

    private static final Map<JobSpec, Slot> SLOTS = new HashMap<>();
    private static long loads;
    private static boolean hooked;

    private ModelHolder() {
    }

    /** One spec's engine and the lock that gives it to one task at a time. */
    private static final class Slot {
        final ReentrantLock lock = new ReentrantLock();
        ItemProcessor processor;
    }

    /** A task's hold on an engine; closing it lets the next task have it. */
    public static final class Lease implements AutoCloseable {
        private final Slot slot;
        private final boolean loaded;
        private boolean closed;

        private Lease(Slot slot, boolean loaded) {
            this.slot = slot;
            this.loaded = loaded;
        }

        /** The engine. */
        public ItemProcessor processor() {
            return slot.processor;
        }

        /** Whether this lease loaded the models (the executor's first task of the spec). */
        public boolean loaded() {
            return loaded;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                slot.lock.unlock();
            }
        }
    }

    /**
     * The engine of {@code spec}, loading it if this JVM has not yet; blocks while another task uses it.
     *
     * @throws JobException when the models cannot be loaded (named in one line)
     */
    public static Lease acquire(JobSpec spec) {
        Slot slot;
        synchronized (ModelHolder.class) {
            slot = SLOTS.computeIfAbsent(spec, s -> new Slot());
            if (!hooked) {
                hooked = true;
                Runtime.getRuntime().addShutdownHook(new Thread(ModelHolder::closeAll, "rewind-model-holder-close"));
            }
        }
        slot.lock.lock();
        try {
            boolean loaded = false;
            if (slot.processor == null) {
                slot.processor = SparkMethods.open(spec.method(), spec.flags(), spec.rowsPerForward(), System.err);
                loaded = true;
                synchronized (ModelHolder.class) {
                    loads++;
                }
            }
            return new Lease(slot, loaded);
        } catch (RuntimeException | Error e) {
            slot.lock.unlock();
            throw e;
        }
    }

    /** How many times this JVM has loaded a spec's models (the test that an executor loads once reads it). */
    public static synchronized long loads() {
        return loads;
    }

    /** How many engines this JVM holds open. */
    public static synchronized int open() {
        return (int) SLOTS.values().stream().filter(s -> s.processor != null).count();
    }

    /** Closes every engine (waiting for a task that uses one to finish with it). */
    public static void closeAll() {
        Map<JobSpec, Slot> slots;
        synchronized (ModelHolder.class) {
            slots = new HashMap<>(SLOTS);
            SLOTS.clear();
        }
        for (Slot slot : slots.values()) {
            slot.lock.lock();
            try {
                if (slot.processor != null) {
                    slot.processor.close();
                    slot.processor = null;
                }
            } finally {
                slot.lock.unlock();
            }
        }
    }
}
