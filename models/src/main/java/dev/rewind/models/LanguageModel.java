package dev.rewind.models;

import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.parallel.WorkerPool;

/**
 * A decoder-only language model whose weights are views over a mapped GGUF file. One class per
 * architecture family; each knows its tensor names and its forward pass, nothing about
 * tokenizers, sampling or command lines. The model holds no per-sequence state: keys and values
 * live in the batch's sequences, activations in a {@link Workspace}.
 */
public sealed interface LanguageModel permits Llama, Mixtral, Qwen2, Qwen3, Gemma, Gemma2, Gemma3, Phi3 {

    TransformerConfig config();

    /** The pool the forward pass splits its work over. */
    WorkerPool pool();

    /** Activation buffers for forward calls of this model (one call at a time per workspace), for sequences up to the trained context. */
    default Workspace newWorkspace() {
        return newWorkspace(config().contextLength());
    }

    /**
     * Activation buffers for sequences of at most {@code context} positions (LongRoPE picks its
     * factors by this length, as llama.cpp does by its context size).
     */
    default Workspace newWorkspace(int context) {
        return new Workspace(config(), pool(), context);
    }

    /**
     * Runs every entry's new tokens through the network, appending their keys and values to the
     * entry's sequence, and returns the logits the entries asked for. Each weight matrix is read
     * once for all tokens of the batch.
     *
     * @throws dev.rewind.engine.kv.KvCacheFullException if the sequences' pool cannot hold the new
     *         positions; then no sequence has changed
     * @throws IllegalArgumentException if a token id is outside the vocabulary
     */
    Logits forward(Batch batch, Workspace workspace);
}
