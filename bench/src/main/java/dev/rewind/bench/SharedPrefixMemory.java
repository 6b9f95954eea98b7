package dev.rewind.bench;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.kv.Sequence;

import java.util.ArrayList;
import java.util.List;

/**
 * Bytes of K/V held by {@code branches} branches that share a {@code prefix}-position prefix and
 * each append {@code own} positions of their own, against the same branches held as private
 * copies (each sequence writing its own {@code prefix + own} positions). Not a timing: the figure
 * is {@code pool.pagesInUse() × pool.pageBytes()} once every branch is complete, so a plain
 * program, not a JMH benchmark. No model is needed; rows are written through
 * {@link Sequence#write} as a forward pass would write them (so copy-on-write happens where it
 * would), on a {@link PagePool} of llama-1b's geometry (16 layers, kvDim 512, F32, 16-position
 * pages).
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.rewind.bench.SharedPrefixMemory [prefix [own [branches]]]
 * </pre>
 * Defaults: 2048, 64, 16. It also prints the case of a prefix one position past a page boundary,
 * where each branch's first write copies the shared, partly filled last page.
 */
public final class SharedPrefixMemory {

    static final int LAYERS = ForkTruncateBenchmark.LAYERS;
    static final int KV_DIM = ForkTruncateBenchmark.KV_DIM;
    static final int PAGE_SIZE = PagePool.DEFAULT_PAGE_SIZE;

    private SharedPrefixMemory() {
    }

    public static void main(String[] args) {
        int prefix = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int own = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int branches = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        report(prefix, own, branches);
        if (prefix % PAGE_SIZE == 0) {
            report(prefix + 1, own, branches);
        }
    }

    private static void report(int prefix, int own, int branches) {
        long shared = shared(prefix, own, branches);
        long copies = privateCopies(prefix, own, branches);
        System.out.printf("%d branches, prefix %d, %d own positions each (llama-1b KV geometry, F32, pages of %d):%n",
                branches, prefix, own, PAGE_SIZE);
        System.out.printf("  shared prefix:  %,15d bytes (%8.1f MiB)%n", shared, shared / 1048576.0);
        System.out.printf("  private copies: %,15d bytes (%8.1f MiB)%n", copies, copies / 1048576.0);
        System.out.printf("  ratio:          %.2f x%n", (double) copies / shared);
    }

    private static PagePool pool(int tokens) {
        return PagePool.forTokens(LAYERS, KV_DIM, PAGE_SIZE, tokens, KvType.F32);
    }

    /** One trunk of {@code prefix}, {@code branches} forks each appending {@code own}; the trunk is closed once forked. */
    static long shared(int prefix, int own, int branches) {
        try (PagePool pool = pool(prefix + branches * (own + 2 * PAGE_SIZE))) {
            Sequence trunk = pool.newSequence();
            append(trunk, prefix, 0);
            List<Sequence> forks = new ArrayList<>();
            for (int b = 0; b < branches; b++) {
                forks.add(trunk.fork());
            }
            trunk.close();
            for (int b = 0; b < branches; b++) {
                append(forks.get(b), own, b + 1);
            }
            long bytes = pool.pagesInUse() * pool.pageBytes();
            forks.forEach(Sequence::close);
            return bytes;
        }
    }

    /** {@code branches} independent sequences of {@code prefix + own} positions each. */
    static long privateCopies(int prefix, int own, int branches) {
        try (PagePool pool = pool(branches * (prefix + own + PAGE_SIZE))) {
            List<Sequence> sequences = new ArrayList<>();
            for (int b = 0; b < branches; b++) {
                Sequence s = pool.newSequence();
                append(s, prefix, 0);
                append(s, own, b + 1);
                sequences.add(s);
            }
            long bytes = pool.pagesInUse() * pool.pageBytes();
            sequences.forEach(Sequence::close);
            return bytes;
        }
    }

    /** Appends {@code n} positions, one at a time as decoding does, writing every layer's key and value rows. */
    private static void append(Sequence s, int n, int salt) {
        float[] row = new float[KV_DIM];
        for (int i = 0; i < n; i++) {
            s.reserve(1);
            int position = s.length();
            row[0] = position;
            row[1] = salt;
            for (int l = 0; l < LAYERS; l++) {
                s.write(l, position, row, 0, row, 0);
            }
            s.advance(1);
        }
    }
}
