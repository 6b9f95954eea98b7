package dev.rewind.align.rain;

import java.util.ArrayList;
import java.util.List;

/** Collects {@link RainTrace.Commit}s: a copy of the tree under the root at every commit. */
final class TraceRecorder {

    private final List<RainTrace.Commit> commits = new ArrayList<>();

    void commit(int index, int searches, int inherited, String before, SearchNode chosen, SearchNode root, Puct.Bounds bounds,
                Texts texts) {
        commits.add(new RainTrace.Commit(index, searches, inherited, before, chosen.id, new double[]{bounds.min, bounds.max},
                snapshot(root, texts)));
    }

    private static RainTrace.Node snapshot(SearchNode n, Texts texts) {
        List<RainTrace.Node> children = new ArrayList<>(n.children.size());
        for (SearchNode c : n.children) {
            children.add(snapshot(c, texts));
        }
        Judgement j = n.judgement;
        return new RainTrace.Node(n.id, texts.decodePiecewise(n.tokens), n.tokens.clone(), n.depth, n.prior, n.visits, n.realVisits,
                n.value, n.evaluations, j == null ? null : j.score(), n.judgedText, j == null ? List.of() : j.readouts(), children);
    }

    RainTrace build(String prompt, String answer) {
        return new RainTrace(prompt, answer, commits);
    }
}
