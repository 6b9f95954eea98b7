package dev.rewind.align.rain;

/** Small helpers over traced trees. */
final class RainSearchStats {

    private RainSearchStats() {
    }

    static RainTrace.Node highestPriorChild(RainTrace.Node node) {
        RainTrace.Node best = null;
        for (RainTrace.Node c : node.children()) {
            if (best == null || c.prior() > best.prior()) {
                best = c;
            }
        }
        return best;
    }
}
