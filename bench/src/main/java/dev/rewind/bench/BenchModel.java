package dev.rewind.bench;

import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.models.SyntheticModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A synthetic model for the whole-model benchmarks: the random-weight GGUF file of a named
 * {@link SyntheticModel} shape and weight type (seed 1), written into {@code modelDir} when it is
 * not there yet, loaded and paged into memory (so no measurement stalls on page faults), with a
 * {@link ModelRunner} of F32 KV pages of {@link PagePool#DEFAULT_PAGE_SIZE} positions over a
 * {@link WorkerPool} of every processor. Writing llama-1b takes tens of seconds; later trials find
 * the file and only map it.
 */
final class BenchModel implements AutoCloseable {

    /** The seed of every benchmark file, as {@code rewind synth}'s default. */
    static final long SEED = 1;

    final Path path;
    final WorkerPool pool;
    final LoadedModel loaded;
    final ModelRunner runner;

    /**
     * @param shape          a {@link SyntheticModel#SHAPES} name, e.g. {@code llama-1b}
     * @param type           a weight type name, e.g. {@code Q4_0}
     * @param modelDir       where the file is looked for and written
     * @param capacityTokens KV capacity of the runner, over all sequences
     */
    BenchModel(String shape, String type, String modelDir, int capacityTokens) {
        SyntheticModel.Shape s = SyntheticModel.shape(shape)
                .orElseThrow(() -> new IllegalArgumentException("unknown shape " + shape + " (valid: " + SyntheticModel.shapeNames() + ")"));
        GgmlType t = GgmlType.valueOf(type);
        this.path = Path.of(modelDir, shape + "-" + t.name() + ".gguf");
        this.pool = new WorkerPool();
        try {
            if (!Files.exists(path)) {
                Files.createDirectories(path.getParent());
                System.out.println("writing " + path + " (missing) ...");
                SyntheticModel.write(path, s, t, SEED, pool, done -> { });
            }
            this.loaded = ModelLoader.load(path, pool);
        } catch (IOException e) {
            pool.close();
            throw new UncheckedIOException(e);
        }
        loaded.prefetch(done -> { });
        this.runner = new ModelRunner(loaded.model(), capacityTokens, PagePool.DEFAULT_PAGE_SIZE, KvType.F32);
    }

    /** {@code n} deterministic token ids spread over the vocabulary (the synthetic vocabulary tokenizes nothing special). */
    int[] tokens(int n, int salt) {
        int vocab = runner.vocabularySize();
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = (int) (((i + 1L) * 7919 + salt * 104729L) % vocab);
        }
        return ids;
    }

    /** Bytes of the model file: what a decode step reads at least once. */
    long fileBytes() {
        try {
            return Files.size(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        runner.close();
        loaded.close();
        pool.close();
    }
}
