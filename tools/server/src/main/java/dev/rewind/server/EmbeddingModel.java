package dev.rewind.server;

import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.models.bert.Embedder;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The sentence encoder behind {@code POST /v1/embeddings}: listed in {@code /v1/models} under {@code name},
 * loaded by {@code loader} on the first embeddings request (a server that is never asked for embeddings
 * never loads it) and closed with the server. {@link #embed} runs on the caller's thread (the request's
 * virtual thread, never the generation scheduler's) and one call at a time.
 *
 * @param name   the model name requests give (and {@code /v1/models} lists)
 * @param loader opens the encoder
 */
public record EmbeddingModel(String name, Loader loader) {

    /** Opens an {@link Embedder}. */
    @FunctionalInterface
    public interface Loader {
        Embedder load() throws IOException;
    }

    /** The bundled all-MiniLM-L6-v2 on a worker pool of {@code threads} threads. */
    public static EmbeddingModel miniLm(int threads) {
        return new EmbeddingModel("all-MiniLM-L6-v2", () -> BertEmbedder.miniLm(threads));
    }

    /** The loaded encoder of one server: created at most once, closed once. */
    static final class Holder implements AutoCloseable {
        private final EmbeddingModel model;
        private Embedder embedder;
        private boolean closed;

        Holder(EmbeddingModel model) {
            this.model = model;
        }

        String name() {
            return model.name();
        }

        /** The embeddings of {@code texts}, loading the encoder first if this is the first call. */
        synchronized Embedder.Embeddings embed(java.util.List<String> texts) {
            if (closed) {
                throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
            }
            if (embedder == null) {
                try {
                    embedder = model.loader().load();
                } catch (IOException e) {
                    throw new UncheckedIOException("could not load the embedding model " + model.name() + ": " + e.getMessage(), e);
                }
            }
            return embedder.embed(texts);
        }

        @Override
        public synchronized void close() {
            closed = true;
            if (embedder != null) {
                embedder.close();
                embedder = null;
            }
        }
    }
}
