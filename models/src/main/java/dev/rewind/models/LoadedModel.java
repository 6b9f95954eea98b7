package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.WeightPacker;
import dev.rewind.tokenizer.Tokenizer;

import java.util.function.LongConsumer;

/**
 * A model, its tokenizer and the mapped file both read from, with the packed weights of the
 * {@link Precision#FAST} path ({@code packer} is {@code null} for the exact path). Closing it
 * frees the packed weights and unmaps the file; the model must not be used afterwards.
 */
public record LoadedModel(GgufFile file, LanguageModel model, Tokenizer tokenizer, Precision precision, WeightPacker packer)
        implements AutoCloseable {

    /**
     * Pages every tensor of the file into memory, so the first tokens do not stall on page faults.
     * {@code bytesDone} is told the running total after each tensor.
     */
    public void prefetch(LongConsumer bytesDone) {
        long done = file.dataOffset();
        for (GgufTensorInfo t : file.tensors()) {
            file.tensorData(t).load();
            done += t.byteSize();
            bytesDone.accept(done);
        }
    }

    @Override
    public void close() {
        try {
            if (packer != null) {
                packer.close();
            }
        } finally {
            file.close();
        }
    }
}
