package dev.rewind.align.rain;

/**
 * What a run cost.
 *
 * @param generatorTokens tokens the generator model ran through a forward pass (prompt, rollouts, simulations)
 * @param judgeTokens     tokens the judge ran (judge prompts; with a self-judge the same model)
 * @param embedderTokens  tokens the embedder ran (similarity texts): through the judge for the hidden-state
 *                        embedder, through the sentence encoder for {@link EncoderEmbedder}
 * @param forwardCalls    forward calls of all roles
 * @param kvPagesPeak     most KV pages held at once (summed over distinct page pools)
 * @param seconds         wall time
 * @param embedderSeconds the part of {@code seconds} spent computing embeddings
 */
public record RunCost(long generatorTokens, long judgeTokens, long embedderTokens, long forwardCalls, int kvPagesPeak, double seconds,
                      double embedderSeconds) {

    /** The embedder's share of the wall time, 0 to 1. */
    public double embedderShare() {
        return seconds > 0 ? embedderSeconds / seconds : 0;
    }

    /** Tokens of every role. */
    public long totalTokens() {
        return generatorTokens + judgeTokens + embedderTokens;
    }
}
