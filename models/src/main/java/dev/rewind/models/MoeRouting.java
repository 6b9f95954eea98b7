package dev.rewind.models;

/** Mixtral's routing of one token: the top-k experts by router logit and their softmax weights over those k. */
final class MoeRouting {

    private MoeRouting() {
    }

    /**
     * Chooses the {@code k} largest of {@code logits[at .. at+n)} (ties to the lower index) into {@code chosen[outAt .. outAt+k)}, largest first, and writes their weights
     * {@code softmax(logits)_e / Σ_chosen softmax(logits)} (= the softmax over the chosen logits)
     * to {@code weights[outAt ..]}. Allocates nothing.
     *
     * @return the routing margin: the last chosen logit minus the largest one not chosen
     *         (+∞ when every expert is chosen); a choice this close could flip under small changes of the input
     */
    static float topK(float[] logits, int at, int n, int k, int[] chosen, float[] weights, int outAt) {
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++) {
                if (isChosen(chosen, outAt, j, e)) {
                    continue;
                }
                if (best < 0 || logits[at + e] > logits[at + best]) {
                    best = e;
                }
            }
            chosen[outAt + j] = best;
        }
        float max = logits[at + chosen[outAt]];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            double w = Math.exp(logits[at + chosen[outAt + j]] - max);
            weights[outAt + j] = (float) w;
            sum += w;
        }
        for (int j = 0; j < k; j++) {
            weights[outAt + j] = (float) (weights[outAt + j] / sum);
        }
        float next = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < n; e++) {
            if (!isChosen(chosen, outAt, k, e)) {
                next = Math.max(next, logits[at + e]);
            }
        }
        return logits[at + chosen[outAt + k - 1]] - next;
    }

    private static boolean isChosen(int[] chosen, int outAt, int taken, int e) {
        for (int i = 0; i < taken; i++) {
            if (chosen[outAt + i] == e) {
                return true;
            }
        }
        return false;
    }
}
