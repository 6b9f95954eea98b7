package dev.rewind.align.rain;

import java.util.List;

/**
 * The search of one request, for reading and drawing ({@code rewind rain-view}): the tree under the
 * root at every commit, before re-rooting.
 *
 * @param prompt       the generator's input text
 * @param answer       the committed answer text
 * @param commits      one entry per commit, in order
 */
public record RainTrace(String prompt, String answer, List<Commit> commits) {

    public RainTrace {
        commits = List.copyOf(commits);
    }

    /**
     * One commit.
     *
     * @param index     0-based
     * @param searches  inner iterations run for it
     * @param inherited real visits the root brought from the previous commit
     * @param before    the answer text committed before this commit
     * @param chosen    id of the committed child
     * @param bounds    the root's {@code qMin, qMax}
     * @param root      the tree under the root
     */
    public record Commit(int index, int searches, int inherited, String before, int chosen, double[] bounds, Node root) {
    }

    /**
     * A node.
     *
     * @param id          unique within the request (kept across commits: the committed subtree is reused)
     * @param text        the span's text
     * @param tokens      the span's token ids
     * @param depth       depth from the request's first root
     * @param prior       p
     * @param visits      n (real-valued)
     * @param realVisits  fn
     * @param value       q
     * @param evaluations times it was the evaluated leaf
     * @param score       the last verdict on it as a leaf, or null
     * @param judgedText  the text that verdict was on, or null
     * @param readouts    the judge's probabilities behind that verdict
     * @param children    its children in insertion order
     */
    public record Node(int id, String text, int[] tokens, int depth, double prior, double visits, int realVisits, double value,
                       int evaluations, Integer score, String judgedText, List<Judgement.Readout> readouts, List<Node> children) {
        public Node {
            children = List.copyOf(children);
            readouts = List.copyOf(readouts);
        }
    }
}
