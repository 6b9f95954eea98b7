package dev.rewind.server;

import dev.rewind.engine.kv.Sequence;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A radix tree of token prefixes whose keys and values some cached {@link Sequence} holds. A new
 * request forks the sequence of its longest cached prefix instead of evaluating those tokens again
 * (a fork shares every page; truncating it to the match gives back the pages past it). Entries are
 * the prompts of running requests and the whole token lists of finished ones; an entry covered by a
 * longer one is dropped. Eviction takes the least recently used entry. Used by the scheduler thread
 * only.
 */
final class PrefixCache implements AutoCloseable {

    /** The result of {@link #lookup}: a sequence holding the first {@code tokens} tokens of the query. */
    record Match(Sequence sequence, int tokens) {
    }

    private static final class Node {
        Node parent;
        int[] label;
        final int depth;
        final Map<Integer, Node> children = new HashMap<>();
        Sequence sequence;
        long lastUsed;

        Node(Node parent, int[] label, int depth) {
            this.parent = parent;
            this.label = label;
            this.depth = depth;
        }
    }

    private final int maxEntries;
    private final Node root = new Node(null, new int[0], 0);
    private int entries;
    private long clock;

    /** @param maxEntries most sequences kept; beyond it the least recently used is dropped */
    PrefixCache(int maxEntries) {
        if (maxEntries < 0) {
            throw new IllegalArgumentException("prefix cache entries must be >= 0, got " + maxEntries);
        }
        this.maxEntries = maxEntries;
    }

    /** Cached sequences. */
    int entries() {
        return entries;
    }

    /** Pages the cached sequences reference (a page shared by two entries counts twice). */
    int pages() {
        int[] sum = {0};
        visit(root, n -> sum[0] += n.sequence == null ? 0 : n.sequence.pageCount());
        return sum[0];
    }

    /**
     * The longest cached prefix of {@code tokens[0 .. limit)}, as a new sequence the caller owns; null
     * when no cached entry shares a first token.
     */
    Match lookup(int[] tokens, int limit) {
        Node node = root;
        int i = 0;
        Node holder = root;
        while (i < limit) {
            Node child = node.children.get(tokens[i]);
            if (child == null) {
                break;
            }
            int m = 0;
            while (m < child.label.length && i + m < limit && child.label[m] == tokens[i + m]) {
                m++;
            }
            i += m;
            holder = child;
            if (m < child.label.length) {
                break;
            }
            node = child;
        }
        if (i == 0) {
            return null;
        }
        Node owner = withSequence(holder);
        owner.lastUsed = ++clock;
        Sequence fork = owner.sequence.fork();
        fork.truncate(i);
        return new Match(fork, i);
    }

    /** The length of the longest cached prefix of {@code tokens[0 .. limit)}, without taking it. */
    int matchLength(int[] tokens, int limit) {
        Node node = root;
        int i = 0;
        while (i < limit) {
            Node child = node.children.get(tokens[i]);
            if (child == null) {
                break;
            }
            int m = 0;
            while (m < child.label.length && i + m < limit && child.label[m] == tokens[i + m]) {
                m++;
            }
            i += m;
            if (m < child.label.length) {
                break;
            }
            node = child;
        }
        return i;
    }

    /** Tokens {@code a} and {@code b} share from the start, at most {@code limit}. */
    static int commonPrefix(int[] a, int[] b, int limit) {
        int n = Math.min(limit, Math.min(a.length, b.length));
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    /**
     * Keeps {@code sequence}, which holds the keys and values of {@code tokens[0 .. sequence.length())};
     * the cache owns it from now on (it may close it at once when a longer entry covers it).
     */
    void insert(int[] tokens, Sequence sequence) {
        int length = sequence.length();
        if (maxEntries == 0 || length == 0) {
            sequence.close();
            return;
        }
        Node node = root;
        int i = 0;
        while (i < length) {
            Node child = node.children.get(tokens[i]);
            if (child == null) {
                Node leaf = new Node(node, Arrays.copyOfRange(tokens, i, length), length);
                node.children.put(tokens[i], leaf);
                node = leaf;
                i = length;
                break;
            }
            int m = 0;
            while (m < child.label.length && i + m < length && child.label[m] == tokens[i + m]) {
                m++;
            }
            if (m < child.label.length) {
                child = split(child, m);
            }
            i += m;
            node = child;
        }
        if (node.sequence != null || !node.children.isEmpty()) {
            sequence.close(); // an entry as long or longer already holds these tokens
            touch(node);
            return;
        }
        node.sequence = sequence;
        node.lastUsed = ++clock;
        entries++;
        for (Node up = node.parent; up != null; up = up.parent) {
            if (up.sequence != null) { // covered by the new, longer entry
                up.sequence.close();
                up.sequence = null;
                entries--;
            }
        }
        while (entries > maxEntries) {
            evictOne();
        }
    }

    /** Drops the least recently used entry; false when the cache is empty. */
    boolean evictOne() {
        Node[] oldest = {null};
        visit(root, n -> {
            if (n.sequence != null && (oldest[0] == null || n.lastUsed < oldest[0].lastUsed)) {
                oldest[0] = n;
            }
        });
        Node n = oldest[0];
        if (n == null) {
            return false;
        }
        n.sequence.close();
        n.sequence = null;
        entries--;
        while (n != root && n.sequence == null && n.children.isEmpty()) {
            n.parent.children.remove(n.label[0]);
            n = n.parent;
        }
        return true;
    }

    /** Drops every entry. */
    void clear() {
        while (evictOne()) {
            // each call drops one
        }
    }

    @Override
    public void close() {
        clear();
    }

    /** Splits {@code node}'s label after {@code m} tokens; returns the new upper node. */
    private static Node split(Node node, int m) {
        Node upper = new Node(node.parent, Arrays.copyOfRange(node.label, 0, m), node.depth - node.label.length + m);
        node.parent.children.put(upper.label[0], upper);
        node.label = Arrays.copyOfRange(node.label, m, node.label.length);
        node.parent = upper;
        upper.children.put(node.label[0], node);
        return upper;
    }

    /** A node of {@code node}'s subtree that holds a sequence (every leaf does). */
    private static Node withSequence(Node node) {
        Node n = node;
        while (n.sequence == null) {
            n = n.children.values().iterator().next();
        }
        return n;
    }

    private void touch(Node node) {
        withSequence(node).lastUsed = ++clock;
    }

    private static void visit(Node node, java.util.function.Consumer<Node> action) {
        action.accept(node);
        for (Node c : node.children.values()) {
            visit(c, action);
        }
    }
}
