package dev.rewind.engine.parallel;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of platform threads for data-parallel loops ({@link #parallelFor}), built for the
 * many short parallel sections of a decode step (one per matrix-vector product).
 *
 * <p>{@link #threads()} threads work on each loop: the calling thread and {@code threads() - 1}
 * daemon workers named {@code rewind-worker-N}. The range is cut into chunks that the threads
 * claim one at a time from an atomic counter, so a thread slowed down by another process simply
 * claims fewer chunks. Between loops the workers spin briefly (a decode step issues the next loop
 * within microseconds) and then park. A call allocates nothing.
 *
 * <p>One loop runs at a time: if {@code parallelFor} is called while another is running — from a
 * second thread, or from inside a task (nesting) — the second call runs its whole range on its
 * calling thread instead of waiting, so nesting never deadlocks.
 */
public final class WorkerPool implements AutoCloseable {

    /** A body of a parallel loop: processes the indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeTask {
        /** Processes indices {@code start} (inclusive) to {@code end} (exclusive); {@code start < end}. */
        void run(int start, int end);
    }

    /** Chunks handed out per thread for {@link #parallelFor(int, RangeTask)}: enough to balance load. */
    private static final int CHUNKS_PER_THREAD = 16;
    /** How long an idle thread busy-waits before parking. */
    private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    /** Spin iterations between clock reads. */
    private static final int SPINS_PER_CLOCK_READ = 64;

    private final int threads;
    private final Thread[] workers;
    /** Per worker: true while it is (about to be) parked, so the caller knows to unpark it. */
    private final AtomicBoolean[] parked;

    // The current loop. Written by the caller before it opens a generation; read by a worker only
    // after it has joined that generation, and the caller does not return (so cannot start the
    // next loop) before every joined worker has left. So these never change under a reader.
    private RangeTask task;
    private int count;
    private int chunks;
    private Thread caller;

    /**
     * The loop's lifecycle in one word: generation number (high 32 bits), a CLOSED bit, and the
     * number of workers that joined the generation (low 31 bits). A worker may join only while the
     * generation is current and open; the caller closes it once the chunks have run out and then
     * waits only for the workers that joined. A worker that wakes up late — descheduled, or still
     * parked — finds the generation closed and is never waited for.
     */
    private final AtomicLong state = new AtomicLong();
    private static final long CLOSED = 1L << 31;
    private static final long JOINED_MASK = CLOSED - 1;

    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    /** A pool using every available processor ({@link Runtime#availableProcessors()}). */
    public WorkerPool() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * A pool in which {@code threads} threads work on each loop: the caller plus
     * {@code threads - 1} started daemon workers. {@code threads == 1} runs everything on the caller.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        this.parked = new AtomicBoolean[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            int index = w;
            parked[w] = new AtomicBoolean();
            workers[w] = Thread.ofPlatform()
                    .name("rewind-worker-" + (w + 1))
                    .daemon(true)
                    .unstarted(() -> workerLoop(index));
        }
        for (Thread worker : workers) {
            worker.start();
        }
    }

    /** Number of threads that work on a loop, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, count)} cut into about {@code 4 * threads()} chunks;
     * see {@link #parallelFor(int, int, RangeTask)}.
     */
    public void parallelFor(int count, RangeTask task) {
        parallelFor(count, 1, task);
    }

    /**
     * Runs {@code task} over {@code [0, count)}: the range is cut into
     * {@code min(4 * threads(), count / minChunk)} consecutive chunks of nearly equal size (so each
     * has at least {@code minChunk} indices) and every index is passed to exactly one
     * {@code task.run(start, end)} call, on the calling thread or a worker. Returns when all chunks
     * are done. A range of fewer than two chunks ({@code count < 2 * minChunk}) runs directly on
     * the caller as {@code task.run(0, count)}.
     *
     * <p>If a task throws, the remaining unclaimed chunks are skipped and, once the chunks already
     * running have finished, the first exception thrown is rethrown here (the same instance).
     * Writes made by the tasks happen-before this method returns.
     *
     * @param count    number of indices; nothing happens if {@code count <= 0}
     * @param minChunk smallest chunk worth scheduling, at least 1
     * @throws IllegalStateException if the pool is closed
     */
    public void parallelFor(int count, int minChunk, RangeTask task) {
        Objects.requireNonNull(task, "task");
        if (minChunk < 1) {
            throw new IllegalArgumentException("minChunk must be at least 1, got " + minChunk);
        }
        if (closed) {
            throw new IllegalStateException("WorkerPool is closed");
        }
        if (count <= 0) {
            return;
        }
        int n = Math.min(threads * CHUNKS_PER_THREAD, count / minChunk);
        if (workers.length == 0 || n < 2 || !busy.compareAndSet(false, true)) {
            task.run(0, count);
            return;
        }
        try {
            runLoop(task, count, n);
        } finally {
            busy.set(false);
        }
    }

    private void runLoop(RangeTask task, int count, int n) {
        this.task = task;
        this.count = count;
        this.chunks = n;
        this.caller = Thread.currentThread();
        nextChunk.set(0);
        int generation = (int) (state.get() >>> 32) + 1;
        state.set((long) generation << 32); // open, nobody joined; publishes the fields above
        for (int w = 0; w < workers.length; w++) {
            if (parked[w].get()) {
                LockSupport.unpark(workers[w]);
            }
        }
        runChunks();
        long s = state.getAndAdd(CLOSED) + CLOSED;
        long spinStart = System.nanoTime();
        boolean spinning = true;
        for (int spins = 1; (s & JOINED_MASK) != 0; spins++, s = state.get()) {
            if (!spinning) {
                LockSupport.park(this);
            } else if (spins % SPINS_PER_CLOCK_READ == 0 && System.nanoTime() - spinStart > SPIN_NANOS) {
                spinning = false;
            } else {
                Thread.onSpinWait();
            }
        }
        this.task = null;
        this.caller = null;
        Throwable t = failure.getAndSet(null);
        if (t != null) {
            throw sneakyThrow(t);
        }
    }

    /**
     * Claims and runs chunks of the current loop until none are left. Chunk {@code c} of {@code n}
     * is {@code [c * count / n, (c + 1) * count / n)}, so chunk sizes differ by at most one.
     */
    private void runChunks() {
        RangeTask task = this.task;
        long count = this.count;
        int n = this.chunks;
        for (int c; (c = nextChunk.getAndIncrement()) < n; ) {
            try {
                task.run((int) (c * count / n), (int) ((c + 1) * count / n));
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                nextChunk.set(n); // stop handing out chunks
            }
        }
    }

    private void workerLoop(int index) {
        int seen = 0;
        while (true) {
            long s = awaitNewGeneration(index, seen);
            if (closed) {
                return;
            }
            seen = (int) (s >>> 32);
            if (join(seen)) {
                Thread waiting = caller;
                runChunks();
                long left = state.decrementAndGet();
                if ((left & CLOSED) != 0 && (left & JOINED_MASK) == 0) {
                    LockSupport.unpark(waiting);
                }
            }
        }
    }

    /** Joins generation {@code generation} if it is still current and open. */
    private boolean join(int generation) {
        while (true) {
            long s = state.get();
            if ((int) (s >>> 32) != generation || (s & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(s, s + 1)) {
                return true;
            }
        }
    }

    /** Spins, then parks, until the generation differs from {@code seen} or the pool closes. */
    private long awaitNewGeneration(int index, int seen) {
        long spinStart = System.nanoTime();
        for (int spins = 1; ; spins++) {
            long s = state.get();
            if ((int) (s >>> 32) != seen || closed) {
                return s;
            }
            if (spins % SPINS_PER_CLOCK_READ == 0 && System.nanoTime() - spinStart > SPIN_NANOS) {
                parked[index].set(true);
                if ((int) (state.get() >>> 32) == seen && !closed) {
                    LockSupport.park(this);
                    Thread.interrupted(); // our own threads: an interrupt only means "look again"
                }
                parked[index].set(false);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /**
     * Stops and joins the workers. Idempotent. Must not be called while a loop is running;
     * later {@code parallelFor} calls throw {@link IllegalStateException}.
     */
    @Override
    public void close() {
        closed = true;
        for (Thread worker : workers) {
            LockSupport.unpark(worker);
        }
        boolean interrupted = false;
        for (Thread worker : workers) {
            while (worker.isAlive()) {
                try {
                    worker.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> RuntimeException sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }
}
