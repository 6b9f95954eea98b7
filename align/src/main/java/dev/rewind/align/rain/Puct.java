package dev.rewind.align.rain;

/**
 * RAIN's selection and commit choices (§1.7, §1.3), as the official code computes them.
 */
final class Puct {

    private Puct() {
    }

    /**
     * The child to descend into: the highest {@code qhat + c·p·sqrt(n_parent)/(1 + n)}, with
     * {@code qhat = (q − qMin)/(qMax − qMin + 1e-5)} for visited children and 0 for unvisited ones;
     * the first child wins ties.
     */
    static SearchNode select(SearchNode parent, Bounds bounds, double cPuct) {
        SearchNode best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        double sqrtParent = Math.sqrt(parent.visits);
        for (SearchNode c : parent.children) {
            double qhat = c.visits == 0 ? 0 : (c.value - bounds.min) / (bounds.max - bounds.min + 1e-5);
            double score = qhat + cPuct * c.prior * sqrtParent / (1 + c.visits);
            if (score > bestScore) {
                best = c;
                bestScore = score;
            }
        }
        return best;
    }

    /** The child with the most visits {@code n}; ties to the higher value, then to the first. Null without children. */
    static SearchNode mostVisited(SearchNode parent) {
        SearchNode best = null;
        for (SearchNode c : parent.children) {
            if (best == null || c.visits > best.visits || (c.visits == best.visits && c.value > best.value)) {
                best = c;
            }
        }
        return best;
    }

    /** The bounds that normalise values in selection: the request's root's {@code qMin, qMax}, carried over when re-rooting. */
    static final class Bounds {
        double min = -1;
        double max = 1;

        void include(double q) {
            min = Math.min(min, q);
            max = Math.max(max, q);
        }
    }
}
