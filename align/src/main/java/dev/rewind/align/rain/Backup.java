package dev.rewind.align.rain;

import java.util.ArrayList;
import java.util.List;

/**
 * The backward pass of one inner iteration (§1.7): from the evaluated leaf to the root every node
 * counts a visit and takes the value into its running mean; each node's embedding takes in the text
 * of its span, the spans below it on the path and the simulation; and each sibling whose embedding
 * has a cosine of at least the threshold with it shares the value with weight {@code γ·cosine}:
 * {@code q ← (q·n + w·g)/(n + w)}, {@code n ← n + w}. Siblings below the threshold are not touched.
 */
final class Backup {

    private final Texts texts;
    private final Embedder embedder;
    private final RainParams params;

    Backup(Texts texts, Embedder embedder, RainParams params) {
        this.texts = texts;
        this.embedder = embedder;
        this.params = params;
    }

    /**
     * @param leaf       the evaluated node
     * @param score      the judge's verdict
     * @param simState   the leaf's state followed by its simulation
     * @param simulated  tokens the simulation added
     * @param bounds     the root's value bounds, widened by every path node's new value
     */
    void backup(SearchNode leaf, double score, int[] simState, int simulated, Puct.Bounds bounds) {
        List<SearchNode> path = new ArrayList<>();
        for (SearchNode n = leaf; n != null; n = n.parent) {
            path.add(n);
        }
        List<String> pathTexts = new ArrayList<>();
        int suffix = simulated;
        for (SearchNode n : path) {
            if (n.parent != null) {
                suffix += n.tokens.length;
                pathTexts.add(texts.decode(simState, simState.length - suffix, simState.length));
            }
        }
        List<float[]> embeddings = pathTexts.isEmpty() ? List.of() : embedder.embedAll(pathTexts);
        double g = score;
        for (int i = 0; i < path.size(); i++) {
            SearchNode n = path.get(i);
            g = params.backupDiscount() * g + params.stepReward();
            n.visits += 1;
            n.realVisits += 1;
            if (n.parent != null) {
                absorb(n, embeddings.get(i));
                shareWithSiblings(n, g);
            }
            n.value += (g - n.value) / n.visits;
            if (!n.isRoot()) {
                bounds.include(n.value);
            }
        }
    }

    /** The node's embedding becomes the running mean over its real visits. */
    private static void absorb(SearchNode n, float[] e) {
        if (n.embedding == null) {
            n.embedding = e.clone();
            return;
        }
        for (int d = 0; d < e.length; d++) {
            n.embedding[d] += (e[d] - n.embedding[d]) / n.realVisits;
        }
    }

    private void shareWithSiblings(SearchNode n, double g) {
        for (SearchNode s : n.parent.children) {
            if (s == n || s.embedding == null) {
                continue;
            }
            double similarity = Embedder.cosine(n.embedding, s.embedding);
            if (similarity < params.similarityThreshold()) {
                continue;
            }
            double w = params.similarityDiscount() * similarity;
            s.value = (s.value * s.visits + w * g) / (s.visits + w);
            s.visits += w;
        }
    }
}
