package dev.rewind.align.rain;

/**
 * What a run cost.
 *
 * @param generatorTokens tokens the generator model ran through a forward pass (prompt, rollouts, simulations)
 * @param judgeTokens     tokens the judge ran (judge prompts; with a self-judge the same model)
 * @param embedderTokens  tokens the embedder ran (similarity texts)
 * @param forwardCalls    forward calls of all roles
 * @param kvPagesPeak     most KV pages held at once (summed over distinct page pools)
 * @param seconds         wall time
 */
public record RunCost(long generatorTokens, long judgeTokens, long embedderTokens, long forwardCalls, int kvPagesPeak, double seconds) {

    /** Tokens of every role. */
    public long totalTokens() {
        return generatorTokens + judgeTokens + embedderTokens;
    }
}
