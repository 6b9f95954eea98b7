package dev.rewind.models;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The mapped weights a model was built from, under GGUF tensor names: a GGUF file or a Hugging Face
 * folder of safetensors shards. Closing unmaps them; the model must not be used afterwards.
 */
public sealed interface ModelWeights extends AutoCloseable permits GgufWeights, HfWeights {

    /** The GGUF file or the model folder. */
    Path path();

    /** Bytes of all files mapped. */
    long fileSize();

    /** Every tensor, in file order. */
    List<WeightTensor> tensors();

    /** The tensor of GGUF name {@code name}. */
    Optional<WeightTensor> tensor(String name);

    /**
     * The experts of the 3-D GGUF tensor {@code name} ({@code blk.N.ffn_*_exps.weight}) where the weights
     * store one 2-D matrix per expert (Hugging Face), in expert order; empty where they are stored
     * stacked in {@link #tensor} (GGUF) or absent.
     */
    default List<WeightTensor> experts(String name) {
        return List.of();
    }

    /** How to name the tensor of GGUF name {@code name} in a message: as the user's file names it. */
    String describe(String name);

    @Override
    void close();
}
