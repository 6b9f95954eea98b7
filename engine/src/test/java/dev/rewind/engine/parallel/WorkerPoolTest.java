package dev.rewind.engine.parallel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
class WorkerPoolTest {

    /** Runs a loop and checks that every index was visited exactly once, in valid chunks. */
    private static void assertCoversExactlyOnce(WorkerPool pool, int count, int minChunk) {
        AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(count, 1));
        AtomicReference<String> badChunk = new AtomicReference<>();
        pool.parallelFor(count, minChunk, (start, end) -> {
            if (start < 0 || end > count || start >= end) {
                badChunk.set("[" + start + ", " + end + ")");
            } else if (end - start < minChunk && !(start == 0 && end == count)) {
                badChunk.set("[" + start + ", " + end + ") is smaller than " + minChunk);
            }
            for (int i = start; i < end; i++) {
                hits.incrementAndGet(i);
            }
        });
        assertNull(badChunk.get());
        for (int i = 0; i < count; i++) {
            assertEquals(1, hits.get(i), "index " + i + " of " + count);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 8})
    void everyIndexIsCoveredExactlyOnce(int threads) {
        try (WorkerPool pool = new WorkerPool(threads)) {
            assertEquals(threads, pool.threads());
            for (int count : new int[] {0, 1, 2, 3, 7, 8, 31, 100, 1001, 65_537}) {
                for (int minChunk : new int[] {1, 8, 1000}) {
                    assertCoversExactlyOnce(pool, count, minChunk);
                }
            }
        }
    }

    @Test
    void plainWritesByTasksAreVisibleToTheCaller() {
        try (WorkerPool pool = new WorkerPool(4)) {
            for (int round = 0; round < 2_000; round++) {
                int[] values = new int[257];
                int seed = round;
                pool.parallelFor(values.length, (start, end) -> {
                    for (int i = start; i < end; i++) {
                        values[i] = i * 31 + seed;
                    }
                });
                for (int i = 0; i < values.length; i++) {
                    assertEquals(i * 31 + seed, values[i]);
                }
            }
        }
    }

    /**
     * Runs a loop in which the caller's chunks block until a worker has run a chunk; returns the
     * names of the threads that ran chunks. Deterministic: it can only finish (before the timeout)
     * if a worker really takes part.
     */
    private static Set<String> runNeedingAWorker(WorkerPool pool, int count) {
        Thread caller = Thread.currentThread();
        CountDownLatch workerRan = new CountDownLatch(1);
        Set<String> names = ConcurrentHashMap.newKeySet();
        AtomicInteger timeouts = new AtomicInteger();
        pool.parallelFor(count, (start, end) -> {
            names.add(Thread.currentThread().getName());
            if (Thread.currentThread() == caller) {
                if (!await(workerRan)) {
                    timeouts.incrementAndGet();
                }
            } else {
                workerRan.countDown();
            }
        });
        assertEquals(0, timeouts.get(), "no worker ran a chunk");
        return names;
    }

    @Test
    void workersShareTheWork() {
        try (WorkerPool pool = new WorkerPool(2)) {
            Set<String> names = runNeedingAWorker(pool, 16);
            assertTrue(names.contains("rewind-worker-1"), names.toString());
        }
    }

    @Test
    void chunksAreClaimedDynamically() {
        // While one thread is stuck in chunk 0, the other must take every other chunk; a static
        // split would leave some of them queued behind chunk 0, and the latch would time out.
        try (WorkerPool pool = new WorkerPool(2)) {
            int chunks = 8;
            CountDownLatch othersDone = new CountDownLatch(chunks - 1);
            AtomicInteger timeouts = new AtomicInteger();
            pool.parallelFor(chunks, (start, end) -> {
                if (start == 0) {
                    if (!await(othersDone)) {
                        timeouts.incrementAndGet();
                    }
                } else {
                    othersDone.countDown();
                }
            });
            assertEquals(0, timeouts.get());
        }
    }

    @Test
    void reusableManyTimes() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int round = 0; round < 200_000; round++) {
                AtomicInteger total = new AtomicInteger();
                pool.parallelFor(64, (start, end) -> total.addAndGet(end - start));
                if (total.get() != 64) {
                    throw new AssertionError("round " + round + " covered " + total.get());
                }
            }
        }
    }

    @Test
    void contentionFromMoreThreadsThanCores() {
        int threads = Runtime.getRuntime().availableProcessors() * 4;
        try (WorkerPool pool = new WorkerPool(threads)) {
            for (int round = 0; round < 300; round++) {
                assertCoversExactlyOnce(pool, 1 + round * 7, 1);
            }
        }
    }

    @Test
    void concurrentCallersEachGetTheirWholeRange() throws Exception {
        try (WorkerPool pool = new WorkerPool(2)) {
            int callers = 4;
            CyclicBarrier start = new CyclicBarrier(callers);
            List<Thread> threads = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int c = 0; c < callers; c++) {
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        for (int round = 0; round < 500; round++) {
                            assertCoversExactlyOnce(pool, 100 + round, 1);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertNull(failure.get());
        }
    }

    @Test
    void nestedLoopsRunInlineWithoutDeadlock() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(50 * 40);
            pool.parallelFor(50, (start, end) -> {
                for (int i = start; i < end; i++) {
                    int outer = i;
                    pool.parallelFor(40, (s, e) -> {
                        for (int j = s; j < e; j++) {
                            hits.incrementAndGet(outer * 40 + j);
                        }
                    });
                }
            });
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void aTaskExceptionIsRethrownOnTheCallerAndThePoolStaysUsable() {
        try (WorkerPool pool = new WorkerPool(3)) {
            for (int round = 0; round < 50; round++) {
                IllegalStateException boom = new IllegalStateException("boom " + round);
                int failing = round % 40;
                IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.parallelFor(40, (start, end) -> {
                    if (start <= failing && failing < end) {
                        throw boom;
                    }
                }));
                assertSame(boom, thrown);
                assertCoversExactlyOnce(pool, 1000, 1);
            }
        }
    }

    @Test
    void anExceptionOnAWorkerThreadReachesTheCaller() {
        try (WorkerPool pool = new WorkerPool(2)) {
            Thread caller = Thread.currentThread();
            AssertionError boom = new AssertionError("from a worker");
            CountDownLatch workerFailed = new CountDownLatch(1);
            Error thrown = assertThrows(AssertionError.class, () -> pool.parallelFor(16, (start, end) -> {
                if (Thread.currentThread() == caller) {
                    await(workerFailed);
                } else {
                    workerFailed.countDown();
                    throw boom;
                }
            }));
            assertSame(boom, thrown);
        }
    }

    @Test
    void remainingChunksAreSkippedAfterAFailure() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicInteger ran = new AtomicInteger();
            assertThrows(RuntimeException.class, () -> pool.parallelFor(10_000, 1, (start, end) -> {
                ran.incrementAndGet();
                throw new RuntimeException("stop");
            }));
            assertTrue(ran.get() <= 4, ran + " chunks ran after the first failure");
        }
    }

    @Test
    void smallRangesRunOnTheCaller() {
        try (WorkerPool pool = new WorkerPool(4)) {
            Thread caller = Thread.currentThread();
            AtomicReference<Thread> ranOn = new AtomicReference<>();
            AtomicInteger calls = new AtomicInteger();
            pool.parallelFor(15, 8, (start, end) -> {
                ranOn.set(Thread.currentThread());
                calls.incrementAndGet();
                assertEquals(0, start);
                assertEquals(15, end);
            });
            assertSame(caller, ranOn.get());
            assertEquals(1, calls.get());
        }
    }

    @Test
    void closeStopsTheDaemonWorkers() throws InterruptedException {
        WorkerPool pool = new WorkerPool(3);
        CountDownLatch seen = new CountDownLatch(1);
        pool.parallelFor(100, (start, end) -> seen.countDown());
        List<Thread> workers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("rewind-worker-"))
                .toList();
        assertTrue(workers.stream().anyMatch(t -> t.getName().equals("rewind-worker-1")), workers.toString());
        assertTrue(workers.stream().anyMatch(t -> t.getName().equals("rewind-worker-2")), workers.toString());
        assertTrue(workers.stream().allMatch(Thread::isDaemon));
        pool.close();
        for (Thread t : workers) {
            t.join(10_000);
        }
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("rewind-worker-") && workers.contains(t) && t.isAlive()));
        assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, (s, e) -> { }));
        pool.close(); // idempotent
    }

    @Test
    void idleWorkersParkAndWakeUpAgain() {
        try (WorkerPool pool = new WorkerPool(2)) {
            for (int round = 0; round < 5; round++) {
                sleep(30); // much longer than the spin phase: the worker has parked
                Set<String> names = runNeedingAWorker(pool, 8);
                assertTrue(names.contains("rewind-worker-1"), "round " + round + ": " + names);
            }
        }
    }

    @Test
    void aCallAllocatesNothingOnTheCaller() {
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicInteger total = new AtomicInteger();
            WorkerPool.RangeTask task = (start, end) -> total.addAndGet(end - start);
            long cost = Long.MAX_VALUE;
            for (int i = 0; i < 100; i++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                cost = Math.min(cost, threads.getCurrentThreadAllocatedBytes() - before);
            }
            long perBatch = Long.MAX_VALUE;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (perBatch > 0 && System.nanoTime() < deadline) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 1000; i++) {
                    pool.parallelFor(1024, task);
                }
                perBatch = threads.getCurrentThreadAllocatedBytes() - before - cost;
            }
            assertEquals(0, perBatch, "bytes allocated per 1000 parallelFor calls");
            assertTrue(total.get() > 0);
        }
    }

    @Test
    void invalidArguments() {
        assertThrows(IllegalArgumentException.class, () -> new WorkerPool(0));
        try (WorkerPool pool = new WorkerPool()) {
            assertEquals(Runtime.getRuntime().availableProcessors(), pool.threads());
            assertThrows(IllegalArgumentException.class, () -> pool.parallelFor(10, 0, (s, e) -> { }));
            assertThrows(NullPointerException.class, () -> pool.parallelFor(10, null));
            AtomicInteger calls = new AtomicInteger();
            pool.parallelFor(0, (s, e) -> calls.incrementAndGet());
            pool.parallelFor(-5, (s, e) -> calls.incrementAndGet());
            assertEquals(0, calls.get());
            assertFalse(Thread.currentThread().getName().startsWith("rewind-worker-"));
        }
    }

    private static boolean await(CountDownLatch latch) {
        try {
            return latch.await(20, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }
}
