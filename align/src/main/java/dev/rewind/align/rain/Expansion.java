package dev.rewind.align.rain;

import java.util.List;

/**
 * What a node's expansion proposed, kept for dynamic node addition (§1.8): the official code's
 * {@code node.logits}.
 */
sealed interface Expansion permits Expansion.Tokens, Expansion.Spans {

    /**
     * A one-token expansion: the node's highest raw logits (as many as a node may have children),
     * from which a dynamic addition takes the next token without a model call.
     */
    record Tokens(TopTokens raw) implements Expansion {
    }

    /**
     * A multi-token expansion: the candidate list (a dynamic addition puts its own candidates in
     * front) and the trie of every position its rollouts evaluated.
     */
    record Spans(List<Candidate> candidates, RolloutTrie trie) implements Expansion {
        public Spans {
            candidates = List.copyOf(candidates);
        }
    }
}
