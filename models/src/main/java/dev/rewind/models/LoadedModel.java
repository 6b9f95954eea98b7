package dev.rewind.models;

import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.WeightPacker;
import dev.rewind.tokenizer.Tokenizer;

import java.util.function.LongConsumer;

/**
 * A model, its tokenizer and the mapped weights both read from (a GGUF file or a Hugging Face
 * folder), with the packed weights of the {@link Precision#FAST} path ({@code packer} is
 * {@code null} for the exact path). Closing it frees the packed weights and unmaps the files; the
 * model must not be used afterwards.
 */
public record LoadedModel(ModelWeights file, LanguageModel model, Tokenizer tokenizer, Precision precision, WeightPacker packer,
                          LoadTimeQuantizer quantizer) implements AutoCloseable {

    /** A model loaded without {@code --quantize}. */
    public LoadedModel(ModelWeights file, LanguageModel model, Tokenizer tokenizer, Precision precision, WeightPacker packer) {
        this(file, model, tokenizer, precision, packer, null);
    }

    /**
     * Pages every tensor of the file into memory, so the first tokens do not stall on page faults.
     * {@code bytesDone} is told the running total after each tensor.
     */
    public void prefetch(LongConsumer bytesDone) {
        long done = 0;
        for (WeightTensor t : file.tensors()) {
            if (t.data().isMapped()) {
                t.data().load();
            }
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
            if (quantizer != null) {
                quantizer.close();
            }
        } finally {
            file.close();
        }
    }
}
