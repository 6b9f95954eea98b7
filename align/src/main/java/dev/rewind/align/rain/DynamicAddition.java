package dev.rewind.align.rain;

import java.util.List;

/**
 * Dynamic node addition (§1.8): when a node's children say much the same thing (their embeddings
 * vary little) and all look bad (every value below the bound), one more child is proposed.
 */
final class DynamicAddition {

    private DynamicAddition() {
    }

    /**
     * Whether {@code node} needs one more child: fewer than the maximum, every child embedded, the
     * L2 norm of the per-dimension (unbiased) variance of their embeddings below
     * {@code factor × span length}, and every child's value below the bound. Fewer than two children
     * have no variance, so never.
     */
    static boolean needed(SearchNode node, RainParams p) {
        List<SearchNode> children = node.children;
        int k = children.size();
        if (k >= p.dynamicAddMaxChildren() || k < 2) {
            return false;
        }
        for (SearchNode c : children) {
            if (c.embedding == null) {
                return false;
            }
        }
        int dims = children.getFirst().embedding.length;
        double norm = 0;
        for (int d = 0; d < dims; d++) {
            double mean = 0;
            for (SearchNode c : children) {
                mean += c.embedding[d];
            }
            mean /= k;
            double var = 0;
            for (SearchNode c : children) {
                double x = c.embedding[d] - mean;
                var += x * x;
            }
            var /= k - 1;
            norm += var * var;
        }
        norm = Math.sqrt(norm);
        double maxValue = Double.NEGATIVE_INFINITY;
        for (SearchNode c : children) {
            maxValue = Math.max(maxValue, c.value);
        }
        return norm < p.dynamicAddVarianceFactor() * children.getFirst().tokens.length && maxValue < p.dynamicAddMaxValue();
    }
}
