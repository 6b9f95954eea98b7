package dev.rewind.engine.sampling;

/**
 * One step of a sampling chain: transforms or narrows the candidates before the draw. Processors
 * run in the order of the chain; a mixture of models (DeRa) happens before the chain, in the
 * logits source.
 */
@FunctionalInterface
public interface LogitsProcessor {

    /**
     * @param candidates the candidates to transform in place
     * @param history    the tokens so far (prompt and generated)
     * @param length     valid entries of {@code history}
     */
    void apply(Candidates candidates, int[] history, int length);
}
