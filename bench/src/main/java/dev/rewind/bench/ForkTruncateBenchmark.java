package dev.rewind.bench;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * Branching and rewinding a KV sequence without computing anything, on a {@link PagePool} of
 * llama-1b's geometry (16 layers, kvDim 512, F32, 16-position pages of 1 MiB each), for a sequence
 * holding a prefix of {@code prefix} positions (64, 1024, 16384 = 4, 64, 1024 pages):
 * <ul>
 *   <li>{@link #forkAndClose}: {@link Sequence#fork()} of the prefix and {@link Sequence#close()}
 *       of the branch — a reference count up and down per page, no K/V bytes touched;</li>
 *   <li>{@link #truncateAndRegrow}: {@link Sequence#truncate} back by one page, then
 *       {@link Sequence#reserve} and {@link Sequence#advance} of that page again (a rewind and the
 *       bookkeeping of regrowing, without the forward pass that would fill the rows);</li>
 *   <li>{@link #copyPrefixBytes}: for contrast, what a branch costs when it copies the prefix's
 *       keys and values instead of sharing them: {@link MemorySegment#copy} of the same bytes
 *       ({@code prefix} × 16 layers × 512 × 4 bytes, keys and values: 64 KiB per position), in two
 *       calls (the most favourable case for copying) into memory of its own.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ForkTruncateBenchmark {

    /** llama-1b: 16 layers, 8 KV heads of 64. */
    static final int LAYERS = 16;
    static final int KV_DIM = 512;

    @Param({"64", "1024", "16384"})
    public int prefix;

    private PagePool pool;
    private Sequence trunk;
    private Arena arena;
    private MemorySegment copyKeys;
    private MemorySegment copyValues;
    private long prefixBytesPerSide;

    @Setup(Level.Trial)
    public void setUp() {
        int pageSize = PagePool.DEFAULT_PAGE_SIZE;
        pool = PagePool.forTokens(LAYERS, KV_DIM, pageSize, prefix + 4 * pageSize, KvType.F32);
        trunk = pool.newSequence();
        trunk.reserve(prefix);
        float[] row = new float[KV_DIM];
        for (int l = 0; l < LAYERS; l++) {
            for (int p = 0; p < prefix; p++) {
                row[0] = p;
                trunk.write(l, p, row, 0, row, 0);
            }
        }
        trunk.advance(prefix);
        // the prefix's pages are the pool's first ones (low ids are handed out first), so its bytes are contiguous
        prefixBytesPerSide = (long) prefix * LAYERS * KV_DIM * KvType.F32.bytes();
        arena = Arena.ofShared();
        copyKeys = arena.allocate(prefixBytesPerSide, 64);
        copyValues = arena.allocate(prefixBytesPerSide, 64);
        System.out.printf("%nprefix %d: %d pages of %,d bytes; K/V bytes %,d%n", prefix, pool.pagesInUse(),
                pool.pageBytes(), 2 * prefixBytesPerSide);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (trunk.length() != prefix || pool.pagesInUse() != prefix / pool.pageSize()) {
            throw new IllegalStateException("state drifted: " + trunk + ", " + pool.pagesInUse() + " pages in use");
        }
        trunk.close();
        pool.close();
        arena.close();
    }

    @Benchmark
    public Sequence forkAndClose() {
        Sequence branch = trunk.fork();
        branch.close();
        return branch;
    }

    @Benchmark
    public int truncateAndRegrow() {
        int page = pool.pageSize();
        trunk.truncate(prefix - page);
        trunk.reserve(page);
        trunk.advance(page);
        return trunk.length();
    }

    @Benchmark
    public MemorySegment copyPrefixBytes() {
        MemorySegment.copy(pool.keys(), 0, copyKeys, 0, prefixBytesPerSide);
        MemorySegment.copy(pool.values(), 0, copyValues, 0, prefixBytesPerSide);
        return copyValues;
    }
}
