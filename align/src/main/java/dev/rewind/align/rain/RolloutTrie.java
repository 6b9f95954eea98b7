package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Every token position the rollouts of one tree node have reached, as a trie rooted at the node's
 * state, so that no position is evaluated twice: rollouts that agree on their first tokens share
 * those positions, a simulation's positions are reused by the rollouts that follow it, and a later
 * dynamic addition walks down what earlier rollouts evaluated. A position keeps only the top-k of
 * its next-token logits (all a rollout draws from) and where its keys and values are: a sequence
 * whose first {@code base + depth} positions are this position's prefix. While rollouts run, those
 * are the rollouts' own sequences, all advanced one token per step in one batched forward call;
 * {@link #settle} then hands positions over to the children's sequences and closes the rest.
 * Not thread-safe.
 */
final class RolloutTrie {

    /** One position: the tokens from the trie's root to here. */
    static final class Point {
        final Point parent;
        final int token;
        final int depth;
        /** The top-k of the next-token logits; null until this position is evaluated. */
        TopTokens next;
        /** Holds this position's keys and values in its first {@code base + depth} positions (when evaluated). */
        TokenSequence kv;
        /** The whole next-token row, kept only where a child may start complete (a simulation reached a span's end). */
        float[] row;
        final Map<Integer, Point> children = new LinkedHashMap<>();

        Point(Point parent, int token, int depth) {
            this.parent = parent;
            this.token = token;
            this.depth = depth;
        }

        boolean evaluated() {
            return next != null;
        }
    }

    /** A finished rollout: its tokens and the product of their top-k probabilities. */
    record Rollout(int[] tokens, double probability) {
    }

    /** How one rollout chooses its tokens: the most likely ({@code random == null}) or drawn. */
    record Drawer(SplittableRandom random) {
        static final Drawer GREEDY = new Drawer(null);
    }

    private final LogitsSource source;
    private final int base;
    private final int topK;
    private final double temperature;
    final Point root;
    private final List<TokenSequence> owned = new ArrayList<>();

    /**
     * @param nodeSequence the node's sequence (not owned: never appended to)
     * @param nodeLogits   the node's next-token logits
     * @param topK         rollout tokens are drawn from this many most likely tokens
     * @param temperature  temperature of those draws
     */
    RolloutTrie(LogitsSource source, TokenSequence nodeSequence, float[] nodeLogits, int topK, double temperature) {
        this.source = source;
        this.base = nodeSequence.length();
        this.topK = topK;
        this.temperature = temperature;
        this.root = new Point(null, -1, 0);
        root.kv = nodeSequence;
        root.next = TopTokens.of(nodeLogits, topK);
    }

    /**
     * Adds the evaluated positions of a simulation from the root: {@code tokens[j]} was appended to
     * {@code sequence} and {@code rows.get(j)} is the row after it, for every j below {@code rows.size()}.
     * The trie takes the sequence over. The row at depth {@code keepRowAt} is kept whole.
     */
    void seed(int[] tokens, TokenSequence sequence, List<float[]> rows, int keepRowAt) {
        owned.add(sequence);
        Point p = root;
        for (int j = 0; j < rows.size(); j++) {
            p = child(p, tokens[j]);
            if (!p.evaluated()) {
                p.next = TopTokens.of(rows.get(j), topK);
                p.kv = sequence;
                if (j + 1 == keepRowAt) {
                    p.row = rows.get(j);
                }
            }
        }
    }

    /**
     * Runs the rollouts in lock-step for {@code length} tokens: each step every rollout draws its next
     * token from its position's top-k softmax, and the positions no rollout has reached before are
     * evaluated together in one forward call. The last token of each rollout is drawn, not evaluated.
     */
    List<Rollout> run(int length, List<Drawer> drawers) {
        int r = drawers.size();
        Point[] at = new Point[r];
        Arrays.fill(at, root);
        int[][] tokens = new int[r][length];
        double[] logp = new double[r];
        for (int step = 0; step < length; step++) {
            for (int i = 0; i < r; i++) {
                Point p = at[i];
                double[] probs = p.next.probabilities(topK, temperature);
                SplittableRandom random = drawers.get(i).random();
                int pick = random == null ? 0 : TopTokens.draw(probs, random);
                tokens[i][step] = p.next.ids()[pick];
                logp[i] += Math.log(probs[pick]);
                at[i] = child(p, tokens[i][step]);
            }
            if (step + 1 < length) {
                Set<Point> fresh = new LinkedHashSet<>();
                for (Point p : at) {
                    if (!p.evaluated()) {
                        fresh.add(p);
                    }
                }
                evaluate(new ArrayList<>(fresh));
            }
        }
        List<Rollout> out = new ArrayList<>(r);
        for (int i = 0; i < r; i++) {
            out.add(new Rollout(tokens[i], Math.exp(logp[i])));
        }
        return out;
    }

    /** Evaluates each point's token after its parent's position, all in one forward call. */
    private void evaluate(List<Point> points) {
        if (points.isEmpty()) {
            return;
        }
        Set<TokenSequence> claimed = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Batch.Entry> entries = new ArrayList<>(points.size());
        List<TokenSequence> sequences = new ArrayList<>(points.size());
        for (Point p : points) {
            TokenSequence s = sequenceAfter(p.parent, claimed);
            sequences.add(s);
            entries.add(new Batch.Entry(s, new int[]{p.token}, Batch.Wanted.LAST));
        }
        Logits logits = source.forward(Batch.of(entries));
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            p.next = TopTokens.of(logits.row(i), topK);
            p.kv = sequences.get(i);
        }
    }

    /** A sequence ending at {@code p}'s position that may be appended to: {@code p}'s own when it ends there, else a fork. */
    private TokenSequence sequenceAfter(Point p, Set<TokenSequence> claimed) {
        int length = base + p.depth;
        if (p != root && p.kv.length() == length && containsIdentity(owned, p.kv) && claimed.add(p.kv)) {
            return p.kv;
        }
        TokenSequence s = p.kv.fork();
        owned.add(s);
        s.truncate(length);
        claimed.add(s);
        return s;
    }

    private static boolean containsIdentity(List<TokenSequence> list, TokenSequence s) {
        for (TokenSequence x : list) {
            if (x == s) {
                return true;
            }
        }
        return false;
    }

    private static Point child(Point p, int token) {
        return p.children.computeIfAbsent(token, t -> new Point(p, t, p.depth + 1));
    }

    /** How far a span's positions are evaluated: the deepest evaluated point along it (the root at worst). */
    Point deepestEvaluated(int[] span) {
        Point p = root;
        for (int t : span) {
            Point c = p.children.get(t);
            if (c == null || !c.evaluated()) {
                break;
            }
            p = c;
        }
        return p;
    }

    /**
     * A new sequence for a child with {@code span}: forked from the deepest evaluated position along it.
     * The returned state's {@code pending} tokens are the span's tokens past that position, and
     * {@code logits} the row after the whole span when a simulation evaluated all of it (else null).
     */
    ChildState childState(int[] span) {
        Point p = deepestEvaluated(span);
        TokenSequence s = p.kv.fork();
        s.truncate(base + p.depth);
        int[] pending = Arrays.copyOfRange(span, p.depth, span.length);
        float[] logits = pending.length == 0 ? p.row : null;
        if (pending.length == 0 && logits == null) {
            // evaluated to the end, but the row was not kept: evaluate the last token again on a shorter fork
            s.truncate(base + p.depth - 1);
            pending = new int[]{span[span.length - 1]};
        }
        return new ChildState(s, pending, logits);
    }

    /** A child's starting state. */
    record ChildState(TokenSequence sequence, int[] pending, float[] logits) {
    }

    /**
     * After the children of the trie's node are made from their spans: every position on a child's
     * span that the child's sequence holds now refers to that sequence, other positions are dropped,
     * whole rows are dropped, and the rollouts' own sequences are closed.
     *
     * @param spans     the children's spans
     * @param sequences the children's sequences, in the same order
     */
    void settle(List<int[]> spans, List<TokenSequence> sequences) {
        Set<Point> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        kept.add(root);
        for (int i = 0; i < spans.size(); i++) {
            TokenSequence s = sequences.get(i);
            Point p = root;
            for (int t : spans.get(i)) {
                Point c = p.children.get(t);
                if (c == null || !c.evaluated() || base + c.depth > s.length()) {
                    break;
                }
                c.kv = s;
                kept.add(c);
                p = c;
            }
        }
        prune(root, kept);
        for (TokenSequence s : owned) {
            s.close();
        }
        owned.clear();
    }

    private static void prune(Point p, Set<Point> kept) {
        p.row = null;
        p.children.values().removeIf(c -> !kept.contains(c));
        for (Point c : p.children.values()) {
            prune(c, kept);
        }
    }

    /** Closes the rollouts' own sequences (when the node is dropped before settling). */
    void discard() {
        for (TokenSequence s : owned) {
            s.close();
        }
        owned.clear();
    }
}
