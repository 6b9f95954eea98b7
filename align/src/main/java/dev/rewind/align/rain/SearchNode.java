package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A node of RAIN's search tree (§1.2): a span of tokens with its statistics, and the KV state after
 * it. The node's sequence is forked from where its parent's rollouts left it, so reaching the node
 * never evaluates its prefix again: at most the span's last {@link #pending} tokens (usually one) are
 * evaluated, once, when the node is first visited. Children keep insertion order, which breaks ties.
 */
final class SearchNode {

    final int id;
    /** The span; empty for the request's first root. */
    final int[] tokens;
    /** Depth from the request's first root (never reset by re-rooting). */
    final int depth;
    SearchNode parent;
    final List<SearchNode> children = new ArrayList<>();

    /** p: normalised prior among siblings. */
    double prior;
    /** n: visits, real-valued (similarity updates add fractions). */
    double visits;
    /** fn: real visits, backups through this node only. */
    int realVisits;
    /** q: running mean of backed-up values. */
    double value;
    /** Running mean of the embeddings of texts through this node; null before the first backup. */
    float[] embedding;

    /** Holds the keys and values of the state up to the span minus {@link #pending}. */
    TokenSequence sequence;
    /** Span tokens not evaluated yet. */
    int[] pending;
    /** Next-token logits after the span, while needed (until the node is expanded). */
    float[] logits;
    /** What the expansion proposed; null before it. */
    Expansion expansion;

    /** The last verdict on a text through this node as a leaf, for the trace. */
    Judgement judgement;
    String judgedText;
    /** Times this node was the evaluated leaf. */
    int evaluations;

    SearchNode(int id, int[] tokens, int depth, SearchNode parent, double prior) {
        this.id = id;
        this.tokens = tokens.clone();
        this.depth = depth;
        this.parent = parent;
        this.prior = prior;
    }

    boolean isLeaf() {
        return children.isEmpty();
    }

    boolean isRoot() {
        return parent == null;
    }

    SearchNode child(int[] span) {
        for (SearchNode c : children) {
            if (Arrays.equals(c.tokens, span)) {
                return c;
            }
        }
        return null;
    }

    /** Releases the KV state of this node and its whole subtree. */
    void closeSubtree() {
        if (expansion instanceof Expansion.Spans s) {
            s.trie().discard();
        }
        if (sequence != null) {
            sequence.close();
            sequence = null;
        }
        logits = null;
        for (SearchNode c : children) {
            c.closeSubtree();
        }
    }

    @Override
    public String toString() {
        return "Node" + id + Arrays.toString(tokens) + "[n=" + visits + ", fn=" + realVisits + ", q=" + value + ", p=" + prior + "]";
    }
}
