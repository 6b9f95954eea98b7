package dev.rewind.models;

import dev.rewind.engine.parallel.WorkerPool;

/**
 * A decoder-only language model whose weights are views over a mapped GGUF file. One class per
 * architecture family; each knows its tensor names and its forward pass, nothing about
 * tokenizers, sampling or command lines.
 */
public sealed interface LanguageModel permits Llama, Qwen2, Gemma, Phi3 {

    TransformerConfig config();

    /** Activation buffers and a KV cache for one sequence of up to {@code contextLength} positions. */
    ModelState newState(int contextLength);

    /**
     * Runs {@code token} at {@code position} through the network, appending its keys and values to
     * the state's cache. Positions must be fed in order from 0 (an earlier position may be fed again
     * to overwrite the cache from there on).
     *
     * @param computeLogits whether to compute the output row (skipped for prompt positions whose
     *                      prediction nobody reads)
     * @return the state's logits buffer (valid until the next call) or {@code null} when not computed
     */
    float[] forward(ModelState state, int token, int position, boolean computeLogits);

    /** The pool the forward pass splits its work over. */
    WorkerPool pool();
}
